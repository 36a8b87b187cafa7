//! Benchmarks of durable state: server start-up with a large stored index and
//! a workspace re-index in which nothing changed.
//!
//! Run with `cargo bench --bench durable`; it prints a Markdown table for
//! docs/BENCHMARKS.md. `BENCH_CHUNKS` (default 100000) and `BENCH_FILES`
//! (default 1000) set the sizes. Under `cargo test` it runs with small sizes.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_code_index::embed::HashingEmbedder;
use mcp_code_index::index::{CodeIndex, PersistentIndex};
use mcp_code_index::jobs::model::Progress;
use mcp_code_index::jobs::pipeline::{PipelineContext, run_workspace_job};
use mcp_code_index::store::DataDir;
use serde_json::json;
use tokio_util::sync::CancellationToken;

#[path = "../tests/support/mod.rs"]
mod support;
use support::Function;

const CHUNKS_PER_FILE: usize = 10;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn open_index(data_dir: &DataDir, embedder: &HashingEmbedder) -> Arc<PersistentIndex> {
    Arc::new(support::open_index(data_dir, embedder))
}

/// Stores `chunks` synthetic chunks in collection `bench_code` and saves the graph.
fn populate(root: &Path, chunks: usize) -> Duration {
    let started = Instant::now();
    let data_dir = DataDir::open(Some(root)).expect("data dir opens");
    let embedder = HashingEmbedder::default();
    let index = open_index(&data_dir, &embedder);
    for file in 0..chunks.div_ceil(CHUNKS_PER_FILE) {
        let functions = (0..CHUNKS_PER_FILE)
            .map(|n| {
                let text = format!("def handler_{file}_{n}(request, user_id):\n    return load_record_{n}(user_id)\n");
                Function {
                    symbol: Some(format!("handler_{file}_{n}")),
                    vector: embedder.embed_one(&text),
                    text,
                }
            })
            .collect();
        let path = format!("/bench/src/module_{file}.py");
        support::store_functions(&index, "bench_code", &path, functions);
    }
    index.flush().expect("graph is saved");
    started.elapsed()
}

/// Starts the server and returns the time until its `tools/list` response and
/// the duration of its first `search_code` call, which loads the saved graph.
fn time_start_and_first_search(binary: &Path, data_dir: &Path) -> (Duration, Duration) {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(["--data-dir", &data_dir.display().to_string()])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let messages = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    ];
    for message in messages {
        writeln!(stdin, "{message}").expect("request is written");
    }
    let mut read_until = |id: &str| {
        let mut line = String::new();
        loop {
            line.clear();
            if stdout.read_line(&mut line).expect("response is read") == 0 {
                panic!("server closed stdout before responding to request {id}");
            }
            if line.contains(&format!("\"id\":{id}")) {
                return;
            }
        }
    };
    read_until("2");
    let startup = started.elapsed();

    let search = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": "search_code", "arguments": {"user_id": "bench", "query": "load record handler"}}});
    let search_started = Instant::now();
    writeln!(stdin, "{search}").expect("request is written");
    read_until("3");
    let first_search = search_started.elapsed();
    drop(stdin);
    let _ = child.wait();
    (startup, first_search)
}

/// Writes `files` small Python files under `root`.
fn write_tree(root: &Path, files: usize) {
    for file in 0..files {
        let dir = root.join(format!("pkg_{}", file / 100));
        std::fs::create_dir_all(&dir).expect("directory is created");
        let body: String = (0..5)
            .map(|n| format!("def compute_{file}_{n}(value):\n    if value > {n}:\n        return value * {n}\n    return value\n\n"))
            .collect();
        std::fs::write(dir.join(format!("module_{file}.py")), body).expect("file is written");
    }
}

/// Runs a workspace job over `tree` and returns its wall time and progress.
fn index_tree(data_dir: &DataDir, tree: &Path) -> (Duration, Progress) {
    let embedder = Arc::new(HashingEmbedder::default());
    let index = open_index(data_dir, &embedder);
    let last = std::sync::Mutex::new(Progress::default());
    let on_progress = |progress: &Progress| *last.lock().unwrap() = progress.clone();
    let ctx = PipelineContext {
        index,
        embedder,
        read_limits: Default::default(),
        chunk_limits: Default::default(),
        collection: "tree_code".to_string(),
        source_version: 0,
        cancel: CancellationToken::new(),
        interrupt: CancellationToken::new(),
        on_progress: &on_progress,
    };
    let metadata = json!({"workspace_path": tree.display().to_string()});
    let started = Instant::now();
    run_workspace_job(&ctx, metadata.as_object().unwrap()).expect("workspace job succeeds");
    let elapsed = started.elapsed();
    (elapsed, last.into_inner().unwrap())
}

fn main() {
    // `cargo bench` passes --bench. Without it (`cargo test --all-targets`),
    // a small run checks that the benchmark still works.
    let full = std::env::args().any(|arg| arg == "--bench");
    let chunks = env_usize("BENCH_CHUNKS", if full { 100_000 } else { 200 });
    let files = env_usize("BENCH_FILES", if full { 1_000 } else { 20 });
    let binary = Path::new(env!("CARGO_BIN_EXE_mcp-code-index"));
    let scratch = tempfile::tempdir().expect("temp dir");

    let store_dir = scratch.path().join("store");
    let populate_time = populate(&store_dir, chunks);
    let runs: Vec<(Duration, Duration)> = (0..5)
        .map(|_| time_start_and_first_search(binary, &store_dir))
        .collect();
    let median = |mut values: Vec<Duration>| {
        values.sort();
        values[values.len() / 2]
    };
    let startup = median(runs.iter().map(|run| run.0).collect());
    let first_search = median(runs.iter().map(|run| run.1).collect());

    let tree = scratch.path().join("tree");
    write_tree(&tree, files);
    let tree_data = DataDir::open(Some(&scratch.path().join("tree_data"))).expect("data dir opens");
    let (first, first_progress) = index_tree(&tree_data, &tree);
    let (again, again_progress) = index_tree(&tree_data, &tree);
    assert_eq!(
        again_progress.files_unchanged, files,
        "the second run re-indexed files"
    );

    println!("| measurement | result |");
    println!("|---|---|");
    println!(
        "| store {chunks} chunks and save the graph (setup) | {:.1} s |",
        populate_time.as_secs_f64()
    );
    println!(
        "| start-up to `tools/list` answer, {chunks} chunks stored, median of 5 | {} ms |",
        startup.as_millis()
    );
    println!(
        "| first `search_code` after start (loads and checks the saved graph), median of 5 | {} ms |",
        first_search.as_millis()
    );
    println!(
        "| first index of {files} files ({} chunks) | {} ms |",
        first_progress.chunks_processed,
        first.as_millis()
    );
    println!(
        "| re-index of {files} unchanged files ({} re-embedded) | {} ms |",
        again_progress.chunks_processed,
        again.as_millis()
    );
}
