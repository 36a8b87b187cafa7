//! Keyword search through `PersistentIndex`: the in-memory BM25 index must follow file
//! changes, survive a restart and be rebuilt from SQLite when its rows are missing.

use std::path::Path;

use mcp_code_index::embed::HashingEmbedder;
use mcp_code_index::index::{CodeIndex, PersistentIndex, SearchFilters, SearchMode, SearchRequest};
use mcp_code_index::store::DataDir;

mod support;
use support::Function;

const COLLECTION: &str = "keywords_code";

fn open_index(data_dir: &DataDir) -> PersistentIndex {
    support::open_index(data_dir, &HashingEmbedder::default())
}

/// Stores `functions` as the chunks of `path`, one chunk per `(symbol, text)`.
fn store_file(index: &PersistentIndex, path: &str, functions: &[(&str, &str)]) {
    let embedder = HashingEmbedder::default();
    let functions = functions
        .iter()
        .map(|(symbol, text)| Function {
            symbol: Some(symbol.to_string()),
            text: text.to_string(),
            vector: embedder.embed_one(text),
        })
        .collect();
    support::store_functions(index, COLLECTION, path, functions);
}

/// Returns the symbols of a keyword search, best first.
fn keyword_symbols(index: &PersistentIndex, query: &str, filters: SearchFilters) -> Vec<String> {
    let request = SearchRequest {
        vector: &[],
        text: query,
        mode: SearchMode::Keyword,
        limit: 10,
        filters,
    };
    index
        .search(COLLECTION, &request)
        .expect("search succeeds")
        .into_iter()
        .filter_map(|hit| hit.chunk.symbol)
        .collect()
}

fn store_sample(index: &PersistentIndex) {
    store_file(
        index,
        "/w/src/config.py",
        &[
            (
                "parse_config",
                "def parse_config(path):\n    return toml.load(path)\n",
            ),
            (
                "save_config",
                "def save_config(path, data):\n    write(path, data)\n",
            ),
        ],
    );
    store_file(
        index,
        "/w/ui/button.py",
        &[(
            "render_button",
            "def render_button(color):\n    draw_rect(color)\n",
        )],
    );
}

#[test]
fn stemmed_query_finds_identifier() {
    let dir = tempfile::tempdir().unwrap();
    let index = open_index(&DataDir::open(Some(dir.path())).unwrap());
    store_sample(&index);
    let found = keyword_symbols(&index, "Parses the configuration", SearchFilters::default());
    assert_eq!(found.first().map(String::as_str), Some("parse_config"));
    assert!(!found.contains(&"render_button".to_string()), "{found:?}");
}

#[test]
fn replaced_file_leaves_keyword_index() {
    let dir = tempfile::tempdir().unwrap();
    let index = open_index(&DataDir::open(Some(dir.path())).unwrap());
    store_sample(&index);
    store_file(
        &index,
        "/w/ui/button.py",
        &[(
            "render_label",
            "def render_label(text):\n    draw_text(text)\n",
        )],
    );
    assert!(keyword_symbols(&index, "color rect", SearchFilters::default()).is_empty());
    assert_eq!(
        keyword_symbols(&index, "label", SearchFilters::default()),
        ["render_label"]
    );
    assert_eq!(
        index.remove_file(COLLECTION, "/w/ui/button.py", 1).unwrap(),
        1
    );
    assert!(keyword_symbols(&index, "label", SearchFilters::default()).is_empty());
}

#[test]
fn keyword_filters_apply() {
    let dir = tempfile::tempdir().unwrap();
    let index = open_index(&DataDir::open(Some(dir.path())).unwrap());
    store_sample(&index);
    let filters = SearchFilters {
        path_prefix: Some("/w/ui/".to_string()),
        ..SearchFilters::default()
    };
    assert!(keyword_symbols(&index, "config", filters.clone()).is_empty());
    assert_eq!(
        keyword_symbols(&index, "render", filters),
        ["render_button"]
    );
}

#[test]
fn keyword_index_is_rebuilt_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = DataDir::open(Some(dir.path())).unwrap();
    let before = {
        let index = open_index(&data_dir);
        store_sample(&index);
        index.flush().unwrap();
        keyword_symbols(&index, "save config path", SearchFilters::default())
    };
    let after = keyword_symbols(
        &open_index(&data_dir),
        "save config path",
        SearchFilters::default(),
    );
    assert_eq!(before, after);
    assert_eq!(after.first().map(String::as_str), Some("save_config"));
}

/// A database migrated from a version before the two-column keyword table has
/// no keyword rows; loading the collection adds them again.
#[test]
fn missing_keyword_rows_are_backfilled() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = DataDir::open(Some(dir.path())).unwrap();
    {
        let index = open_index(&data_dir);
        store_sample(&index);
        index.flush().unwrap();
    }
    clear_keyword_rows(&data_dir.database_path());
    let index = open_index(&data_dir);
    assert_eq!(
        keyword_symbols(&index, "render button", SearchFilters::default()),
        ["render_button"]
    );
}

fn clear_keyword_rows(database: &Path) {
    let conn = rusqlite::Connection::open(database).unwrap();
    conn.execute("DELETE FROM chunks_fts", []).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM chunks_fts", [], |row| row.get(0))
        .unwrap();
    assert_eq!(rows, 0);
}
