//! The HNSW graph of one collection and its files on disk.
//!
//! A saved graph is a directory with hnsw_rs's `graph.hnsw.graph` and
//! `graph.hnsw.data` dumps plus `meta.json`, which records the collection
//! generation the dump matches and the SHA-256 of both dump files. hnsw_rs
//! panics or exits the process on some malformed dumps, so a dump is loaded only
//! after both checksums match.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use hnsw_rs::api::AnnT;
use hnsw_rs::hnswio::HnswIo;
use hnsw_rs::prelude::{Distance, Hnsw};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Maximum links per point and layer. 16 is the usual choice for vectors of a
/// few hundred dimensions.
const MAX_CONNECTIONS: usize = 16;
const MAX_LAYERS: usize = 16;
const EF_CONSTRUCTION: usize = 200;
/// Minimum size of the candidate list during search.
const MIN_EF_SEARCH: usize = 100;
/// Candidate list size per requested result, before tombstones are added.
/// With 4, a hybrid search (50 semantic candidates, so 200) took a median
/// 10.6 ms at 100,000 chunks on a 2-core machine (benches/search_latency.rs).
const EF_PER_RESULT: usize = 2;
/// Maximum size of the candidate list during search. Collections with more tombstones than
/// this rely on compaction to keep their live points reachable.
const MAX_EF_SEARCH: usize = 4_096;
const BASENAME: &str = "graph";

/// Cosine distance, `1 - cos(a, b)`, clamped at 0, and 0 when either vector
/// is zero: the same values as `DistCosine` of the anndists crate, which
/// hnsw_rs re-exports.
///
/// anndists sums in f64 one element at a time, which the compiler cannot
/// vectorise, so distance evaluation dominated search time. This version keeps
/// eight independent f32 partial sums per product, which compile to SIMD
/// instructions.
///
/// NOTE: hnsw_rs records the distance's type name in a dump and, when loading,
/// compares only its last path segment. Keeping the name `DistCosine` lets
/// graphs saved with the anndists type load unchanged, which is right because
/// both compute the same distance.
#[derive(Debug, Clone, Copy, Default)]
pub struct DistCosine;

/// Partial sums kept per product. Eight f32 lanes fill one 256-bit AVX
/// register or two 128-bit SSE registers.
const LANES: usize = 8;

impl Distance<f32> for DistCosine {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len(), "vectors of different dimensions");
        let mut dot = [0.0f32; LANES];
        let mut norm_a = [0.0f32; LANES];
        let mut norm_b = [0.0f32; LANES];
        let a_chunks = a.chunks_exact(LANES);
        let b_chunks = b.chunks_exact(LANES);
        let (a_rest, b_rest) = (a_chunks.remainder(), b_chunks.remainder());
        for (x, y) in a_chunks.zip(b_chunks) {
            for lane in 0..LANES {
                dot[lane] += x[lane] * y[lane];
                norm_a[lane] += x[lane] * x[lane];
                norm_b[lane] += y[lane] * y[lane];
            }
        }
        for (x, y) in a_rest.iter().zip(b_rest) {
            dot[0] += x * y;
            norm_a[0] += x * x;
            norm_b[0] += y * y;
        }
        let dot: f32 = dot.iter().sum();
        let norm_a: f32 = norm_a.iter().sum();
        let norm_b: f32 = norm_b.iter().sum();
        if norm_a > 0.0 && norm_b > 0.0 {
            (1.0 - dot / (norm_a * norm_b).sqrt()).max(0.0)
        } else {
            0.0
        }
    }
}

/// Identity a saved graph must match to be loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphMeta {
    /// The collection's generation when the graph was saved.
    pub generation: i64,
    pub embedder: String,
    pub dimension: usize,
}

#[derive(Serialize, Deserialize)]
struct MetaFile {
    meta: GraphMeta,
    graph_sha256: String,
    data_sha256: String,
}

/// An HNSW graph over cosine distance. Point ids are chunk point ids.
pub struct Graph {
    hnsw: Hnsw<'static, f32, DistCosine>,
}

