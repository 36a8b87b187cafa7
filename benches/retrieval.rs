//! Retrieval-quality benchmark: can search find a function from its doc comment?
//!
//! Pairs come from real code: Python functions with docstrings from the
//! Python installation on this machine (standard library and site-packages)
//! and Rust functions with `///` comments from the crates pinned in
//! `benches/rust-crates.txt`, which `scripts/fetch-bench-corpus.sh` downloads. The query is the first sentence of the
//! documentation. The target is the function with its documentation removed,
//! written to a directory of its own under the name of the file it came from
//! and indexed through the real workspace pipeline. Each query is run in
//! keyword, semantic and hybrid mode, and the rank of the target's directory
//! gives recall@1, recall@10 and MRR.
//!
//! Run with `cargo bench --bench retrieval` (`BENCH_PAIRS`, default 2000 per
//! language; `BENCH_PYTHON_ROOT` and `BENCH_RUST_ROOT` set the source trees,
//! `BENCH_LANGUAGES` picks `python`, `rust` or both, comma-separated).
//! Under `cargo test` it runs with 100 pairs per language. `BENCH_EMBEDDER`
//! picks the embedder: `hashing` (default); `minilm`, which needs
//! `--features minilm` and the model in `MCP_CODE_INDEX_MINILM_DIR`; or
//! `openai`, configured by the server's `MCP_CODE_INDEX_EMBEDDING_*`
//! variables (URL, model, prefixes and so on). `BENCH_MISSES=DIR` writes the
//! queries that hybrid search ranks below ten to `DIR/<language>_misses.txt`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mcp_code_index::code::{self, ChunkKind, ChunkLimits, ReadLimits, ReadOutcome};
use mcp_code_index::embed::{Embedder, HashingEmbedder, InputKind};
use mcp_code_index::index::{
    CodeIndex, PersistentIndex, SearchFilters, SearchHit, SearchMode, SearchRequest,
};
use mcp_code_index::jobs::model::Progress;
use mcp_code_index::jobs::pipeline::{PipelineContext, run_workspace_job};
use mcp_code_index::store::{DataDir, Database};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Splits a function chunk into its documentation and its code without it.
type Splitter = fn(&str) -> Option<(String, String)>;

/// One query and the function it describes.
struct Pair {
    query: String,
    /// The function without its documentation.
    target: String,
    /// Name of the file the function came from.
    file_name: String,
}

/// Builds the embedder that `BENCH_EMBEDDER` selects.
fn bench_embedder() -> Arc<dyn Embedder> {
    match env_or("BENCH_EMBEDDER", "hashing").as_str() {
        "hashing" => Arc::new(HashingEmbedder::default()),
        #[cfg(feature = "minilm")]
        "minilm" => {
            let dir = std::env::var_os("MCP_CODE_INDEX_MINILM_DIR")
                .expect("BENCH_EMBEDDER=minilm needs MCP_CODE_INDEX_MINILM_DIR");
            Arc::new(
                mcp_code_index::embed::MinilmEmbedder::load(Path::new(&dir))
                    .expect("MiniLM model loads"),
            )
        }
        "openai" => {
            use clap::Parser as _;
            let config = mcp_code_index::config::Config::try_parse_from(["mcp-code-index"])
                .expect("MCP_CODE_INDEX_* variables are valid");
            let openai = config
                .openai_config()
                .expect("embedding URL and model are set");
            // The embedder keeps a handle to this runtime, so it lives until exit.
            let runtime = Box::leak(Box::new(
                tokio::runtime::Runtime::new().expect("runtime starts"),
            ));
            Arc::new(
                runtime
                    .block_on(mcp_code_index::embed::OpenAiEmbedder::connect(openai))
                    .expect("embedding server responds"),
            )
        }
        other => panic!(
            "unknown BENCH_EMBEDDER {other:?}: use hashing, openai, or minilm in a build \
             with --features minilm"
        ),
    }
}

/// Returns the directory of the pinned crates that
/// `scripts/fetch-bench-corpus.sh` unpacks, or the local cargo registry when
/// any of them is missing. The registry changes with every build that fetches
/// a crate, so its numbers are not comparable between runs.
fn default_rust_root() -> String {
    let home = std::env::var("HOME").unwrap_or_default();
    let cache = std::env::var("XDG_CACHE_HOME")
        .ok()
        .filter(|dir| !dir.is_empty())
        .unwrap_or_else(|| format!("{home}/.cache"));
    let pinned = format!("{cache}/mcp-code-index/rust-corpus");
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/rust-crates.txt");
    let list = std::fs::read_to_string(&list).expect("benches/rust-crates.txt is readable");
    let missing = list
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            Some(format!("{}-{}", fields.next()?, fields.next()?))
        })
        .filter(|crate_dir| {
            !Path::new(&pinned)
                .join(crate_dir)
                .join(".complete")
                .is_file()
        })
        .count();
    if missing == 0 {
        return pinned;
    }
    eprintln!(
        "{missing} pinned crates are missing from {pinned}, so the Rust pairs come from \
         the cargo registry and vary between machines; run scripts/fetch-bench-corpus.sh \
         for the pinned corpus"
    );
    format!("{home}/.cargo/registry/src")
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// Lists files with `extension` under `root`, sorted, so the sample is stable.
fn source_files(root: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .build()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_some_and(|kind| kind.is_file()))
        .map(|entry| entry.into_path())
        .filter(|path| path.extension().is_some_and(|ext| ext == extension))
        .filter(|path| {
            !path
                .components()
                .any(|part| matches!(part.as_os_str().to_str(), Some("test" | "tests")))
        })
        .collect();
    files.sort();
    files
}

