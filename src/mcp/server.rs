//! The MCP tool surface: one method per tool, each turning a typed request
//! into a call on the job manager or the index.
//!
//! Bad arguments come back as tool results with `isError: true` and a message
//! that names the value and the fix, so the calling model can correct itself.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::{Json, ServerHandler, tool, tool_handler, tool_router};

use super::types::*;
use super::view::{job_summary, job_view};
use crate::embed::{Embedder, InputKind, split_identifiers};
use crate::index::reembed::ReembedStatus;
use crate::index::{CodeIndex, SearchFilters, SearchMode, SearchRequest, collection_name};
use crate::jobs::manager::validate_user_id;
use crate::jobs::{CancelOutcome, JobId, JobManager, JobStatus};
use crate::store::JobFilter;

const DEFAULT_LIST_LIMIT: usize = 50;
const MAX_LIST_LIMIT: usize = 500;
const DEFAULT_SEARCH_LIMIT: usize = 10;
const MAX_SEARCH_LIMIT: usize = 100;
/// Lines of chunk text returned as a search result's snippet.
const SNIPPET_LINES: usize = 12;
/// Maximum query length, in bytes.
const MAX_QUERY_BYTES: usize = 10_000;

/// The MCP server handler.
#[derive(Clone)]
pub struct CodeIndexServer {
    jobs: Arc<JobManager>,
    index: Arc<dyn CodeIndex>,
    embedder: Arc<dyn Embedder>,
    reembed: Arc<ReembedStatus>,
    tool_router: ToolRouter<Self>,
}

impl CodeIndexServer {
    pub fn new(
        jobs: Arc<JobManager>,
        index: Arc<dyn CodeIndex>,
        embedder: Arc<dyn Embedder>,
        reembed: Arc<ReembedStatus>,
    ) -> Self {
        Self {
            jobs,
            index,
            embedder,
            reembed,
            tool_router: Self::tool_router() + Self::webhook_router(),
        }
    }
}

/// Logs a storage failure and turns it into a tool error message.
pub(super) fn internal(error: impl std::fmt::Display) -> String {
    tracing::error!(%error, "tool failed on a storage error");
    format!("internal error: {error}; see the server log")
}

impl CodeIndexServer {
    pub(super) fn jobs(&self) -> &Arc<JobManager> {
        &self.jobs
    }

