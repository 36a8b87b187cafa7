//! Tests of the in-process MiniLM embedder against the real model files.
//!
//! They run only in builds with `--features minilm`, and need the directory
//! written by `scripts/fetch-minilm.sh` in `MCP_CODE_INDEX_MINILM_DIR`.
#![cfg(feature = "minilm")]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use clap::Parser;
use mcp_code_index::code::{ChunkLimits, ReadLimits};
use mcp_code_index::config::Config;
use mcp_code_index::embed::{self, Embedder, InputKind, MinilmEmbedder, minilm};
use mcp_code_index::index::{CodeIndex, PersistentIndex, SearchFilters, SearchMode, SearchRequest};
use mcp_code_index::jobs::model::Progress;
use mcp_code_index::jobs::pipeline::{PipelineContext, run_workspace_job};
use mcp_code_index::store::{DataDir, Database};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn model_dir() -> PathBuf {
    match std::env::var_os("MCP_CODE_INDEX_MINILM_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => panic!(
            "MCP_CODE_INDEX_MINILM_DIR is not set: run `scripts/fetch-minilm.sh DIR` and set \
             MCP_CODE_INDEX_MINILM_DIR=DIR to run the MiniLM tests"
        ),
    }
}

/// Returns the embedder, loaded once for all tests of this file.
fn embedder() -> &'static MinilmEmbedder {
    static EMBEDDER: OnceLock<MinilmEmbedder> = OnceLock::new();
    EMBEDDER.get_or_init(|| {
        let dir = model_dir();
        MinilmEmbedder::load(&dir)
            .unwrap_or_else(|error| panic!("loading MiniLM from {}: {error}", dir.display()))
    })
}

