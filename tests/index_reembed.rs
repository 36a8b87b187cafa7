//! A collection opened with another embedder than the one that built it keeps
//! its chunks, holds only the new embedder's vectors in its graph, and reaches
//! full semantic coverage through re-embedding, also across a reopen.

use std::sync::Arc;

use mcp_code_index::embed::{Embedder, HashingEmbedder, InputKind, chunk_embedding_text};
use mcp_code_index::index::reembed::{ReembedStatus, reembed_stale};
use mcp_code_index::index::{CodeIndex, PersistentIndex, SearchFilters, SearchMode, SearchRequest};
use mcp_code_index::store::DataDir;
use tokio_util::sync::CancellationToken;

mod support;
use support::Function;

const COLLECTION: &str = "switch_code";
const FUNCTIONS: usize = 150;

fn open_index(data_dir: &DataDir, embedder: &dyn Embedder) -> Arc<PersistentIndex> {
    Arc::new(support::open_index(data_dir, embedder))
}

/// Returns a distinct word per function, because the hashing embedder ignores numbers.
fn name(n: usize) -> String {
    let letters: String = [n / 26 % 26, n % 26]
        .iter()
        .map(|&i| (b'a' + i as u8) as char)
        .collect();
    format!("refresh_{letters}zz")
}

fn function_text(n: usize) -> String {
    format!("def {}(account):\n    return account.invoices\n", name(n))
}

fn store_functions(index: &PersistentIndex, embedder: &dyn Embedder) {
    let path = "/work/src/billing.py";
    let texts: Vec<String> = (0..FUNCTIONS).map(function_text).collect();
    let inputs: Vec<String> = texts
        .iter()
        .enumerate()
        .map(|(n, text)| chunk_embedding_text(path, Some(&name(n)), text))
        .collect();
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let vectors = embedder
        .embed(&refs, InputKind::Document)
        .expect("hashing never fails");
    let functions = texts
        .into_iter()
        .zip(vectors)
        .enumerate()
        .map(|(n, (text, vector))| Function {
            symbol: Some(name(n)),
            text,
            vector,
        })
        .collect();
    support::store_functions(index, COLLECTION, path, functions);
}

fn semantic_symbols(index: &PersistentIndex, embedder: &dyn Embedder, query: &str) -> Vec<String> {
    let vector = embedder
        .embed(&[query], InputKind::Query)
        .expect("hashing never fails")
        .remove(0);
    let request = SearchRequest {
        vector: &vector,
        text: query,
        mode: SearchMode::Semantic,
        limit: 5,
        filters: SearchFilters::default(),
    };
    index
        .search(COLLECTION, &request)
        .expect("search succeeds")
        .into_iter()
        .filter_map(|hit| hit.chunk.symbol)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switched_collection_is_reembedded_without_mixing() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let data_dir = DataDir::open(Some(scratch.path())).expect("data dir opens");
    let old = HashingEmbedder::new(512);
    {
        let index = open_index(&data_dir, &old);
        store_functions(&index, &old);
        index.flush().expect("graph is saved");
    }

    // An upgrade can empty the keyword table in the same start that switches
    // embedders; the switch must refill it.
    rusqlite::Connection::open(data_dir.database_path())
        .and_then(|conn| conn.execute("DELETE FROM chunks_fts", []))
        .expect("keyword rows are deleted");

    let new: Arc<dyn Embedder> = Arc::new(HashingEmbedder::new(768));
    let index = open_index(&data_dir, new.as_ref());
    let keyword = SearchRequest {
        vector: &[],
        text: &name(42),
        mode: SearchMode::Keyword,
        limit: 3,
        filters: SearchFilters::default(),
    };
    let hits = index.search(COLLECTION, &keyword).expect("search succeeds");
    assert_eq!(
        hits.first().and_then(|hit| hit.chunk.symbol.clone()),
        Some(name(42)),
        "keyword search finds chunks that wait for re-embedding"
    );
    let stats = index.stats(COLLECTION).unwrap().expect("collection exists");
    assert_eq!(stats.embedder, new.name());
    assert_eq!(stats.dimension, 768);
    assert_eq!(stats.live_chunks, FUNCTIONS);
    assert_eq!(stats.chunks_awaiting_embedding, FUNCTIONS);
    assert!(
        semantic_symbols(&index, new.as_ref(), &name(42)).is_empty(),
        "no vector of the old embedder reaches the new graph"
    );

    // Re-embed part of the collection, then reopen: the stored part survives.
    let first = index.stale_chunks(COLLECTION, 40).unwrap();
    let vectors = first
        .iter()
        .map(|chunk| {
            let text = chunk_embedding_text(&chunk.path, chunk.symbol.as_deref(), &chunk.text);
            (
                chunk.point_id,
                new.embed(&[&text], InputKind::Document).unwrap().remove(0),
            )
        })
        .collect();
    assert_eq!(index.store_reembedded(COLLECTION, vectors).unwrap(), 40);
    index.flush().expect("graph is saved");
    drop(index);

    let index = open_index(&data_dir, new.as_ref());
    let stats = index.stats(COLLECTION).unwrap().unwrap();
    assert_eq!(stats.chunks_awaiting_embedding, FUNCTIONS - 40);

    let shared: Arc<dyn CodeIndex> = index.clone();
    let status = Arc::new(ReembedStatus::default());
    reembed_stale(
        shared,
        new.clone(),
        status.clone(),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(status.pause_reason(COLLECTION), None);
    let stats = index.stats(COLLECTION).unwrap().unwrap();
    assert_eq!(stats.chunks_awaiting_embedding, 0);
    assert_eq!(stats.live_chunks, FUNCTIONS);
    let found = semantic_symbols(&index, new.as_ref(), &name(142));
    assert_eq!(found.first(), Some(&name(142)), "{found:?}");
    assert!(index.stale_collections().unwrap().is_empty());
}
