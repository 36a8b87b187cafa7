//! Search latency benchmark: how long does `CodeIndex::search` take on a
//! collection of 100,000 real code chunks?
//!
//! Chunks come from real code on this machine: the Python installation
//! (standard library and site-packages) and the crates in the cargo registry.
//! They are parsed with tree-sitter, embedded with the hashing embedder and
//! stored through `PersistentIndex` as the indexing pipeline stores them. The
//! index is then reopened and preloaded, as the server does at start, and a
//! few hundred queries of three sorts run
//! in hybrid, semantic and keyword mode at limit 10:
//!
//! - a documentation sentence, such as "Return the number of items.",
//! - a symbol name as written, such as `parse_config`,
//! - the words of a symbol name, such as "parse config".
//!
//! Run with `cargo bench --bench search_latency`; it prints Markdown tables
//! for docs/BENCHMARKS.md. `BENCH_CHUNKS` (default 100000) and
//! `BENCH_QUERIES` (default 300) set the sizes; `BENCH_PYTHON_ROOT` and
//! `BENCH_RUST_ROOT` set the source trees. `BENCH_DATA_DIR` keeps the data
//! directory, so a later run with the same sizes skips storing the chunks.
//! Delete it after a change to what the index stores. Under `cargo test` it
//! runs with 2,000 chunks and 30 queries.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mcp_code_index::code::{self, ChunkLimits, ReadLimits, ReadOutcome};
use mcp_code_index::embed::{Embedder, HashingEmbedder, InputKind, chunk_embedding_text};
use mcp_code_index::index::{
    CodeIndex, FileRecord, NewChunk, PersistentIndex, SearchFilters, SearchMode, SearchRequest,
};
use mcp_code_index::store::DataDir;

#[path = "../tests/support/mod.rs"]
mod support;

const COLLECTION: &str = "bench_code";
const LIMIT: usize = 10;
/// Queries run once before timing, so that the first timed queries do not
/// pay for cold SQLite pages and statement preparation.
const WARM_UP_QUERIES: usize = 20;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// Lists files with `extension` under `root`, sorted, so runs are repeatable.
fn source_files(root: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .build()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_some_and(|kind| kind.is_file()))
        .map(|entry| entry.into_path())
        .filter(|path| path.extension().is_some_and(|ext| ext == extension))
        .collect();
    files.sort();
    files
}

/// Alternates between the two lists, so a partial run contains both languages.
fn interleave(first: Vec<PathBuf>, second: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut merged = Vec::with_capacity(first.len() + second.len());
    let mut first = first.into_iter();
    let mut second = second.into_iter();
    loop {
        match (first.next(), second.next()) {
            (None, None) => return merged,
            (a, b) => merged.extend(a.into_iter().chain(b)),
        }
    }
}

/// First sentence of the documentation at the top of a chunk: `///` lines in
/// Rust, the docstring after the `def` line in Python.
fn doc_sentence(text: &str) -> Option<String> {
    let rust_doc: Vec<&str> = text
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("///"))
        .collect();
    let doc = if rust_doc.is_empty() {
        let start = text.find("\"\"\"")? + 3;
        let end = start + text[start..].find("\"\"\"")?;
        text[start..end].to_string()
    } else {
        rust_doc.join(" ")
    };
    let flat = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence = match flat.find(". ") {
        Some(end) => flat[..=end].to_string(),
        None => flat,
    };
    (sentence.len() >= 20 && sentence.len() <= 200).then_some(sentence)
}

/// Query candidates of the three sorts, gathered while the chunks are stored.
#[derive(Default)]
struct QueryPool {
    docs: Vec<String>,
    symbols: Vec<String>,
    words: Vec<String>,
}

impl QueryPool {
    fn add(&mut self, symbol: Option<&str>, text: &str) {
        if let Some(sentence) = doc_sentence(text) {
            self.docs.push(sentence);
        }
        let Some(name) = symbol.and_then(|symbol| symbol.rsplit('.').next()) else {
            return;
        };
        if name.len() < 6 || !name.contains('_') {
            return;
        }
        self.symbols.push(name.to_string());
        let words: Vec<&str> = name.split('_').filter(|word| !word.is_empty()).collect();
        if words.len() >= 2 {
            self.words.push(words.join(" "));
        }
    }

