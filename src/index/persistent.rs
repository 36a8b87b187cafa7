//! [`CodeIndex`] backed by SQLite, with one HNSW graph per collection loaded on
//! first use and saved by [`CodeIndex::flush`].

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use tracing::{info, warn};

use super::chunks::{self, CollectionRow};
use super::collection::{AddedChunk, Collection, MAX_LIVE_FOR_IMMEDIATE_COMPACTION};
use super::graph::{Graph, GraphMeta};
use super::keyword::KeywordIndex;
use super::names::NameIndex;
use super::search::{self, KeywordTokens, SearchMode, SearchRequest};
use super::{CodeIndex, CollectionStats, FileRecord, NewChunk, SearchHit, StaleChunk};
use crate::store::{Database, StoreError};

type Handle = Arc<RwLock<Collection>>;

/// Chunks with the name of an identifier query that are rated and ranked.
/// A name as common as `__init__` or `new` can have more in a large
/// collection, and then the first listed are taken.
const MAX_NAME_MATCHES: usize = 1000;

/// The vector index of one data directory.
pub struct PersistentIndex {
    db: Arc<Database>,
    /// Directory holding one saved graph directory per collection.
    graphs_dir: PathBuf,
    /// Name of the embedder whose vectors this index stores, e.g. `hashing-768`.
    embedder: String,
    dimension: usize,
    /// Recorded with each chunk's vector: embedder name and dimension, e.g.
    /// `hashing-768@768`. Chunks with another stamp wait for re-embedding.
    stamp: String,
    loaded: Mutex<HashMap<String, Handle>>,
}

impl PersistentIndex {
    pub fn new(db: Arc<Database>, graphs_dir: PathBuf, embedder: &str, dimension: usize) -> Self {
        Self {
            db,
            graphs_dir,
            embedder: embedder.to_string(),
            dimension,
            stamp: format!("{embedder}@{dimension}"),
            loaded: Mutex::new(HashMap::new()),
        }
    }

    fn meta(&self, generation: i64) -> GraphMeta {
        GraphMeta {
            generation,
            embedder: self.embedder.clone(),
            dimension: self.dimension,
        }
    }

