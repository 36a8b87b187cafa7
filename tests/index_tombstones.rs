//! A file indexed again and again leaves tombstones of its old chunks in the graph. Searches
//! must still find the file's live chunks among them.

use std::sync::Arc;

use mcp_code_index::embed::{Embedder, HashingEmbedder};
use mcp_code_index::index::{
    CodeIndex, FileRecord, NewChunk, PersistentIndex, SearchFilters, SearchMode, SearchRequest,
};
use mcp_code_index::store::{DataDir, Database};

const COLLECTION: &str = "tombstones_code";
const HOT_PATH: &str = "/work/src/hot.py";

fn open_index(data_dir: &DataDir, embedder: &HashingEmbedder) -> PersistentIndex {
    let db = Arc::new(Database::open(&data_dir.database_path()).expect("database opens"));
    PersistentIndex::new(
        db,
        data_dir.graphs_dir(),
        embedder.name(),
        embedder.dimension(),
    )
}

/// Stores `texts` as the chunks of `path`, one function chunk per text.
fn store_file(index: &PersistentIndex, embedder: &HashingEmbedder, path: &str, texts: &[String]) {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let chunks: Vec<NewChunk> = texts
        .iter()
        .zip(refs.iter().map(|text| embedder.embed_one(text)))
        .enumerate()
        .map(|(n, (text, vector))| NewChunk {
            symbol: text.split(['(', ' ']).nth(1).map(str::to_string),
            kind: "function".to_string(),
            start_line: n * 3 + 1,
            end_line: n * 3 + 2,
            start_byte: 0,
            end_byte: text.len(),
            text: text.clone(),
            vector,
        })
        .collect();
    let record = FileRecord {
        path: path.to_string(),
        content_hash: format!("{:064x}", texts.len()),
        language: "python".to_string(),
        size_bytes: 100,
        chunk_count: chunks.len(),
        functions_found: chunks.len(),
        classes_found: 0,
        complexity_sum: chunks.len() as f64,
        source_version: 0,
    };
    index
        .replace_file(COLLECTION, &record, chunks)
        .expect("file is stored");
}

/// The text of version `version` of the hot file: a few functions that change every time.
fn hot_version(version: usize) -> Vec<String> {
    (0..4)
        .map(|n| {
            format!(
                "def parse_order_{version}_{n}(request):\n    return load_order(request, {version})\n"
            )
        })
        .collect()
}

#[test]
fn reindexed_file_stays_searchable() {
    for rounds in [50, 100, 200] {
        let scratch = tempfile::tempdir().expect("temp dir");
        let data_dir = DataDir::open(Some(scratch.path())).expect("data dir opens");
        let embedder = HashingEmbedder::default();
        let index = open_index(&data_dir, &embedder);
        for file in 0..10 {
            let texts: Vec<String> = (0..5)
                .map(|n| format!("def other_{file}_{n}(value):\n    return value * {n}\n"))
                .collect();
            store_file(
                &index,
                &embedder,
                &format!("/work/src/other_{file}.py"),
                &texts,
            );
        }

        for version in 0..rounds {
            store_file(&index, &embedder, HOT_PATH, &hot_version(version));
        }

        let current = rounds - 1;
        for (n, text) in hot_version(current).iter().enumerate() {
            let query = embedder.embed_one(text);
            // Semantic mode alone: the graph is what tombstones can break.
            let request = SearchRequest {
                vector: &query,
                text: text.as_str(),
                mode: SearchMode::Semantic,
                limit: 5,
                filters: SearchFilters::default(),
            };
            let hits = index.search(COLLECTION, &request).expect("search runs");
            let symbol = format!("parse_order_{current}_{n}");
            assert!(
                hits.iter()
                    .any(|hit| hit.chunk.symbol.as_deref() == Some(symbol.as_str())),
                "after {rounds} versions, search for {symbol} returned {:?}",
                hits.iter()
                    .map(|hit| hit.chunk.symbol.clone())
                    .collect::<Vec<_>>()
            );
        }
        let stats = index.stats(COLLECTION).expect("stats").expect("collection");
        assert_eq!(stats.live_chunks, 54, "after {rounds} versions");
    }
}