    /// Picks `count` queries spread evenly over the pool, in a fixed order
    /// that mixes the three sorts.
    fn pick(&self, count: usize) -> Vec<(&'static str, String)> {
        let per_sort = count.div_ceil(3);
        let spread = |list: &[String]| -> Vec<String> {
            let step = (list.len() / per_sort.max(1)).max(1);
            list.iter().step_by(step).take(per_sort).cloned().collect()
        };
        let docs = spread(&self.docs);
        let symbols = spread(&self.symbols);
        let words = spread(&self.words);
        let mut queries = Vec::new();
        for n in 0..per_sort {
            for (sort, list) in [("doc", &docs), ("symbol", &symbols), ("words", &words)] {
                if let Some(query) = list.get(n) {
                    queries.push((sort, query.clone()));
                }
            }
        }
        queries.truncate(count);
        queries
    }
}

/// Stores chunks of `files` until `target` chunks are stored or the files run
/// out, and adds query candidates from them to `pool`. With `index` `None`,
/// only `pool` is filled. Returns the number of files and chunks used.
fn populate(
    index: Option<&PersistentIndex>,
    embedder: &HashingEmbedder,
    files: &[PathBuf],
    target: usize,
    pool: &mut QueryPool,
) -> (usize, usize) {
    let read_limits = ReadLimits::default();
    let chunk_limits = ChunkLimits::default();
    let mut stored_files = 0;
    let mut stored_chunks = 0;
    for path in files {
        if stored_chunks >= target {
            break;
        }
        let Ok(ReadOutcome::Source(source)) = code::read_path(path, &read_limits) else {
            continue;
        };
        let mut parsed = code::parse_source(&source, &chunk_limits);
        parsed.chunks.truncate(target - stored_chunks);
        if parsed.chunks.is_empty() {
            continue;
        }
        stored_chunks += parsed.chunks.len();
        stored_files += 1;
        let Some(index) = index else {
            for chunk in &parsed.chunks {
                pool.add(chunk.symbol.as_deref(), &chunk.text);
            }
            continue;
        };
        let texts: Vec<String> = parsed
            .chunks
            .iter()
            .map(|chunk| chunk_embedding_text(&source.path, chunk.symbol.as_deref(), &chunk.text))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = embedder
            .embed(&refs, InputKind::Document)
            .expect("hashing never fails");
        let new_chunks: Vec<NewChunk> = parsed
            .chunks
            .into_iter()
            .zip(vectors)
            .map(|(chunk, vector)| {
                pool.add(chunk.symbol.as_deref(), &chunk.text);
                NewChunk {
                    symbol: chunk.symbol,
                    kind: chunk.kind.as_str().to_string(),
                    start_line: chunk.start_line,
                    end_line: chunk.end_line,
                    start_byte: chunk.start_byte,
                    end_byte: chunk.end_byte,
                    text: chunk.text,
                    vector,
                }
            })
            .collect();
        let record = FileRecord {
            path: source.path.clone(),
            content_hash: source.content_hash.clone(),
            language: source.language.name().to_string(),
            size_bytes: source.size_bytes,
            chunk_count: new_chunks.len(),
            functions_found: parsed.analysis.functions_found,
            classes_found: parsed.analysis.classes_found,
            complexity_sum: parsed.analysis.complexity_score
                * parsed.analysis.functions_found as f64,
            source_version: 0,
        };
        index
            .replace_file(COLLECTION, &record, new_chunks)
            .expect("chunks are stored");
    }
    (stored_files, stored_chunks)
}

/// Returns the value at quantile `q` (0 to 1) of sorted `values`, by the
/// nearest-rank method.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn micros(duration: Duration) -> String {
    format!("{:.0} µs", duration.as_secs_f64() * 1e6)
}