    /// Returns true if the user has a queued or running job.
    fn has_unfinished_jobs(&self, user_id: &str) -> Result<bool, String> {
        for status in [JobStatus::Queued, JobStatus::Running] {
            let filter = JobFilter {
                user_id: Some(user_id.to_string()),
                status: Some(status),
                limit: 1,
            };
            if !self
                .jobs
                .store()
                .list(&filter)
                .map_err(internal)?
                .is_empty()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Returns `text` cut to at most `max_chars` characters, with "…" when cut, so
/// that an error message quoting a long argument stays readable.
fn shortened(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

fn language_names() -> Vec<&'static str> {
    crate::code::Language::ALL
        .iter()
        .map(|language| language.name())
        .collect()
}

fn kind_names() -> Vec<&'static str> {
    crate::code::ChunkKind::ALL
        .iter()
        .map(|kind| kind.as_str())
        .collect()
}

/// Checks a search filter against its valid values; an empty string means no filter.
fn checked_filter(
    value: Option<String>,
    field: &str,
    valid: &[&str],
) -> Result<Option<String>, String> {
    match value {
        Some(value) if value.is_empty() => Ok(None),
        Some(value) if valid.contains(&value.as_str()) => Ok(Some(value)),
        Some(value) => Err(format!(
            "invalid {field} {value:?}; valid values are: {}",
            valid.join(", ")
        )),
        None => Ok(None),
    }
}

/// Rejects a `path_glob` that SQLite GLOB would silently match against
/// nothing: a `[` without its `]`, or `{a,b}` alternation, which GLOB lacks.
fn checked_glob(glob: &str) -> Result<(), String> {
    const SYNTAX: &str = "path_glob uses SQLite GLOB syntax: * (any characters, / included), \
                          ? (one character), [abc] and [^abc]";
    let chars: Vec<char> = glob.chars().collect();
    // A `{`, then a `,`, then a `}`, all outside `[...]` sets, is alternation.
    let mut brace = false;
    let mut comma_after_brace = false;
    let mut at = 0;
    while at < chars.len() {
        match chars[at] {
            '{' => brace = true,
            ',' if brace => comma_after_brace = true,
            '}' if comma_after_brace => {
                return Err(format!(
                    "invalid path_glob {:?}: {{a,b}} alternation is not supported; {SYNTAX}. \
                     Run one search per alternative",
                    shortened(glob, 200)
                ));
            }
            _ => {}
        }
        if chars[at] == '[' {
            // A `]` right after `[` or `[^` is a literal member of the set.
            let mut end = at + 1;
            if chars.get(end) == Some(&'^') {
                end += 1;
            }
            if chars.get(end) == Some(&']') {
                end += 1;
            }
            match chars[end.min(chars.len())..].iter().position(|&c| c == ']') {
                Some(offset) => at = end + offset,
                None => {
                    return Err(format!(
                        "invalid path_glob {:?}: the [ at character {} has no closing ]; {SYNTAX}",
                        shortened(glob, 200),
                        at + 1
                    ));
                }
            }
        }
        at += 1;
    }
    Ok(())
}

/// Appends `note` to the optional result message, as a new sentence.
fn add_note(message: &mut Option<String>, note: String) {
    *message = Some(match message.take() {
        Some(first) => {
            let mut letters = note.chars();
            let capital: String = letters
                .next()
                .into_iter()
                .flat_map(char::to_uppercase)
                .collect();
            format!("{first}. {capital}{}", letters.as_str())
        }
        None => note,
    });
}

/// Describes the filters of a search, e.g. `language "go", kind "method"`.
fn describe_filters(filters: &SearchFilters) -> String {
    [
        ("language", &filters.language),
        ("kind", &filters.kind),
        ("path_prefix", &filters.path_prefix),
        ("path_glob", &filters.path_glob),
    ]
    .iter()
    .filter_map(|(name, value)| {
        value
            .as_ref()
            .map(|value| format!("{name} {:?}", shortened(value, 200)))
    })
    .collect::<Vec<_>>()
    .join(", ")
}

fn parse_job_id(text: &str) -> Result<JobId, String> {
    text.parse()
        .map_err(|_| format!("invalid job_id {text:?}: expected the UUID returned by submit_job"))
}

#[tool_router(router = tool_router)]
impl CodeIndexServer {
    /// Queues a code-processing job and returns its id at once.
    #[tool(
        description = "Queue a code-processing job and return its job_id at once. job_type \
        file_processing indexes metadata.file_path (optionally the unsaved text in \
        metadata.content); workspace_indexing indexes every source file under \
        metadata.workspace_path, honouring .gitignore. If metadata.webhook_url is set, \
        the full result is POSTed there when the job ends. Poll get_job_status otherwise.",
        annotations(
            title = "Submit job",
            read_only_hint = false,
            destructive_hint = false,
            open_world_hint = true
        )
    )]
    async fn submit_job(
        &self,
        Parameters(Named(args)): Parameters<Named<SubmitJobArgs>>,
    ) -> Result<Json<SubmitJobResult>, String> {
        let job = self
            .jobs
            .submit(&args.job_type, &args.user_id, args.metadata)
            .map_err(|error| {
                tracing::info!(%error, job_type = %args.job_type, "job rejected");
                error.to_string()
            })?;
        Ok(Json(SubmitJobResult {
            job_id: job.id.to_string(),
            status: job.status,
            job_type: job.job_type.as_str().to_string(),
            collection_name: collection_name(&job.user_id),
            user_id: job.user_id,
        }))
    }

