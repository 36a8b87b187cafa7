//! One collection: an HNSW graph plus the chunk records its points stand for.
//!
//! hnsw_rs cannot delete points, so replaced and removed chunks become
//! tombstones: their points stay in the graph and searches filter them out.

use std::collections::{BTreeSet, HashMap};

use hnsw_rs::prelude::{DistCosine, Hnsw};

use super::{ChunkRecord, CollectionStats, NewChunk, SearchHit};

/// Maximum links per point and layer. 16 is the usual choice for vectors of a
/// few hundred dimensions.
const MAX_CONNECTIONS: usize = 16;
const MAX_LAYERS: usize = 16;
const EF_CONSTRUCTION: usize = 200;
/// Capacity hint for a new graph; the graph grows past it.
const INITIAL_CAPACITY: usize = 10_000;
/// Minimum size of the candidate list during search.
const MIN_EF_SEARCH: usize = 64;

/// HNSW graph and chunk records of one collection.
pub struct Collection {
    name: String,
    dimension: usize,
    graph: Hnsw<'static, f32, DistCosine>,
    /// Live chunks by numeric point id (the `n` of `vec_<n>`).
    chunks: HashMap<usize, ChunkRecord>,
    /// Live point ids of each file, sorted.
    files: HashMap<String, BTreeSet<usize>>,
    /// Point ids still in the graph whose chunk was replaced or removed.
    tombstones: usize,
    next_id: usize,
}

impl Collection {
    pub fn new(name: &str, dimension: usize) -> Self {
        Self {
            name: name.to_string(),
            dimension,
            graph: Hnsw::new(
                MAX_CONNECTIONS,
                INITIAL_CAPACITY,
                MAX_LAYERS,
                EF_CONSTRUCTION,
                DistCosine {},
            ),
            chunks: HashMap::new(),
            files: HashMap::new(),
            tombstones: 0,
            next_id: 1,
        }
    }

    /// Replaces the chunks of `path`. Returns the new vector ids in order.
    pub fn replace_file(&mut self, path: &str, chunks: Vec<NewChunk>) -> Vec<String> {
        self.remove_file(path);
        let mut ids = Vec::with_capacity(chunks.len());
        let mut live = BTreeSet::new();
        for chunk in chunks {
            assert_eq!(
                chunk.vector.len(),
                self.dimension,
                "vector dimension does not match collection {}",
                self.name
            );
            let id = self.next_id;
            self.next_id += 1;
            // A zero vector has no direction, so cosine distance is undefined:
            // such a chunk is stored but never returned by vector search.
            if chunk.vector.iter().any(|&x| x != 0.0) {
                self.graph.insert((&chunk.vector, id));
            }
            let record = ChunkRecord {
                vector_id: format!("vec_{id}"),
                path: chunk.path,
                language: chunk.language,
                symbol: chunk.symbol,
                kind: chunk.kind,
                start_line: chunk.start_line,
                end_line: chunk.end_line,
                start_byte: chunk.start_byte,
                end_byte: chunk.end_byte,
                text: chunk.text,
            };
            ids.push(record.vector_id.clone());
            self.chunks.insert(id, record);
            live.insert(id);
        }
        if !live.is_empty() {
            self.files.insert(path.to_string(), live);
        }
        ids
    }

    /// Turns every chunk of `path` into a tombstone. Returns how many there were.
    pub fn remove_file(&mut self, path: &str) -> usize {
        let Some(ids) = self.files.remove(path) else {
            return 0;
        };
        for id in &ids {
            self.chunks.remove(id);
        }
        self.tombstones += ids.len();
        ids.len()
    }

    pub fn search(&self, query: &[f32], limit: usize) -> Vec<SearchHit> {
        if limit == 0 || self.chunks.is_empty() || query.iter().all(|&x| x == 0.0) {
            return Vec::new();
        }
        let ef = (limit * 4).max(MIN_EF_SEARCH);
        let is_live = |id: &usize| self.chunks.contains_key(id);
        let neighbours = self.graph.search_filter(query, limit, ef, Some(&is_live));
        neighbours
            .into_iter()
            .filter_map(|n| {
                let chunk = self.chunks.get(&n.d_id)?;
                Some(SearchHit {
                    chunk: chunk.clone(),
                    score: 1.0 - n.distance,
                })
            })
            .collect()
    }

    pub fn stats(&self) -> CollectionStats {
        CollectionStats {
            collection_name: self.name.clone(),
            live_chunks: self.chunks.len(),
            tombstones: self.tombstones,
            files: self.files.len(),
            dimension: self.dimension,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(path: &str, symbol: &str, vector: Vec<f32>) -> NewChunk {
        NewChunk {
            path: path.to_string(),
            language: "python".to_string(),
            symbol: Some(symbol.to_string()),
            kind: "function".to_string(),
            start_line: 1,
            end_line: 2,
            start_byte: 0,
            end_byte: 10,
            text: symbol.to_string(),
            vector,
        }
    }

    #[test]
    fn replace_file_hides_old_chunks() {
        let mut collection = Collection::new("u_code", 2);
        let first = collection.replace_file("a.py", vec![chunk("a.py", "old", vec![1.0, 0.0])]);
        assert_eq!(first, vec!["vec_1"]);
        let second = collection.replace_file("a.py", vec![chunk("a.py", "new", vec![1.0, 0.1])]);
        assert_eq!(second, vec!["vec_2"]);

        let hits = collection.search(&[1.0, 0.0], 10);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].chunk.symbol.as_deref(), Some("new"));
        assert_eq!(collection.stats().tombstones, 1);
        assert_eq!(collection.stats().live_chunks, 1);
    }

    #[test]
    fn search_ranks_nearest_first() {
        let mut collection = Collection::new("u_code", 2);
        collection.replace_file("a.py", vec![chunk("a.py", "east", vec![1.0, 0.0])]);
        collection.replace_file("b.py", vec![chunk("b.py", "north", vec![0.0, 1.0])]);
        let hits = collection.search(&[0.1, 1.0], 2);
        assert_eq!(hits[0].chunk.symbol.as_deref(), Some("north"));
        assert!(hits[0].score > hits[1].score);
    }

    #[test]
    fn zero_vector_is_stored_but_not_searchable() {
        let mut collection = Collection::new("u_code", 2);
        let ids = collection.replace_file("a.py", vec![chunk("a.py", "blank", vec![0.0, 0.0])]);
        assert_eq!(ids.len(), 1);
        assert_eq!(collection.stats().live_chunks, 1);
        assert!(collection.search(&[1.0, 0.0], 5).is_empty());
    }

    #[test]
    fn remove_file_counts_chunks() {
        let mut collection = Collection::new("u_code", 2);
        collection.replace_file(
            "a.py",
            vec![
                chunk("a.py", "f", vec![1.0, 0.0]),
                chunk("a.py", "g", vec![0.0, 1.0]),
            ],
        );
        assert_eq!(collection.remove_file("a.py"), 2);
        assert_eq!(collection.remove_file("a.py"), 0);
        assert!(collection.search(&[1.0, 0.0], 5).is_empty());
        assert_eq!(collection.stats().files, 0);
    }
}