impl Graph {
    /// Creates an empty graph sized for about `capacity` points (it grows past that).
    pub fn new(capacity: usize) -> Self {
        Self {
            hnsw: Hnsw::new(
                MAX_CONNECTIONS,
                capacity.max(1_000),
                MAX_LAYERS,
                EF_CONSTRUCTION,
                DistCosine {},
            ),
        }
    }

    /// Returns how many points the graph holds, tombstones included.
    pub fn point_count(&self) -> usize {
        self.hnsw.get_nb_point()
    }

    /// Adds a point. A zero vector has no direction, so cosine distance is
    /// undefined for it: such a point is left out and never returned.
    pub fn insert(&self, vector: &[f32], point_id: usize) {
        if vector.iter().any(|&x| x != 0.0) {
            self.hnsw.insert((vector, point_id));
        }
    }

    /// Returns up to `limit` `(point id, cosine similarity)` pairs among the
    /// points for which `is_live` holds, best first.
    ///
    /// `rejected` is the number of points `is_live` rejects. The candidate list
    /// grows by that many (up to [`MAX_EF_SEARCH`]), because rejected points
    /// near the query otherwise fill it and hide the live ones.
    pub fn search(
        &self,
        query: &[f32],
        limit: usize,
        rejected: usize,
        is_live: &dyn Fn(&usize) -> bool,
    ) -> Vec<(usize, f32)> {
        if limit == 0 || query.iter().all(|&x| x == 0.0) {
            return Vec::new();
        }
        let ef = (limit * EF_PER_RESULT)
            .max(MIN_EF_SEARCH)
            .saturating_add(rejected)
            .min(MAX_EF_SEARCH.max(limit));
        let filter = |id: &usize| is_live(id);
        self.hnsw
            .search_filter(query, limit, ef, Some(&filter))
            .into_iter()
            .map(|neighbour| (neighbour.d_id, 1.0 - neighbour.distance))
            .collect()
    }

    /// Saves the graph into `dir`, replacing an earlier save atomically: the
    /// files are written to a sibling directory that is then renamed.
    pub fn save(&self, dir: &Path, meta: &GraphMeta) -> io::Result<()> {
        let staging = sibling(dir, "saving");
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging)?;
        let written = self
            .hnsw
            .file_dump(&staging, BASENAME)
            .map_err(|error| io::Error::other(format!("hnsw dump failed: {error}")))?;
        if written != BASENAME {
            return Err(io::Error::other(format!(
                "hnsw dump used basename {written}"
            )));
        }
        let meta_file = MetaFile {
            meta: meta.clone(),
            graph_sha256: file_sha256(&staging.join(format!("{BASENAME}.hnsw.graph")))?,
            data_sha256: file_sha256(&staging.join(format!("{BASENAME}.hnsw.data")))?,
        };
        fs::write(staging.join("meta.json"), serde_json::to_vec(&meta_file)?)?;

        let old = sibling(dir, "old");
        let _ = fs::remove_dir_all(&old);
        if dir.exists() {
            fs::rename(dir, &old)?;
        }
        fs::rename(&staging, dir)?;
        let _ = fs::remove_dir_all(&old);
        Ok(())
    }

    /// Loads a saved graph if it exists, matches `expected` and its checksums
    /// are right. The error explains why the save cannot be used.
    pub fn load(dir: &Path, expected: &GraphMeta) -> Result<Self, String> {
        let meta_path = dir.join("meta.json");
        let text =
            fs::read(&meta_path).map_err(|error| format!("{}: {error}", meta_path.display()))?;
        let meta_file: MetaFile = serde_json::from_slice(&text)
            .map_err(|error| format!("{}: {error}", meta_path.display()))?;
        if &meta_file.meta != expected {
            return Err(format!(
                "saved graph is stale: it matches {:?}, the database is at {:?}",
                meta_file.meta, expected
            ));
        }
        for (suffix, expected_hash) in [
            ("graph", &meta_file.graph_sha256),
            ("data", &meta_file.data_sha256),
        ] {
            let path = dir.join(format!("{BASENAME}.hnsw.{suffix}"));
            let actual =
                file_sha256(&path).map_err(|error| format!("{}: {error}", path.display()))?;
            if &actual != expected_hash {
                return Err(format!("{} is corrupt: checksum mismatch", path.display()));
            }
        }

        // hnsw_rs ties the loaded graph's lifetime to its loader, so the
        // loader is leaked: one small struct per collection load.
        let loader: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(dir, BASENAME)));
        let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            // Moving the reference out makes this closure FnOnce, so the
            // graph can borrow the loader for 'static.
            let loader = loader;
            loader.load_hnsw::<f32, DistCosine>()
        }));
        match loaded {
            Ok(Ok(hnsw)) => Ok(Self { hnsw }),
            Ok(Err(error)) => Err(format!("cannot load saved graph: {error}")),
            Err(_) => Err("cannot load saved graph: the loader panicked".to_string()),
        }
    }
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    dir.with_file_name(name)
}