fn embed(texts: &[&str]) -> Vec<Vec<f32>> {
    embedder()
        .embed(texts, InputKind::Document)
        .expect("texts embed")
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(vector: &[f32]) -> f32 {
    cosine(vector, vector).sqrt()
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn name_and_dimension() {
    assert_eq!(embedder().name(), "minilm-l6-v2-int8-128");
    assert_eq!(embedder().dimension(), 384);
    let vectors = embed(&["fn main() {}"]);
    assert_eq!(vectors.len(), 1);
    assert_eq!(vectors[0].len(), 384);
}

#[test]
fn vectors_are_unit_length() {
    let texts = [
        "parse the configuration file",
        "",
        "   ",
        "{ } ( ) ; 1 2 3",
        "def render_button(color):\n    draw_rect(color)",
    ];
    for (text, vector) in texts.iter().zip(embed(&texts)) {
        assert!(
            vector.iter().all(|x| x.is_finite()),
            "non-finite value for {text:?}"
        );
        let length = norm(&vector);
        assert!((length - 1.0).abs() < 1e-4, "norm {length} for {text:?}");
    }
}

#[test]
fn embedding_is_deterministic() {
    let text = "class Warehouse: stores items and reserves stock";
    let first = embed(&[text]);
    let second = embed(&[text]);
    assert_eq!(first, second);
}

#[test]
fn query_and_document_embed_alike() {
    let text = "open a database connection";
    let query = embedder().embed(&[text], InputKind::Query).unwrap();
    let document = embedder().embed(&[text], InputKind::Document).unwrap();
    assert_eq!(query, document);
}

#[test]
fn related_texts_score_higher() {
    let cases = [
        (
            "parse the configuration file",
            "def load_config(path):\n    with open(path) as f:\n        return toml.load(f)",
            "def render_button(color):\n    draw_rect(color)",
        ),
        (
            "A man is playing a guitar.",
            "Someone plays an instrument.",
            "The stock market fell sharply today.",
        ),
        (
            "remove an item from the shopping cart",
            "function removeFromCart(cart, sku) { delete cart.items[sku]; }",
            "func (c Circle) Area() float64 { return math.Pi * c.R * c.R }",
        ),
    ];
    for (query, related, unrelated) in cases {
        let query_vector = embedder().embed(&[query], InputKind::Query).unwrap();
        let vectors = embed(&[related, unrelated]);
        let related_score = cosine(&query_vector[0], &vectors[0]);
        let unrelated_score = cosine(&query_vector[0], &vectors[1]);
        assert!(
            related_score > unrelated_score + 0.1,
            "{query:?}: related {related_score}, unrelated {unrelated_score}"
        );
    }
}

#[test]
fn batch_equals_one_by_one() {
    let long = "fn step(state: &mut State) { state.advance(); } ".repeat(40);
    let texts = [
        "short",
        long.as_str(),
        "def load_config(path): return toml.load(path)",
        "",
        "a medium length sentence about reading files from disk",
        "short",
    ];
    let batched = embed(&texts);
    assert_eq!(batched.len(), texts.len());
    for (text, vector) in texts.iter().zip(&batched) {
        let alone = embed(&[text]);
        let difference = max_difference(vector, &alone[0]);
        assert!(difference < 1e-4, "difference {difference} for {text:?}");
    }
    assert_eq!(batched[0], batched[5], "equal texts differ within a batch");
}

#[test]
fn token_count_includes_special_tokens() {
    assert_eq!(embedder().token_count("").unwrap(), 2);
    assert_eq!(embedder().token_count("hello world").unwrap(), 4);
}

#[test]
fn empty_input_gives_no_vectors() {
    assert!(embed(&[]).is_empty());
}

#[test]
fn long_text_is_truncated() {
    // Each repetition is well over one word piece, so 300 of them exceed the
    // limit. Whatever follows the limit must not change the vector.
    let prefix = "alpha beta gamma delta ".repeat(300);
    let longer = format!("{prefix} completely different ending about networking");
    assert_eq!(
        embedder().token_count(&prefix).unwrap(),
        minilm::MAX_SEQUENCE_LENGTH
    );
    assert_eq!(
        embedder().token_count(&longer).unwrap(),
        minilm::MAX_SEQUENCE_LENGTH
    );
    let vectors = embed(&[&prefix, &longer]);
    assert_eq!(vectors[0], vectors[1]);
}

/// The int8 model in tract against float32 reference vectors computed by
/// tests/fixtures/minilm/make_reference.py from the original weights.
#[test]
fn matches_float32_reference() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm/reference.json");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("reference is readable"))
            .expect("reference is JSON");
    let cases = reference["cases"].as_array().expect("cases list");
    assert!(!cases.is_empty());
    for case in cases {
        let text = case["text"].as_str().expect("text");
        let expected: Vec<f32> = case["vector"]
            .as_array()
            .expect("vector")
            .iter()
            .map(|x| x.as_f64().expect("number") as f32)
            .collect();
        let actual = embed(&[text]).remove(0);
        let similarity = cosine(&actual, &expected);
        assert!(
            similarity > 0.999,
            "cosine {similarity} with the reference for {text:?}"
        );
    }
}

#[test]
fn missing_dir_is_reported() {
    let dir = Path::new("/nonexistent/minilm-model");
    let error = MinilmEmbedder::load(dir).unwrap_err().to_string();
    assert!(error.contains("/nonexistent/minilm-model"), "{error}");
    assert!(error.contains("not found"), "{error}");
    assert!(error.contains("scripts/fetch-minilm.sh"), "{error}");
}

#[test]
fn missing_model_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        model_dir().join(minilm::TOKENIZER_FILE),
        dir.path().join(minilm::TOKENIZER_FILE),
    )
    .unwrap();
    let error = MinilmEmbedder::load(dir.path()).unwrap_err().to_string();
    let model_path = dir.path().join("model.onnx").display().to_string();
    assert!(error.contains(&model_path), "{error}");
    assert!(error.contains("not found"), "{error}");
    assert!(error.contains("scripts/fetch-minilm.sh"), "{error}");
}

#[test]
fn missing_tokenizer_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        model_dir().join(minilm::MODEL_FILE),
        dir.path().join(minilm::MODEL_FILE),
    )
    .unwrap();
    let error = MinilmEmbedder::load(dir.path()).unwrap_err().to_string();
    let tokenizer_path = dir.path().join("tokenizer.json").display().to_string();
    assert!(error.contains(&tokenizer_path), "{error}");
    assert!(error.contains("not found"), "{error}");
}

