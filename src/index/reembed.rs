//! Background re-embedding after the embedder changed.
//!
//! A collection built by another embedder keeps its chunks: keyword search
//! finds them at once, and this task replaces their vectors batch by batch.
//! Each batch is committed on its own, so a restart continues where the last
//! one stopped. While the embedder is unreachable the task waits and tries
//! again; it never gives up and never drops a chunk.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::CodeIndex;
use super::StaleChunk;
use crate::embed::{EmbedError, Embedder, InputKind, chunk_embedding_text, rejects_any_text};

/// Chunks read, embedded and stored per step.
const BATCH: usize = 64;
/// First wait after a failed step; it doubles up to [`MAX_RETRY_WAIT`].
const FIRST_RETRY_WAIT: Duration = Duration::from_secs(5);
const MAX_RETRY_WAIT: Duration = Duration::from_secs(300);
/// Minimum time between two progress log lines of one collection.
const PROGRESS_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Reasons why re-embedding is paused, by collection, which search results
/// report next to the count of waiting chunks.
#[derive(Debug, Default)]
pub struct ReembedStatus {
    paused: Mutex<HashMap<String, String>>,
}

impl ReembedStatus {
    /// Returns why re-embedding of `collection` is paused, if it is.
    pub fn pause_reason(&self, collection: &str) -> Option<String> {
        let paused = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        paused.get(collection).cloned()
    }

    fn set_paused(&self, collection: &str, reason: String) {
        let mut paused = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        paused.insert(collection.to_string(), reason);
    }

    fn clear(&self, collection: &str) {
        let mut paused = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        paused.remove(collection);
    }
}

/// Re-embeds every stale chunk of every collection, then returns. Stops early
/// when `shutdown` is cancelled. Pauses are recorded in `status`.
pub async fn reembed_stale(
    index: Arc<dyn CodeIndex>,
    embedder: Arc<dyn Embedder>,
    status: Arc<ReembedStatus>,
    shutdown: CancellationToken,
) {
    let names = {
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.stale_collections()).await
    };
    let names = match names {
        Ok(Ok(names)) => names,
        Ok(Err(error)) => {
            error!(%error, "cannot list collections to re-embed");
            return;
        }
        Err(error) => {
            error!(%error, "listing collections to re-embed panicked");
            return;
        }
    };
    for name in names {
        let finished = reembed_collection(&index, &embedder, &name, &status, &shutdown).await;
        status.clear(&name);
        if !finished {
            return;
        }
    }
}

/// Re-embeds one collection. Returns false if `shutdown` stopped it.
async fn reembed_collection(
    index: &Arc<dyn CodeIndex>,
    embedder: &Arc<dyn Embedder>,
    name: &str,
    status: &ReembedStatus,
    shutdown: &CancellationToken,
) -> bool {
    let mut done = 0usize;
    let mut retry_wait = FIRST_RETRY_WAIT;
    let mut last_log = Instant::now();
    loop {
        if shutdown.is_cancelled() {
            return false;
        }
        let step = {
            let index = index.clone();
            let embedder = embedder.clone();
            let name = name.to_string();
            tokio::task::spawn_blocking(move || step(&*index, &*embedder, &name)).await
        };
        match step {
            Ok(Ok(0)) => {
                if done > 0 {
                    info!(
                        collection = name,
                        chunks = done,
                        embedder = embedder.name(),
                        "re-embedding finished"
                    );
                }
                return true;
            }
            Ok(Ok(stored)) => {
                done += stored;
                retry_wait = FIRST_RETRY_WAIT;
                status.clear(name);
                if last_log.elapsed() >= PROGRESS_LOG_INTERVAL {
                    let remaining = index
                        .stats(name)
                        .ok()
                        .flatten()
                        .map_or(0, |stats| stats.chunks_awaiting_embedding);
                    info!(collection = name, done, remaining, "re-embedding");
                    last_log = Instant::now();
                }
            }
            Ok(Err(reason)) => {
                warn!(
                    collection = name,
                    %reason,
                    retry_in_secs = retry_wait.as_secs(),
                    "re-embedding paused"
                );
                status.set_paused(
                    name,
                    format!("{reason}; next try in {} s", retry_wait.as_secs()),
                );
                tokio::select! {
                    _ = shutdown.cancelled() => return false,
                    _ = tokio::time::sleep(retry_wait) => {}
                }
                retry_wait = (retry_wait * 2).min(MAX_RETRY_WAIT);
            }
            Err(panic) => {
                error!(collection = name, %panic, "re-embedding panicked; it resumes at the next start");
                return true;
            }
        }
    }
}

/// Re-embeds up to [`BATCH`] stale chunks. Returns how many it read (0 when
/// none is left), or why it failed.
fn step(index: &dyn CodeIndex, embedder: &dyn Embedder, name: &str) -> Result<usize, String> {
    let stale = index
        .stale_chunks(name, BATCH)
        .map_err(|error| error.to_string())?;
    if stale.is_empty() {
        return Ok(0);
    }
    let texts: Vec<String> = stale
        .iter()
        .map(|chunk| chunk_embedding_text(&chunk.path, chunk.symbol.as_deref(), &chunk.text))
        .collect();
    let vectors = embed_texts(embedder, &texts, &stale)?;
    let pairs = stale
        .iter()
        .map(|chunk| chunk.point_id)
        .zip(vectors)
        .collect();
    index
        .store_reembedded(name, pairs)
        .map_err(|error| error.to_string())?;
    Ok(stale.len())
}

/// Characters kept of a text the embedding server rejected, for a second try.
const SHORTENED_CHARS: usize = 256;

/// Embeds `texts`. When the server rejects the batch, each text is tried on
/// its own, and a rejected text once more cut short. If the server rejects
/// any text at all, its settings are at fault and the step fails, to be
/// retried later. A text rejected even when short gets the zero vector: it is
/// recorded as done but never returned by semantic search, so it cannot
/// block the rest.
fn embed_texts(
    embedder: &dyn Embedder,
    texts: &[String],
    chunks: &[StaleChunk],
) -> Result<Vec<Vec<f32>>, String> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    match embedder.embed(&refs, InputKind::Document) {
        Ok(vectors) => return Ok(vectors),
        Err(EmbedError::Rejected { .. }) => {}
        Err(error) => return Err(error.to_string()),
    }
    let mut vectors = Vec::with_capacity(texts.len());
    for (text, chunk) in texts.iter().zip(chunks) {
        let reason = match embedder.embed(&[text.as_str()], InputKind::Document) {
            Ok(mut single) => {
                vectors.push(single.remove(0));
                continue;
            }
            Err(EmbedError::Rejected { reason, .. }) => reason,
            Err(error) => return Err(error.to_string()),
        };
        if rejects_any_text(embedder) {
            return Err(format!(
                "the embedding server rejects every text, so its settings are wrong: {reason}"
            ));
        }
        let short: String = text.chars().take(SHORTENED_CHARS).collect();
        match embedder.embed(&[short.as_str()], InputKind::Document) {
            Ok(mut single) => {
                warn!(path = %chunk.path, %reason, "embedding server rejected a chunk; embedded its first {SHORTENED_CHARS} characters instead");
                vectors.push(single.remove(0));
            }
            Err(EmbedError::Rejected { .. }) => {
                warn!(path = %chunk.path, %reason, "embedding server rejected a chunk; semantic search will not return it");
                vectors.push(vec![0.0; embedder.dimension()]);
            }
            Err(error) => return Err(error.to_string()),
        }
    }
    Ok(vectors)
}