/// First sentence of a documentation text, on one line.
fn first_sentence(doc: &str) -> String {
    let flat = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.find(". ") {
        Some(end) => flat[..=end].to_string(),
        None => flat,
    }
}

/// Splits a Python function chunk into (docstring, body without it).
fn split_python(text: &str) -> Option<(String, String)> {
    let def = text.find("def ")?;
    let header_end = def + text[def..].find(":\n")? + 2;
    let rest = &text[header_end..];
    let trimmed = rest.trim_start();
    let quote = ["\"\"\"", "'''"]
        .into_iter()
        .find(|quote| trimmed.starts_with(quote))?;
    let open = header_end + (rest.len() - trimmed.len());
    let close = open + 3 + text[open + 3..].find(quote)?;
    let doc = text[open + 3..close].to_string();
    let body = format!("{}{}", &text[..header_end], &text[close + 3..]);
    Some((doc, body))
}

/// Splits a Rust function chunk into (`///` documentation, code without it).
fn split_rust(text: &str) -> Option<(String, String)> {
    let mut doc = String::new();
    let mut body = String::new();
    for line in text.lines() {
        match line.trim_start().strip_prefix("///") {
            Some(comment) => {
                doc.push_str(comment);
                doc.push(' ');
            }
            None => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    (!doc.trim().is_empty()).then_some((doc, body))
}

/// Collects up to `pair_limit` pairs from the files, spread over the whole tree.
fn collect_pairs(
    files: &[PathBuf],
    pair_limit: usize,
    split: fn(&str) -> Option<(String, String)>,
) -> Vec<Pair> {
    let limits = ReadLimits::default();
    let chunk_limits = ChunkLimits {
        max_chunk_bytes: 8000,
        ..ChunkLimits::default()
    };
    let mut pairs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let stride = (files.len() / (pair_limit / 2).max(1)).max(1);
    for offset in 0..stride {
        for path in files.iter().skip(offset).step_by(stride) {
            if pairs.len() >= pair_limit {
                return pairs;
            }
            let Ok(ReadOutcome::Source(source)) = code::read_path(path, &limits) else {
                continue;
            };
            let parsed = code::parse_source(&source, &chunk_limits);
            // At most two functions per file, so no single file dominates.
            let mut pairs_from_file = 0;
            for chunk in &parsed.chunks {
                if pairs.len() >= pair_limit
                    || pairs_from_file == 2
                    || !matches!(chunk.kind, ChunkKind::Function | ChunkKind::Method)
                {
                    continue;
                }
                let Some((doc, body)) = split(&chunk.text) else {
                    continue;
                };
                let query = first_sentence(&doc);
                if query.len() < 20 || body.lines().count() < 3 || !seen.insert(query.clone()) {
                    continue;
                }
                let file_name = Path::new(&source.path)
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default();
                pairs.push(Pair {
                    query,
                    target: body,
                    file_name,
                });
                pairs_from_file += 1;
            }
        }
    }
    pairs
}

/// Recall@1, recall@10 and MRR of one mode.
#[derive(Default)]
struct Scores {
    hits_at_1: usize,
    hits_at_10: usize,
    reciprocal_ranks: f64,
    queries: usize,
}

fn evaluate(language: &str, pairs: &[Pair], scratch: &Path) -> Vec<(SearchMode, Scores)> {
    let tree = scratch.join(format!("{language}_targets"));
    std::fs::create_dir_all(&tree).expect("target directory is created");
    for (n, pair) in pairs.iter().enumerate() {
        let dir = tree.join(format!("target_{n:05}"));
        std::fs::create_dir_all(&dir).expect("target directory is created");
        std::fs::write(dir.join(&pair.file_name), &pair.target).expect("target is written");
    }
    let data_dir =
        DataDir::open(Some(&scratch.join(format!("{language}_data")))).expect("data dir opens");
    let embedder = bench_embedder();
    let db = Arc::new(Database::open(&data_dir.database_path()).expect("database opens"));
    let index = Arc::new(PersistentIndex::new(
        db,
        data_dir.graphs_dir(),
        embedder.name(),
        embedder.dimension(),
    ));
    let collection = "bench_code".to_string();
    let on_progress = |_: &Progress| {};
    let ctx = PipelineContext {
        index: index.clone(),
        embedder: embedder.clone(),
        read_limits: ReadLimits::default(),
        chunk_limits: ChunkLimits::default(),
        collection: collection.clone(),
        cancel: CancellationToken::new(),
        interrupt: CancellationToken::new(),
        source_version: 1,
        on_progress: &on_progress,
    };
    let metadata = json!({"workspace_path": tree.display().to_string()});
    let started = std::time::Instant::now();
    let output =
        run_workspace_job(&ctx, metadata.as_object().unwrap()).expect("targets are indexed");
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{language}: indexed {} chunks with {} in {seconds:.1} s ({:.1} chunks/s)",
        output.metrics.chunks_count,
        embedder.name(),
        output.metrics.chunks_count as f64 / seconds
    );

    let modes = [
        SearchMode::Keyword,
        SearchMode::Semantic,
        SearchMode::Hybrid,
    ];
    let mut results: Vec<(SearchMode, Scores)> = modes
        .iter()
        .map(|mode| (*mode, Scores::default()))
        .collect();
    let mut misses = String::new();
    for (n, pair) in pairs.iter().enumerate() {
        let target = format!("target_{n:05}");
        let vector = embedder
            .embed(&[pair.query.as_str()], InputKind::Query)
            .expect("query embeds")
            .remove(0);
        for (mode, scores) in &mut results {
            let request = SearchRequest {
                vector: &vector,
                text: &pair.query,
                mode: *mode,
                limit: 30,
                filters: SearchFilters::default(),
            };
            let hits = index
                .search(&collection, &request)
                .expect("search succeeds");
            let mut files: Vec<&str> = Vec::new();
            for hit in &hits {
                let name = hit.chunk.path.rsplit('/').nth(1).unwrap_or("");
                if !files.contains(&name) {
                    files.push(name);
                }
            }
            scores.queries += 1;
            let rank = files.iter().position(|name| *name == target);
            if *mode == SearchMode::Hybrid && rank.is_none_or(|rank| rank >= 10) {
                misses.push_str(&describe_miss(pair, rank, &hits));
            }
            if let Some(rank) = rank {
                scores.hits_at_1 += usize::from(rank == 0);
                scores.hits_at_10 += usize::from(rank < 10);
                scores.reciprocal_ranks += 1.0 / (rank as f64 + 1.0);
            }
        }
    }
    if let Ok(dir) = std::env::var("BENCH_MISSES") {
        let path = Path::new(&dir).join(format!("{language}_misses.txt"));
        std::fs::write(&path, misses).expect("misses are written");
        eprintln!("{language}: hybrid misses written to {}", path.display());
    }
    results
}

/// Describes a query that hybrid search did not rank in the top ten: the
/// query, the start of its target and the start of the first three results.
fn describe_miss(pair: &Pair, rank: Option<usize>, hits: &[SearchHit]) -> String {
    let head = |text: &str| text.lines().take(3).collect::<Vec<_>>().join("\n     ");
    let mut out = format!(
        "query: {}\nrank: {}\ntarget: {}\n",
        pair.query,
        rank.map_or("not in 30 results".to_string(), |rank| (rank + 1)
            .to_string()),
        head(&pair.target)
    );
    for hit in hits.iter().take(3) {
        out.push_str(&format!("  hit: {}\n", head(&hit.chunk.text)));
    }
    out.push('\n');
    out
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let pair_limit: usize = std::env::var("BENCH_PAIRS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(if full { 2000 } else { 100 });
    let python_root = env_or(
        "BENCH_PYTHON_ROOT",
        "/root/.pyenv/versions/3.11.7/lib/python3.11",
    );
    let rust_root = std::env::var("BENCH_RUST_ROOT").unwrap_or_else(|_| default_rust_root());
    let scratch = tempfile::tempdir().expect("temp dir");

    println!("| language | pairs | mode | recall@1 | recall@10 | MRR |");
    println!("|---|---|---|---|---|---|");
    let corpora: [(&str, &str, &str, Splitter); 2] = [
        ("python", "py", python_root.as_str(), split_python),
        ("rust", "rs", rust_root.as_str(), split_rust),
    ];
    let languages = env_or("BENCH_LANGUAGES", "python,rust");
    for (language, extension, root, split) in corpora {
        if !languages.split(',').any(|name| name.trim() == language) {
            continue;
        }
        let files = source_files(Path::new(root), extension);
        if files.is_empty() {
            println!("| {language} | 0 | (no sources under {root}) | | | |");
            continue;
        }
        let pairs = collect_pairs(&files, pair_limit, split);
        for (mode, scores) in evaluate(language, &pairs, scratch.path()) {
            let count = scores.queries.max(1) as f64;
            println!(
                "| {language} | {} | {mode:?} | {:.3} | {:.3} | {:.3} |",
                pairs.len(),
                scores.hits_at_1 as f64 / count,
                scores.hits_at_10 as f64 / count,
                scores.reciprocal_ranks / count
            );
        }
    }
}