fn file_sha256(path: &Path) -> io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(generation: i64) -> GraphMeta {
        GraphMeta {
            generation,
            embedder: "hashing-3".to_string(),
            dimension: 3,
        }
    }

    fn sample() -> Graph {
        let graph = Graph::new(10);
        graph.insert(&[1.0, 0.0, 0.0], 1);
        graph.insert(&[0.0, 1.0, 0.0], 2);
        graph.insert(&[0.0, 0.0, 1.0], 3);
        graph
    }

    #[test]
    fn saved_graph_loads_and_searches_alike() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("c");
        sample().save(&target, &meta(7)).unwrap();
        let loaded = Graph::load(&target, &meta(7)).unwrap();
        let hits = loaded.search(&[0.1, 1.0, 0.0], 1, 0, &|_| true);
        assert_eq!(hits[0].0, 2);
    }

    #[test]
    fn stale_generation_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("c");
        sample().save(&target, &meta(7)).unwrap();
        let error = Graph::load(&target, &meta(8)).err().unwrap();
        assert!(error.contains("stale"), "{error}");
    }

    #[test]
    fn corrupt_dump_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("c");
        sample().save(&target, &meta(1)).unwrap();
        let data = target.join("graph.hnsw.data");
        let mut bytes = fs::read(&data).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        fs::write(&data, bytes).unwrap();
        let error = Graph::load(&target, &meta(1)).err().unwrap();
        assert!(error.contains("corrupt"), "{error}");
    }

    #[test]
    fn cosine_matches_anndists() {
        use hnsw_rs::prelude::DistCosine as AnndistsCosine;
        let a: Vec<f32> = (0..29).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..29).map(|i| (i as f32 * 0.11).cos()).collect();
        let zero = vec![0.0f32; 29];
        for (x, y) in [(&a, &b), (&a, &a), (&b, &zero), (&zero, &zero)] {
            let ours = DistCosine.eval(x, y);
            let reference = AnndistsCosine.eval(x, y);
            assert!((ours - reference).abs() < 1e-5, "{ours} != {reference}");
        }
    }

    #[test]
    fn graph_saved_with_anndists_cosine_loads() {
        use hnsw_rs::prelude::DistCosine as AnndistsCosine;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("c");
        fs::create_dir_all(&target).unwrap();
        let hnsw = Hnsw::new(
            MAX_CONNECTIONS,
            10,
            MAX_LAYERS,
            EF_CONSTRUCTION,
            AnndistsCosine {},
        );
        for (id, vector) in [[1.0f32, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
            .iter()
            .enumerate()
        {
            hnsw.insert((vector.as_slice(), id + 1));
        }
        hnsw.file_dump(&target, BASENAME).unwrap();
        let meta_file = MetaFile {
            meta: meta(3),
            graph_sha256: file_sha256(&target.join("graph.hnsw.graph")).unwrap(),
            data_sha256: file_sha256(&target.join("graph.hnsw.data")).unwrap(),
        };
        fs::write(
            target.join("meta.json"),
            serde_json::to_vec(&meta_file).unwrap(),
        )
        .unwrap();
        let loaded = Graph::load(&target, &meta(3)).unwrap();
        let hits = loaded.search(&[0.0, 0.2, 1.0], 1, 0, &|_| true);
        assert_eq!(hits[0].0, 3);
    }

    #[test]
    fn filter_hides_tombstones() {
        let graph = sample();
        let hits = graph.search(&[1.0, 0.0, 0.0], 3, 1, &|id| *id != 1);
        assert!(hits.iter().all(|(id, _)| *id != 1));
        assert_eq!(hits.len(), 2);
    }
}