#[test]
fn corrupt_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(minilm::TOKENIZER_FILE), "{ not json").unwrap();
    std::fs::write(dir.path().join(minilm::MODEL_FILE), b"not a model").unwrap();
    let error = MinilmEmbedder::load(dir.path()).unwrap_err().to_string();
    assert!(error.contains("tokenizer.json"), "{error}");
    assert!(error.contains("invalid"), "{error}");

    std::fs::copy(
        model_dir().join(minilm::TOKENIZER_FILE),
        dir.path().join(minilm::TOKENIZER_FILE),
    )
    .unwrap();
    let error = MinilmEmbedder::load(dir.path()).unwrap_err().to_string();
    assert!(error.contains("model.onnx"), "{error}");
    assert!(error.contains("could not be loaded"), "{error}");
    assert!(error.contains("scripts/fetch-minilm.sh"), "{error}");
}

#[tokio::test]
async fn config_without_dir_is_rejected() {
    let config = Config::parse_from(["mcp-code-index", "--embedder", "minilm"]);
    let config = Config {
        minilm_dir: None,
        ..config
    };
    let error = embed::from_config(&config).await.err().expect("an error");
    assert!(error.contains("MCP_CODE_INDEX_MINILM_DIR"), "{error}");
}

#[tokio::test]
async fn config_with_other_dimension_is_rejected() {
    let dir = model_dir();
    let config = Config::parse_from([
        "mcp-code-index",
        "--embedder",
        "minilm",
        "--embedding-dimension",
        "768",
        "--minilm-dir",
        dir.to_str().unwrap(),
    ]);
    let error = embed::from_config(&config).await.err().expect("an error");
    assert!(error.contains("384"), "{error}");
}

/// `--embedder minilm` end to end: configuration, workspace indexing through
/// the job pipeline, and searches in every mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_indexes_and_searches() {
    let dir = model_dir();
    let config = Config::parse_from([
        "mcp-code-index",
        "--embedder",
        "minilm",
        "--minilm-dir",
        dir.to_str().unwrap(),
    ]);
    let embedder = embed::from_config(&config).await.expect("embedder loads");
    assert_eq!(embedder.name(), "minilm-l6-v2-int8-128");

    let scratch = tempfile::tempdir().unwrap();
    let data_dir = DataDir::open(Some(scratch.path())).expect("data dir opens");
    let db = Arc::new(Database::open(&data_dir.database_path()).expect("database opens"));
    let index = Arc::new(PersistentIndex::new(
        db,
        data_dir.graphs_dir(),
        embedder.name(),
        embedder.dimension(),
    ));
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/polyglot");
    let collection = "minilm_code".to_string();
    let job_index = index.clone();
    let job_embedder = embedder.clone();
    let output = tokio::task::spawn_blocking(move || {
        let on_progress = |_: &Progress| {};
        let ctx = PipelineContext {
            index: job_index,
            embedder: job_embedder,
            read_limits: ReadLimits::default(),
            chunk_limits: ChunkLimits::default(),
            collection,
            source_version: 1,
            cancel: CancellationToken::new(),
            interrupt: CancellationToken::new(),
            on_progress: &on_progress,
        };
        let metadata = json!({"workspace_path": workspace.display().to_string()});
        run_workspace_job(&ctx, metadata.as_object().unwrap())
    })
    .await
    .unwrap()
    .expect("workspace is indexed");
    // 13 source files and README.md; generated/ is ignored by .gitignore.
    assert_eq!(output.result.files_processed, Some(14));

    let query = "ring buffer that overwrites the oldest element";
    let vector = embedder
        .embed(&[query], InputKind::Query)
        .expect("query embeds")
        .remove(0);
    for mode in [SearchMode::Semantic, SearchMode::Hybrid] {
        let request = SearchRequest {
            vector: &vector,
            text: query,
            mode,
            limit: 3,
            filters: SearchFilters::default(),
        };
        let hits = index
            .search("minilm_code", &request)
            .expect("search succeeds");
        assert!(!hits.is_empty(), "{mode:?}: no hits");
        assert!(
            hits[0].chunk.path.ends_with("ring.c"),
            "{mode:?}: first hit is {}",
            hits[0].chunk.path
        );
    }
}
