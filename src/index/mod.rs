//! Vector index: one collection per user (`{user_id}_code`). SQLite stores the
//! chunks and their vectors; an in-process HNSW graph per collection answers
//! nearest-neighbour queries and is persisted next to the database.

mod chunks;
mod collection;
mod graph;
mod keyword;
mod names;
mod persistent;
pub mod reembed;
pub mod search;

use serde::Serialize;

pub use persistent::PersistentIndex;
pub use search::{SearchFilters, SearchMode, SearchRequest};

use crate::store::StoreError;

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
    pub symbol: Option<String>,
    pub kind: String,
    pub start_line: usize,
    pub end_line: usize,
    pub start_byte: usize,
    pub end_byte: usize,
    pub text: String,
    pub vector: Vec<f32>,
}

/// Record of an indexed file, kept so that an unchanged file can be
/// skipped and still counted in workspace totals.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRecord {
    pub path: String,
    /// SHA-256 of the raw bytes, lowercase hex.
    pub content_hash: String,
    pub language: String,
    pub size_bytes: u64,
    pub chunk_count: usize,
    pub functions_found: usize,
    pub classes_found: usize,
    /// Sum of the cyclomatic complexities of the file's functions.
    pub complexity_sum: f64,
    /// Creation time, in Unix nanoseconds, of the job that submitted this version of the file.
    /// A version is not replaced or removed by a job created before it.
    pub source_version: i64,
}

/// A stored chunk whose vector comes from another embedder than the current one.
#[derive(Debug, Clone)]
pub struct StaleChunk {
    pub point_id: usize,
    pub path: String,
    pub symbol: Option<String>,
    pub text: String,
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
    /// Chunks still holding a vector from the collection's previous embedder.
    /// Keyword search finds them; semantic search does not until they are
    /// re-embedded in the background.
    pub chunks_awaiting_embedding: usize,
    /// Replaced or removed chunks still in the graph, filtered out at search
    /// time until the next compaction.
    pub tombstones: usize,
    /// Files with a stored record.
    pub files: usize,
    pub dimension: usize,
    /// Embedder that built the vectors, e.g. `hashing-768`.
    pub embedder: String,
}

/// Storage of chunk vectors per collection.
///
/// `replace_file` is atomic: a search returns either a file's old chunks or
/// its new ones, never a mix, and a crash leaves one of the two stored.
pub trait CodeIndex: Send + Sync {
    /// Replaces every chunk of `file.path` in `collection` with `chunks`,
    /// creating the collection if needed. Returns the new vector ids in order,
    /// or `None` without writing anything when the stored version of the file
    /// has a newer `source_version`.
    fn replace_file(
        &self,
        collection: &str,
        file: &FileRecord,
        chunks: Vec<NewChunk>,
    ) -> Result<Option<Vec<String>>, StoreError>;

    /// Removes a file and its chunks, unless the stored version has a
    /// `source_version` newer than `source_version`. Returns how many chunks
    /// were removed.
    fn remove_file(
        &self,
        collection: &str,
        path: &str,
        source_version: i64,
    ) -> Result<usize, StoreError>;

    /// Returns the stored record of a file, if any.
    fn file(&self, collection: &str, path: &str) -> Result<Option<FileRecord>, StoreError>;

    /// Returns the records of every file whose path starts with `prefix`.
    fn files_under(&self, collection: &str, prefix: &str) -> Result<Vec<FileRecord>, StoreError>;

    /// Returns up to `request.limit` live chunks ranked by the request's mode,
    /// best first. Scores: cosine similarity for semantic, BM25 score for
    /// keyword, reciprocal-rank-fusion sum for hybrid.
    fn search(
        &self,
        collection: &str,
        request: &SearchRequest,
    ) -> Result<Vec<SearchHit>, StoreError>;

    /// Returns the collection's counts, or `None` if it does not exist.
    fn stats(&self, collection: &str) -> Result<Option<CollectionStats>, StoreError>;

    /// Persists every changed graph and compacts graphs with many tombstones.
    fn flush(&self) -> Result<(), StoreError>;

    /// Loads every stored collection, so that the first search after a start
    /// does not pay for it. Returns how many were loaded.
    fn preload(&self) -> Result<usize, StoreError>;

    /// Names of collections with chunks that need embedding by the current
    /// embedder.
    fn stale_collections(&self) -> Result<Vec<String>, StoreError>;

    /// Up to `limit` chunks of `collection` that need embedding by the
    /// current embedder, oldest first.
    fn stale_chunks(&self, collection: &str, limit: usize) -> Result<Vec<StaleChunk>, StoreError>;

    /// Stores vectors from the current embedder for stale chunks and adds
    /// them to the graph. Chunks replaced in the meantime are skipped.
    /// Returns how many were stored.
    fn store_reembedded(
        &self,
        collection: &str,
        vectors: Vec<(usize, Vec<f32>)>,
    ) -> Result<usize, StoreError>;
}

/// Collection name for a user: `{user_id}_code`.
pub fn collection_name(user_id: &str) -> String {
    format!("{user_id}_code")
}

/// Formats a point id as a vector id, `vec_<n>`.
pub fn vector_id(point_id: usize) -> String {
    format!("vec_{point_id}")
}
