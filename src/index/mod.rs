//! Vector index: one collection per user (`{user_id}_code`), holding chunk
//! records and their embeddings in an in-process HNSW graph.

mod collection;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::Serialize;

pub use collection::Collection;

/// One stored chunk with the id of its vector.
#[derive(Debug, Clone, Serialize)]
pub struct ChunkRecord {
    /// Id of the chunk's vector in its collection, `vec_<n>`.
    pub vector_id: String,
    pub path: String,
    pub language: String,
    pub symbol: Option<String>,
    pub kind: String,
    /// First line of the chunk, 1-based.
    pub start_line: usize,
    /// Last line of the chunk, 1-based and inclusive.
    pub end_line: usize,
    pub start_byte: usize,
    pub end_byte: usize,
    pub text: String,
}

/// A chunk to be stored; the index assigns its vector id.
#[derive(Debug, Clone)]
pub struct NewChunk {
    pub path: String,
    pub language: String,
    pub symbol: Option<String>,
    pub kind: String,
    pub start_line: usize,
    pub end_line: usize,
    pub start_byte: usize,
    pub end_byte: usize,
    pub text: String,
    pub vector: Vec<f32>,
}

/// A search result: the chunk and its cosine similarity to the query.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub chunk: ChunkRecord,
    pub score: f32,
}

/// Counts describing one collection.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CollectionStats {
    pub collection_name: String,
    /// Chunks that searches can return.
    pub live_chunks: usize,
    /// Replaced or removed chunks still in the graph, filtered out at search time.
    pub tombstones: usize,
    /// Distinct files with at least one live chunk.
    pub files: usize,
    pub dimension: usize,
}

/// Storage of chunk vectors per collection.
///
/// Implementations must make `replace_file` atomic for readers: a search sees
/// either all of a file's old chunks or all of its new ones.
pub trait CodeIndex: Send + Sync {
    /// Replaces every chunk of `path` in `collection` with `chunks`, creating
    /// the collection if needed. Returns the new vector ids in input order.
    fn replace_file(&self, collection: &str, path: &str, chunks: Vec<NewChunk>) -> Vec<String>;

    /// Removes every chunk of `path`. Returns how many were removed.
    fn remove_file(&self, collection: &str, path: &str) -> usize;

    /// Returns up to `limit` live chunks nearest to `query`, best first.
    fn search(&self, collection: &str, query: &[f32], limit: usize) -> Vec<SearchHit>;

    /// Returns the collection's counts, or `None` if it does not exist.
    fn stats(&self, collection: &str) -> Option<CollectionStats>;
}

/// Collection name for a user: `{user_id}_code`.
pub fn collection_name(user_id: &str) -> String {
    format!("{user_id}_code")
}

/// In-memory [`CodeIndex`] backed by one HNSW graph per collection.
pub struct HnswIndex {
    dimension: usize,
    collections: RwLock<HashMap<String, Arc<RwLock<Collection>>>>,
}

impl HnswIndex {
    /// Creates an empty index whose vectors all have `dimension` components.
    pub fn new(dimension: usize) -> Self {
        Self {
            dimension,
            collections: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, name: &str) -> Option<Arc<RwLock<Collection>>> {
        let map = self.collections.read().unwrap_or_else(|e| e.into_inner());
        map.get(name).cloned()
    }

    fn get_or_create(&self, name: &str) -> Arc<RwLock<Collection>> {
        if let Some(found) = self.get(name) {
            return found;
        }
        let mut map = self.collections.write().unwrap_or_else(|e| e.into_inner());
        map.entry(name.to_string())
            .or_insert_with(|| Arc::new(RwLock::new(Collection::new(name, self.dimension))))
            .clone()
    }
}

impl CodeIndex for HnswIndex {
    fn replace_file(&self, collection: &str, path: &str, chunks: Vec<NewChunk>) -> Vec<String> {
        let handle = self.get_or_create(collection);
        let mut guard = handle.write().unwrap_or_else(|e| e.into_inner());
        guard.replace_file(path, chunks)
    }

    fn remove_file(&self, collection: &str, path: &str) -> usize {
        let Some(handle) = self.get(collection) else {
            return 0;
        };
        let mut guard = handle.write().unwrap_or_else(|e| e.into_inner());
        guard.remove_file(path)
    }

    fn search(&self, collection: &str, query: &[f32], limit: usize) -> Vec<SearchHit> {
        let Some(handle) = self.get(collection) else {
            return Vec::new();
        };
        let guard = handle.read().unwrap_or_else(|e| e.into_inner());
        guard.search(query, limit)
    }

    fn stats(&self, collection: &str) -> Option<CollectionStats> {
        let handle = self.get(collection)?;
        let guard = handle.read().unwrap_or_else(|e| e.into_inner());
        Some(guard.stats())
    }
}
