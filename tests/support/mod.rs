//! Helpers shared by the index tests and the benchmarks: opening a
//! `PersistentIndex` on a data directory and storing synthetic Python
//! functions as the chunks of one file.
//!
//! Each test or benchmark uses only some of them.
#![allow(dead_code)]

use std::sync::Arc;

use mcp_code_index::embed::Embedder;
use mcp_code_index::index::{CodeIndex, FileRecord, NewChunk, PersistentIndex};
use mcp_code_index::store::{DataDir, Database};

/// Opens the index of `data_dir` for collections built by `embedder`.
pub fn open_index(data_dir: &DataDir, embedder: &dyn Embedder) -> PersistentIndex {
    let database = Arc::new(Database::open(&data_dir.database_path()).expect("database opens"));
    PersistentIndex::new(
        database,
        data_dir.graphs_dir(),
        embedder.name(),
        embedder.dimension(),
    )
}

/// One synthetic function: its symbol, its text and the vector stored for it.
pub struct Function {
    pub symbol: Option<String>,
    pub text: String,
    pub vector: Vec<f32>,
}

/// Replaces the chunks of the Python file `path` in `collection` with
/// `functions`, one function chunk each, three lines apart.
pub fn store_functions(
    index: &PersistentIndex,
    collection: &str,
    path: &str,
    functions: Vec<Function>,
) {
    let count = functions.len();
    let size_bytes = functions
        .iter()
        .map(|function| function.text.len() as u64)
        .sum();
    let chunks: Vec<NewChunk> = functions
        .into_iter()
        .enumerate()
        .map(|(n, function)| NewChunk {
            symbol: function.symbol,
            kind: "function".to_string(),
            start_line: n * 3 + 1,
            end_line: n * 3 + 2,
            start_byte: 0,
            end_byte: function.text.len(),
            text: function.text,
            vector: function.vector,
        })
        .collect();
    let record = FileRecord {
        path: path.to_string(),
        content_hash: format!("{count:064x}"),
        language: "python".to_string(),
        size_bytes,
        chunk_count: count,
        functions_found: count,
        classes_found: 0,
        complexity_sum: count as f64,
        source_version: 0,
    };
    index
        .replace_file(collection, &record, chunks)
        .expect("file is stored");
}
