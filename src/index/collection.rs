//! In-memory state of one loaded collection: its graph and which of the
//! graph's points are still live.
//!
//! hnsw_rs cannot delete points, so replaced and removed chunks become
//! tombstones: their points stay in the graph, searches filter them out, and
//! compaction rebuilds the graph from SQLite once they pile up.

use std::collections::HashSet;

use super::graph::Graph;
use super::keyword::KeywordIndex;
use super::names::NameIndex;
use super::search::KeywordTokens;

/// Tombstones that trigger compaction: more than this many, and more than a
/// quarter of the live points. A rebuild then costs at most four inserts per
/// replaced chunk.
///
/// NOTE: hnsw_rs prunes links as points are added, so a file replaced many
/// times can leave its live chunks reachable only through its own tombstones,
/// and a larger candidate list does not help. Compacting early is what keeps
/// them findable. A small file in a large collection may still crowd its own
/// neighbourhood before the quarter is reached.
const COMPACTION_MIN_TOMBSTONES: usize = 64;

/// Largest collection (in live points) that is compacted right after a file
/// change. Larger ones wait for the next flush, so a write does not stall
/// on a long rebuild.
pub const MAX_LIVE_FOR_IMMEDIATE_COMPACTION: usize = 10_000;

pub struct Collection {
    pub graph: Graph,
    /// BM25 posting lists of the live chunks. Unlike the graph, it holds no
    /// tombstones: removed chunks leave it at once.
    pub keywords: KeywordIndex,
    /// Live chunks by the name of their symbol, for identifier queries.
    pub names: NameIndex,
    /// Point ids of live chunks, equal to the chunk rows in SQLite.
    pub live: HashSet<usize>,
    /// Points in the graph whose chunk was replaced or removed.
    pub tombstones: usize,
    /// Chunks in SQLite that still hold another embedder's vector and so
    /// are not in the graph yet.
    pub stale: usize,
    /// The SQLite generation the graph reflects.
    pub generation: i64,
    /// True when the graph changed since it was last saved.
    pub dirty: bool,
}

/// A chunk stored by a file change, as [`Collection::apply`] adds it.
pub struct AddedChunk<'a> {
    pub id: usize,
    pub vector: &'a [f32],
    pub tokens: &'a KeywordTokens,
    pub symbol: Option<&'a str>,
}

impl Collection {
    /// Applies a committed file change: `removed` points become tombstones and
    /// leave the keyword and name indexes, and `added` points (with their
    /// vectors, keyword words and symbols) join all three.
    pub fn apply(&mut self, removed: &[usize], added: &[AddedChunk], generation: i64) {
        for id in removed {
            if self.live.remove(id) {
                self.tombstones += 1;
            } else {
                // Not in the graph: the chunk was waiting to be re-embedded.
                self.stale = self.stale.saturating_sub(1);
            }
        }
        self.keywords.remove(removed);
        self.names.remove(removed);
        for chunk in added {
            self.graph.insert(chunk.vector, chunk.id);
            self.live.insert(chunk.id);
            self.keywords.insert(chunk.id, chunk.tokens);
            if let Some(symbol) = chunk.symbol {
                self.names.insert(chunk.id, symbol);
            }
        }
        self.generation = generation;
        self.dirty = true;
    }

    /// Adds re-embedded chunks, which were stale until now, to the graph.
    pub fn add_reembedded(&mut self, added: &[(usize, &[f32])], generation: i64) {
        for (id, vector) in added {
            self.graph.insert(vector, *id);
            self.live.insert(*id);
        }
        self.stale = self.stale.saturating_sub(added.len());
        self.generation = generation;
        self.dirty = true;
    }

    pub fn needs_compaction(&self) -> bool {
        self.tombstones > COMPACTION_MIN_TOMBSTONES && self.tombstones > self.live.len() / 4
    }

    /// Returns up to `limit` live `(point id, score)` pairs nearest to `query`,
    /// among `allowed` if given.
    pub fn search(
        &self,
        query: &[f32],
        limit: usize,
        allowed: Option<&HashSet<usize>>,
    ) -> Vec<(usize, f32)> {
        let is_live =
            |id: &usize| self.live.contains(id) && allowed.is_none_or(|set| set.contains(id));
        self.graph.search(query, limit, self.tombstones, &is_live)
    }
}
