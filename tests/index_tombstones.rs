//! A file indexed again and again leaves tombstones of its old chunks in the graph. Searches
//! must still find the file's live chunks among them.

use mcp_code_index::embed::HashingEmbedder;
use mcp_code_index::index::{CodeIndex, PersistentIndex, SearchFilters, SearchMode, SearchRequest};
use mcp_code_index::store::DataDir;

mod support;
use support::Function;

const COLLECTION: &str = "tombstones_code";
const HOT_PATH: &str = "/work/src/hot.py";

/// Stores `texts` as the chunks of `path`, one function chunk per text.
fn store_file(index: &PersistentIndex, embedder: &HashingEmbedder, path: &str, texts: &[String]) {
    let functions = texts
        .iter()
        .map(|text| Function {
            symbol: text.split(['(', ' ']).nth(1).map(str::to_string),
            text: text.clone(),
            vector: embedder.embed_one(text),
        })
        .collect();
    support::store_functions(index, COLLECTION, path, functions);
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
        let index = support::open_index(&data_dir, &embedder);
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