    /// Returns the status, progress, result or error, and webhook deliveries of a job.
    #[tool(
        description = "Get a job's status (queued, running, completed, failed, cancelled), \
        progress counts, timestamps, result or error, warnings and webhook delivery attempts.",
        annotations(
            title = "Get job status",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_job_status(
        &self,
        Parameters(Named(args)): Parameters<Named<JobIdArgs>>,
    ) -> Result<Json<JobView>, String> {
        let id = parse_job_id(&args.job_id)?;
        let job = self
            .jobs
            .store()
            .get(&id)
            .map_err(internal)?
            .ok_or_else(|| format!("job {id} not found; list_jobs shows the known jobs"))?;
        Ok(Json(job_view(&job)))
    }

    /// Lists jobs, newest first, optionally filtered by user and status.
    #[tool(
        description = "List jobs, newest first, optionally filtered by user_id and status.",
        annotations(title = "List jobs", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_jobs(
        &self,
        Parameters(Named(args)): Parameters<Named<ListJobsArgs>>,
    ) -> Result<Json<ListJobsResult>, String> {
        if let Some(user_id) = &args.user_id {
            validate_user_id(user_id)?;
        }
        let limit = args.limit.unwrap_or(DEFAULT_LIST_LIMIT);
        if limit == 0 || limit > MAX_LIST_LIMIT {
            return Err(format!("invalid limit {limit}: use 1 to {MAX_LIST_LIMIT}"));
        }
        let filter = JobFilter {
            user_id: args.user_id,
            status: args.status,
            limit,
        };
        let jobs = self
            .jobs
            .store()
            .list(&filter)
            .map_err(internal)?
            .iter()
            .map(job_summary)
            .collect();
        Ok(Json(ListJobsResult { jobs }))
    }

    /// Cancels a queued or running job.
    #[tool(
        description = "Cancel a queued or running job. A running job stops at its next file \
        boundary; chunks already stored stay stored. Cancelling a finished job changes nothing.",
        annotations(
            title = "Cancel job",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn cancel_job(
        &self,
        Parameters(Named(args)): Parameters<Named<JobIdArgs>>,
    ) -> Result<Json<CancelJobResult>, String> {
        let id = parse_job_id(&args.job_id)?;
        let (status, cancelled, message) = match self.jobs.cancel(&id).map_err(internal)? {
            CancelOutcome::NotFound => {
                return Err(format!(
                    "job {id} not found; list_jobs shows the known jobs"
                ));
            }
            CancelOutcome::AlreadyFinished(status) => (
                status,
                false,
                format!("job already ended with status {}", status.as_str()),
            ),
            CancelOutcome::Cancelled(JobStatus::Running) => (
                JobStatus::Running,
                true,
                "cancellation requested; the job stops at its next file boundary".to_string(),
            ),
            CancelOutcome::Cancelled(status) => (status, true, "job cancelled".to_string()),
        };
        Ok(Json(CancelJobResult {
            job_id: id.to_string(),
            status,
            cancelled,
            message,
        }))
    }

    /// Searches a user's indexed code by meaning.
    #[tool(
        description = "Search a user's indexed code. Default mode hybrid fuses keyword (BM25 \
        over identifier-split words) and semantic rankings; semantic and keyword use one. \
        Optional filters: language, kind, path_prefix, path_glob. Returns chunks with path, \
        line range, symbol name, kind, language, score and a snippet.",
        annotations(title = "Search code", read_only_hint = true, open_world_hint = false)
    )]
    async fn search_code(
        &self,
        Parameters(Named(args)): Parameters<Named<SearchCodeArgs>>,
    ) -> Result<Json<SearchCodeResult>, String> {
        validate_user_id(&args.user_id)?;
        if args.query.trim().is_empty() {
            return Err(
                "query is empty; describe the code to find, e.g. \"parse config file\"".to_string(),
            );
        }
        if args.query.len() > MAX_QUERY_BYTES {
            return Err(format!(
                "query is {} bytes long; the maximum is {MAX_QUERY_BYTES}",
                args.query.len()
            ));
        }
        let limit = args.limit.unwrap_or(DEFAULT_SEARCH_LIMIT);
        if limit == 0 || limit > MAX_SEARCH_LIMIT {
            return Err(format!(
                "invalid limit {limit}: use 1 to {MAX_SEARCH_LIMIT}"
            ));
        }
        let collection = collection_name(&args.user_id);
        let index = self.index.clone();
        let embedder = self.embedder.clone();
        let name = collection.clone();
        let requested_mode = args.mode.unwrap_or_default();
        // Keyword search and the hashing embedder both ignore a query without
        // identifier words, so the result explains why it is empty.
        let has_words = !split_identifiers(&args.query).is_empty();
        let mut message = (!has_words
            && (requested_mode == SearchMode::Keyword || embedder.name().starts_with("hashing")))
        .then(|| {
            format!(
                "query {:?} has no searchable words: words need at least two letters or \
                 digits and must not be stopwords; try an identifier or a description such as \
                 \"parse config file\"",
                shortened(&args.query, 200)
            )
        });
        let filters = SearchFilters {
            language: checked_filter(args.language, "language", &language_names())?,
            kind: checked_filter(args.kind, "kind", &kind_names())?,
            path_prefix: args.path_prefix.filter(|prefix| !prefix.is_empty()),
            path_glob: args.path_glob.filter(|glob| !glob.is_empty()),
        };
        if let Some(glob) = &filters.path_glob {
            checked_glob(glob)?;
        }
        let filter_text = describe_filters(&filters);
        let path_filtered = filters.path_prefix.is_some() || filters.path_glob.is_some();
        let unfinished_jobs = self.has_unfinished_jobs(&args.user_id)?;
        let (hits, stats, mode, embed_error) = tokio::task::spawn_blocking(move || {
            let (vector, mode, embed_error) = match requested_mode {
                SearchMode::Keyword => (Vec::new(), SearchMode::Keyword, None),
                mode => match embedder.embed(&[args.query.as_str()], InputKind::Query) {
                    Ok(mut vectors) => (vectors.remove(0), mode, None),
                    Err(error) => (Vec::new(), SearchMode::Keyword, Some(error)),
                },
            };
            if let (SearchMode::Semantic, Some(error)) = (requested_mode, &embed_error) {
                return Ok(Err(format!(
                    "semantic search is unavailable because the query could not be embedded: \
                     {error}; mode \"keyword\" still works"
                )));
            }
            let request = SearchRequest {
                vector: &vector,
                text: &args.query,
                mode,
                limit,
                filters,
            };
            let hits = index.search(&name, &request)?;
            let stats = index.stats(&name)?;
            Ok::<_, crate::store::StoreError>(Ok((hits, stats, mode, embed_error)))
        })
        .await
        .map_err(|error| format!("search failed: {error}"))?
        .map_err(internal)??;
        // A query such as `which`, whose only word is a stopword, can still
        // find chunks by name.
        if !has_words && !hits.is_empty() {
            message = None;
        }
        let total = stats.as_ref().map_or(0, |stats| stats.live_chunks);
        let awaiting = stats
            .as_ref()
            .map_or(0, |stats| stats.chunks_awaiting_embedding);
        if let Some(error) = embed_error {
            tracing::warn!(%error, "query embedding failed; returning keyword results");
            message = Some(format!(
                "semantic ranking is unavailable, so these are keyword results only: {error}"
            ));
        }
        if awaiting > 0 && requested_mode != SearchMode::Keyword {
            let mut note = format!(
                "{awaiting} of {total} chunks are being re-embedded with {}, because the \
                 embedder or its version changed since they were stored; until then semantic \
                 ranking cannot return them, but keyword ranking can",
                self.embedder.name()
            );
            if let Some(reason) = self.reembed.pause_reason(&collection) {
                note.push_str(&format!(". Re-embedding is paused: {reason}"));
            }
            add_note(&mut message, note);
        }
        if stats.is_none() {
            let mut note = format!(
                "user {:?} has no indexed code yet (collection {collection} does not exist)",
                args.user_id
            );
            note.push_str(if unfinished_jobs {
                "; the user's first job has not finished yet, so search again when it completes"
            } else {
                "; check the user_id, or submit a job for this user first"
            });
            add_note(&mut message, note);
        } else if unfinished_jobs {
            add_note(
                &mut message,
                "a job of this user has not finished yet, so the results may not cover all of \
                 its files"
                    .to_string(),
            );
        }
        // Semantic ranking returns any chunk that passes the filters, so an
        // empty result means the filters exclude all of them.
        if !filter_text.is_empty()
            && has_words
            && hits.is_empty()
            && total > 0
            && mode != SearchMode::Keyword
        {
            let mut note = format!("none of the {total} chunks matches {filter_text}");
            if path_filtered {
                note.push_str(
                    "; paths are stored as each job gave them (absolute for workspace jobs), so \
                     compare the path filters with the paths of an unfiltered search",
                );
            }
            add_note(&mut message, note);
        }

        let results = hits
            .into_iter()
            .map(|hit| SearchResultItem {
                snippet: hit
                    .chunk
                    .text
                    .lines()
                    .take(SNIPPET_LINES)
                    .collect::<Vec<_>>()
                    .join("\n"),
                path: hit.chunk.path,
                start_line: hit.chunk.start_line,
                end_line: hit.chunk.end_line,
                symbol: hit.chunk.symbol,
                kind: hit.chunk.kind,
                language: hit.chunk.language,
                score: hit.score,
                vector_id: hit.chunk.vector_id,
            })
            .collect();
        Ok(Json(SearchCodeResult {
            collection_name: collection,
            results,
            total_chunks: total,
            mode,
            indexing_in_progress: unfinished_jobs || awaiting > 0,
            message,
        }))
    }

    /// Returns chunk, file and tombstone counts of a user's collection.
    #[tool(
        description = "Get counts for a user's collection: live chunks, files, tombstones \
        (replaced chunks awaiting compaction) and vector dimension.",
        annotations(
            title = "Get collection stats",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_collection_stats(
        &self,
        Parameters(Named(args)): Parameters<Named<UserArgs>>,
    ) -> Result<Json<crate::index::CollectionStats>, String> {
        validate_user_id(&args.user_id)?;
        let name = collection_name(&args.user_id);
        self.index
            .stats(&name)
            .map_err(internal)?
            .map(Json)
            .ok_or_else(|| {
                format!(
                    "collection {name} not found; submit a job for user {} first",
                    args.user_id
                )
            })
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CodeIndexServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "Index code with submit_job (file_processing or workspace_indexing), follow it \
                 with get_job_status or a webhook_url in metadata, then query it with search_code.",
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_glob_table() {
        for glob in [
            "*.py",
            "*/src/*",
            "*[abc]*",
            "*[^abc].rs",
            "*[]]*",
            "*[^]]*",
            "{x}.py",
            "*[{]a,b}*",
            "*[{]a,b[}]*",
        ] {
            assert_eq!(checked_glob(glob), Ok(()), "glob {glob:?}");
        }
        for (glob, expected) in [
            ("[abc", "the [ at character 1 has no closing ]"),
            ("*/x[]", "the [ at character 4 has no closing ]"),
            ("*/{json,http}/*.py", "{a,b} alternation is not supported"),
        ] {
            let error = checked_glob(glob).expect_err(glob);
            assert!(error.contains(expected), "glob {glob:?}: {error}");
        }
    }

    #[test]
    fn shortened_cuts_at_characters() {
        assert_eq!(shortened("short", 10), "short");
        assert_eq!(shortened("ääääää", 3), "äää…");
        assert_eq!(shortened(&"`".repeat(10_000), 200).chars().count(), 201);
    }
}