    /// Returns the loaded collection, loading or (with `create`) creating it.
    fn handle(&self, name: &str, create: bool) -> Result<Option<Handle>, StoreError> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(handle) = loaded.get(name) {
            return Ok(Some(handle.clone()));
        }
        let row = self.db.read(|conn| chunks::collection_row(conn, name))?;
        let collection = match row {
            Some(row) if row.embedder == self.embedder && row.dimension == self.dimension => {
                self.load(name, &row)?
            }
            Some(row) => {
                self.backfill_keywords(name)?;
                self.db.write(|tx| {
                    chunks::switch_embedder(tx, name, &self.embedder, self.dimension)
                })?;
                let generation = self.generation(name)?;
                let collection = self.rebuild(name, generation)?;
                info!(
                    collection = name,
                    previous = %row.embedder,
                    current = %self.embedder,
                    chunks = collection.stale,
                    "the embedder changed; re-embedding the collection's chunks in the background"
                );
                collection
            }
            None if create => self.create(name)?,
            None => return Ok(None),
        };
        let handle = Arc::new(RwLock::new(collection));
        loaded.insert(name.to_string(), handle.clone());
        Ok(Some(handle))
    }

    fn create(&self, name: &str) -> Result<Collection, StoreError> {
        self.db
            .write(|tx| chunks::create_collection(tx, name, &self.embedder, self.dimension))?;
        let _ = std::fs::remove_dir_all(self.graphs_dir.join(name));
        Ok(Collection {
            graph: Graph::new(0),
            keywords: KeywordIndex::default(),
            names: NameIndex::default(),
            live: Default::default(),
            tombstones: 0,
            stale: 0,
            generation: 0,
            dirty: false,
        })
    }

    /// Adds keyword rows for chunks that have none, e.g. after a migration
    /// emptied the keyword table.
    fn backfill_keywords(&self, name: &str) -> Result<(), StoreError> {
        let backfilled = self.db.write(|tx| search::backfill(tx, name))?;
        if backfilled > 0 {
            info!(
                collection = name,
                chunks = backfilled,
                "added chunks to the keyword index"
            );
        }
        Ok(())
    }

    /// Builds the keyword and name indexes of a collection from its stored
    /// keyword rows and symbols.
    fn load_keywords(&self, name: &str) -> Result<(KeywordIndex, NameIndex), StoreError> {
        let mut keywords = KeywordIndex::default();
        let mut names = NameIndex::default();
        self.db.read(|conn| {
            chunks::for_each_keyword_row(conn, name, |id, tokens, symbol| {
                keywords.insert(id, tokens);
                if let Some(symbol) = symbol {
                    names.insert(id, symbol);
                }
            })
        })?;
        Ok((keywords, names))
    }

    /// Loads the saved graph if it matches the database, or rebuilds it.
    fn load(&self, name: &str, row: &CollectionRow) -> Result<Collection, StoreError> {
        self.backfill_keywords(name)?;
        let (live, stale) = self.db.read(|conn| {
            Ok((
                chunks::live_ids(conn, name, &self.stamp)?,
                chunks::stale_count(conn, name, &self.stamp)?,
            ))
        })?;
        match Graph::load(&self.graphs_dir.join(name), &self.meta(row.generation)) {
            Ok(graph) => {
                let tombstones = graph.point_count().saturating_sub(live.len());
                info!(collection = name, chunks = live.len(), "loaded saved graph");
                let (keywords, names) = self.load_keywords(name)?;
                Ok(Collection {
                    graph,
                    keywords,
                    names,
                    live,
                    tombstones,
                    stale,
                    generation: row.generation,
                    dirty: false,
                })
            }
            Err(reason) => {
                warn!(collection = name, %reason, "rebuilding graph from the database");
                self.rebuild(name, row.generation)
            }
        }
    }

    /// Builds a fresh graph from the current embedder's vectors in SQLite,
    /// dropping all tombstones, and the keyword index from the stored keyword
    /// rows of every chunk.
    fn rebuild(&self, name: &str, generation: i64) -> Result<Collection, StoreError> {
        let (keywords, names) = self.load_keywords(name)?;
        let mut collection = Collection {
            graph: Graph::new(0),
            keywords,
            names,
            live: Default::default(),
            tombstones: 0,
            stale: 0,
            generation,
            dirty: true,
        };
        self.db.read(|conn| {
            let count = chunks::live_ids(conn, name, &self.stamp)?.len();
            collection.stale = chunks::stale_count(conn, name, &self.stamp)?;
            collection.graph = Graph::new(count + collection.stale);
            chunks::for_each_vector(conn, name, &self.stamp, |id, vector| {
                collection.graph.insert(vector, id);
                collection.live.insert(id);
            })
        })?;
        Ok(collection)
    }

    fn generation(&self, name: &str) -> Result<i64, StoreError> {
        Ok(self
            .db
            .read(|conn| chunks::collection_row(conn, name))?
            .map_or(0, |row| row.generation))
    }
}

impl CodeIndex for PersistentIndex {
    fn replace_file(
        &self,
        collection: &str,
        file: &FileRecord,
        new_chunks: Vec<NewChunk>,
    ) -> Result<Option<Vec<String>>, StoreError> {
        for chunk in &new_chunks {
            assert_eq!(
                chunk.vector.len(),
                self.dimension,
                "vector dimension does not match the index"
            );
        }
        let handle = self.handle(collection, true)?.expect("created on demand");
        let mut state = handle.write().unwrap_or_else(|e| e.into_inner());
        let tokens: Vec<KeywordTokens> = new_chunks
            .iter()
            .map(|chunk| search::keyword_tokens(&file.path, chunk.symbol.as_deref(), &chunk.text))
            .collect();
        let Some((removed, added)) = self.db.write(|tx| {
            chunks::replace_file(tx, collection, file, &new_chunks, &tokens, &self.stamp)
        })?
        else {
            return Ok(None);
        };
        let generation = self.generation(collection)?;
        let added: Vec<AddedChunk> = added
            .iter()
            .zip(&new_chunks)
            .zip(&tokens)
            .map(|((id, chunk), tokens)| AddedChunk {
                id: *id,
                vector: &chunk.vector,
                tokens,
                symbol: chunk.symbol.as_deref(),
            })
            .collect();
        state.apply(&removed, &added, generation);
        if state.needs_compaction() && state.live.len() <= MAX_LIVE_FOR_IMMEDIATE_COMPACTION {
            info!(
                collection,
                tombstones = state.tombstones,
                "compacting graph"
            );
            *state = self.rebuild(collection, generation)?;
        }
        Ok(Some(
            added
                .iter()
                .map(|chunk| super::vector_id(chunk.id))
                .collect(),
        ))
    }