fn main() {
    // `cargo bench` passes --bench. Without it (`cargo test --all-targets`),
    // a small run checks that the benchmark still works.
    let full = std::env::args().any(|arg| arg == "--bench");
    let target_chunks = env_usize("BENCH_CHUNKS", if full { 100_000 } else { 2_000 });
    let query_count = env_usize("BENCH_QUERIES", if full { 300 } else { 30 });
    let python_root = env_or(
        "BENCH_PYTHON_ROOT",
        "/root/.pyenv/versions/3.11.7/lib/python3.11",
    );
    let rust_root = env_or(
        "BENCH_RUST_ROOT",
        &format!(
            "{}/.cargo/registry/src",
            std::env::var("HOME").unwrap_or_default()
        ),
    );
    let files = interleave(
        source_files(Path::new(&python_root), "py"),
        source_files(Path::new(&rust_root), "rs"),
    );
    assert!(
        !files.is_empty(),
        "no .py files under {python_root} and no .rs files under {rust_root}; \
         set BENCH_PYTHON_ROOT or BENCH_RUST_ROOT to a source tree"
    );

    let scratch = tempfile::tempdir().expect("temp dir");
    let kept_dir = std::env::var_os("BENCH_DATA_DIR").map(PathBuf::from);
    let data_dir =
        DataDir::open(Some(kept_dir.as_deref().unwrap_or(scratch.path()))).expect("data dir opens");
    let embedder = HashingEmbedder::default();
    let mut pool = QueryPool::default();
    let started = Instant::now();
    let mut reused = false;
    let (stored_files, stored_chunks) = {
        let index = support::open_index(&data_dir, &embedder);
        let stored = index
            .stats(COLLECTION)
            .expect("stats are read")
            .map_or(0, |stats| stats.live_chunks);
        if stored >= target_chunks {
            reused = true;
            populate(None, &embedder, &files, target_chunks, &mut pool)
        } else {
            let stored = populate(Some(&index), &embedder, &files, target_chunks, &mut pool);
            index.flush().expect("graph is saved");
            stored
        }
    };
    let populate_time = started.elapsed();

    // A fresh index, as after a server start: the saved graph is loaded here.
    let index = support::open_index(&data_dir, &embedder);
    let started = Instant::now();
    index.preload().expect("collection loads");
    let preload_time = started.elapsed();

    let queries = pool.pick(query_count);
    assert!(!queries.is_empty(), "the stored chunks gave no queries");
    let mut embed_times = Vec::with_capacity(queries.len());
    let vectors: Vec<Vec<f32>> = queries
        .iter()
        .map(|(_, query)| {
            let started = Instant::now();
            let vector = embedder.embed_one(query);
            embed_times.push(started.elapsed());
            vector
        })
        .collect();
    embed_times.sort();

    let run = |mode: SearchMode, n: usize| {
        let request = SearchRequest {
            vector: &vectors[n],
            text: &queries[n].1,
            mode,
            limit: LIMIT,
            filters: SearchFilters::default(),
        };
        let started = Instant::now();
        let hits = index.search(COLLECTION, &request).expect("search succeeds");
        (started.elapsed(), hits.len())
    };
    for n in 0..WARM_UP_QUERIES.min(queries.len()) {
        run(SearchMode::Hybrid, n);
    }

    let setup = if reused {
        "reused from BENCH_DATA_DIR, queries read"
    } else {
        "stored"
    };
    println!(
        "{stored_chunks} chunks of {stored_files} files {setup} in {:.1} s (setup); \
         preload (saved graph and keyword index): {} ms; {} queries ({} doc sentences, {} symbol names, \
         {} symbol words); query embedding p50 {}.",
        populate_time.as_secs_f64(),
        preload_time.as_millis(),
        queries.len(),
        queries.iter().filter(|(sort, _)| *sort == "doc").count(),
        queries.iter().filter(|(sort, _)| *sort == "symbol").count(),
        queries.iter().filter(|(sort, _)| *sort == "words").count(),
        micros(quantile(&embed_times, 0.5)),
    );
    println!();
    println!("| mode | queries | p50 | p95 | p99 | max | mean | empty results |");
    println!("|---|---|---|---|---|---|---|---|");
    for mode in [
        SearchMode::Hybrid,
        SearchMode::Semantic,
        SearchMode::Keyword,
    ] {
        let mut times = Vec::with_capacity(queries.len());
        let mut empty = 0;
        for n in 0..queries.len() {
            let (elapsed, hits) = run(mode, n);
            times.push(elapsed);
            empty += usize::from(hits == 0);
        }
        times.sort();
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        println!(
            "| {mode:?} | {} | {} | {} | {} | {} | {} | {empty} |",
            times.len(),
            millis(quantile(&times, 0.5)),
            millis(quantile(&times, 0.95)),
            millis(quantile(&times, 0.99)),
            millis(*times.last().expect("at least one query")),
            millis(mean),
        );
    }
}