    fn remove_file(
        &self,
        collection: &str,
        path: &str,
        source_version: i64,
    ) -> Result<usize, StoreError> {
        let Some(handle) = self.handle(collection, false)? else {
            return Ok(0);
        };
        let mut state = handle.write().unwrap_or_else(|e| e.into_inner());
        let removed = self.db.write(|tx| {
            if chunks::has_newer_version(tx, collection, path, source_version)? {
                return Ok(Vec::new());
            }
            chunks::remove_file(tx, collection, path)
        })?;
        let generation = self.generation(collection)?;
        state.apply(&removed, &[], generation);
        Ok(removed.len())
    }

    fn file(&self, collection: &str, path: &str) -> Result<Option<FileRecord>, StoreError> {
        self.db.read(|conn| chunks::file(conn, collection, path))
    }

    fn files_under(&self, collection: &str, prefix: &str) -> Result<Vec<FileRecord>, StoreError> {
        self.db
            .read(|conn| chunks::files_under(conn, collection, prefix))
    }

    fn search(
        &self,
        collection: &str,
        request: &SearchRequest,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let Some(handle) = self.handle(collection, false)? else {
            return Ok(Vec::new());
        };
        // Hybrid fusion needs deeper lists than the final limit.
        let depth = match request.mode {
            SearchMode::Hybrid => (request.limit * 4).max(50),
            _ => request.limit,
        };
        let allowed: Option<HashSet<usize>> = if request.filters.is_empty() {
            None
        } else {
            let ids = self
                .db
                .read(|conn| search::filtered_ids(conn, collection, &request.filters))?;
            Some(ids.into_iter().collect())
        };
        let state = handle.read().unwrap_or_else(|e| e.into_inner());
        let semantic = if request.mode == SearchMode::Keyword {
            Vec::new()
        } else {
            state.search(request.vector, depth, allowed.as_ref())
        };
        let is_allowed = |id: usize| allowed.as_ref().is_none_or(|set| set.contains(&id));
        // A query that is one identifier (`rmtree`, `shutil.rmtree`) puts the
        // chunks with that name first, found by name rather than by keyword.
        let identifier = match request.mode {
            SearchMode::Semantic => None,
            _ => search::identifier_query(request.text),
        };
        let named: Vec<usize> = identifier
            .as_ref()
            .and_then(|parts| parts.last())
            .map(|last| {
                state
                    .names
                    .get(&search::name_key(last))
                    .iter()
                    .copied()
                    .filter(|&id| is_allowed(id))
                    .take(MAX_NAME_MATCHES)
                    .collect()
            })
            .unwrap_or_default();
        let keyword = if request.mode == SearchMode::Semantic {
            Vec::new()
        } else {
            let words = search::keyword_words(request.text);
            state.keywords.search(&words, depth, &is_allowed)
        };
        drop(state);
        let name_matches: Vec<(usize, usize)> = match &identifier {
            Some(parts) if !named.is_empty() => {
                let names = self
                    .db
                    .read(|conn| chunks::chunk_names(conn, collection, &named))?;
                names
                    .iter()
                    .filter_map(|(id, symbol, path)| {
                        search::name_match(parts, symbol, path).map(|rating| (*id, rating))
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        let mut scored = match request.mode {
            SearchMode::Semantic => semantic,
            SearchMode::Keyword => keyword,
            SearchMode::Hybrid => {
                let ids =
                    |list: &[(usize, f32)]| list.iter().map(|(id, _)| *id).collect::<Vec<_>>();
                search::reciprocal_rank_fusion(&[ids(&keyword), ids(&semantic)], usize::MAX)
            }
        };
        scored = search::put_name_matches_first(scored, &name_matches);
        scored.truncate(request.limit);
        let ids: Vec<usize> = scored.iter().map(|(id, _)| *id).collect();
        let mut records = self
            .db
            .read(|conn| chunks::chunk_records(conn, collection, &ids))?;
        Ok(scored
            .into_iter()
            .filter_map(|(id, score)| records.remove(&id).map(|chunk| SearchHit { chunk, score }))
            .collect())
    }

    fn stats(&self, collection: &str) -> Result<Option<CollectionStats>, StoreError> {
        let Some(handle) = self.handle(collection, false)? else {
            return Ok(None);
        };
        let state = handle.read().unwrap_or_else(|e| e.into_inner());
        let files = self.db.read(|conn| chunks::file_count(conn, collection))?;
        Ok(Some(CollectionStats {
            collection_name: collection.to_string(),
            live_chunks: state.live.len() + state.stale,
            chunks_awaiting_embedding: state.stale,
            tombstones: state.tombstones,
            files,
            dimension: self.dimension,
            embedder: self.embedder.clone(),
        }))
    }

    fn preload(&self) -> Result<usize, StoreError> {
        let names = self.db.read(chunks::collection_names)?;
        let mut loaded = 0;
        for name in names {
            if self.handle(&name, false)?.is_some() {
                loaded += 1;
            }
        }
        Ok(loaded)
    }

    fn stale_collections(&self) -> Result<Vec<String>, StoreError> {
        self.db.read(|conn| {
            chunks::stale_collections(conn, &self.embedder, self.dimension, &self.stamp)
        })
    }

    fn stale_chunks(&self, collection: &str, limit: usize) -> Result<Vec<StaleChunk>, StoreError> {
        // Loading the collection records the switch to the current embedder.
        if self.handle(collection, false)?.is_none() {
            return Ok(Vec::new());
        }
        self.db
            .read(|conn| chunks::stale_chunks(conn, collection, &self.stamp, limit))
    }

    fn store_reembedded(
        &self,
        collection: &str,
        vectors: Vec<(usize, Vec<f32>)>,
    ) -> Result<usize, StoreError> {
        for (_, vector) in &vectors {
            assert_eq!(
                vector.len(),
                self.dimension,
                "vector dimension does not match the index"
            );
        }
        let Some(handle) = self.handle(collection, false)? else {
            return Ok(0);
        };
        let mut state = handle.write().unwrap_or_else(|e| e.into_inner());
        let updated = self
            .db
            .write(|tx| chunks::store_vectors(tx, collection, &self.stamp, &vectors))?;
        if updated.is_empty() {
            return Ok(0);
        }
        let generation = self.generation(collection)?;
        let by_id: HashMap<usize, &[f32]> = vectors
            .iter()
            .map(|(id, vector)| (*id, vector.as_slice()))
            .collect();
        let added: Vec<(usize, &[f32])> = updated.iter().map(|id| (*id, by_id[id])).collect();
        state.add_reembedded(&added, generation);
        Ok(updated.len())
    }

    fn flush(&self) -> Result<(), StoreError> {
        let handles: Vec<(String, Handle)> = {
            let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
            loaded
                .iter()
                .map(|(name, handle)| (name.clone(), handle.clone()))
                .collect()
        };
        for (name, handle) in handles {
            let mut state = handle.write().unwrap_or_else(|e| e.into_inner());
            if state.needs_compaction() {
                info!(collection = %name, tombstones = state.tombstones, "compacting graph");
                *state = self.rebuild(&name, state.generation)?;
            }
            if !state.dirty {
                continue;
            }
            let dir = self.graphs_dir.join(&name);
            if state.graph.point_count() == 0 {
                // hnsw_rs cannot save an empty graph; with no save, the next
                // start rebuilds it from the database, which costs nothing.
                let _ = std::fs::remove_dir_all(&dir);
                state.dirty = false;
                continue;
            }
            match state.graph.save(&dir, &self.meta(state.generation)) {
                Ok(()) => state.dirty = false,
                // The database still stores everything, so a failed save only
                // costs a rebuild at the next start.
                Err(error) => warn!(collection = %name, %error, "saving graph failed"),
            }
        }
        Ok(())
    }
}
