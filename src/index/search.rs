//! Search requests: semantic (HNSW), keyword (SQLite FTS5 with BM25 over
//! identifier-split words) and hybrid, which fuses the two rankings by
//! reciprocal rank.

use std::collections::HashMap;

use rusqlite::{Connection, Transaction, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::embed::hashing::split_identifiers;

/// Ranking a search uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    /// Keyword and semantic results fused by reciprocal rank.
    #[default]
    Hybrid,
    /// Nearest vectors only.
    Semantic,
    /// BM25 over identifier-split words only.
    Keyword,
}

/// Restrictions on which chunks a search may return.
#[derive(Debug, Clone, Default)]
pub struct SearchFilters {
    /// Language name, e.g. `python`.
    pub language: Option<String>,
    /// Chunk kind, e.g. `function`.
    pub kind: Option<String>,
    /// The chunk's path must start with this.
    pub path_prefix: Option<String>,
    /// The chunk's path must match this SQLite GLOB pattern, e.g. `*/src/*.rs`.
    pub path_glob: Option<String>,
}

impl SearchFilters {
    pub fn is_empty(&self) -> bool {
        self.language.is_none()
            && self.kind.is_none()
            && self.path_prefix.is_none()
            && self.path_glob.is_none()
    }
}

/// One search.
#[derive(Debug, Clone)]
pub struct SearchRequest<'a> {
    /// The query's embedding (used by semantic and hybrid modes).
    pub vector: &'a [f32],
    /// The query text (used by keyword and hybrid modes).
    pub text: &'a str,
    pub mode: SearchMode,
    pub limit: usize,
    pub filters: SearchFilters,
}

/// Constant of reciprocal rank fusion: a result at rank r (from 1) adds
/// 1 / (RRF_K + r). 60 is the value from the original RRF paper (Cormack,
/// Clarke and Büttcher, SIGIR 2009) and the common default.
const RRF_K: f64 = 60.0;

/// Fuses ranked lists of point ids by reciprocal rank. Returns `(id, score)`
/// best first; ties keep the order of first appearance.
pub fn reciprocal_rank_fusion(rankings: &[Vec<usize>], limit: usize) -> Vec<(usize, f32)> {
    let mut scores: HashMap<usize, (f64, usize)> = HashMap::new();
    let mut order = 0;
    for ranking in rankings {
        for (rank, id) in ranking.iter().enumerate() {
            let entry = scores.entry(*id).or_insert_with(|| {
                order += 1;
                (0.0, order)
            });
            entry.0 += 1.0 / (RRF_K + rank as f64 + 1.0);
        }
    }
    let mut fused: Vec<(usize, f64, usize)> = scores
        .into_iter()
        .map(|(id, (score, first))| (id, score, first))
        .collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    fused
        .into_iter()
        .take(limit)
        .map(|(id, score, _)| (id, score as f32))
        .collect()
}

/// Words of a chunk stored in the keyword index: its file name, symbol and text,
/// split at identifier boundaries and lowercased.
pub fn keyword_tokens(path: &str, symbol: Option<&str>, text: &str) -> String {
    let file_name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let mut words = split_identifiers(file_name);
    if let Some(symbol) = symbol {
        words.extend(split_identifiers(symbol));
    }
    words.extend(split_identifiers(text));
    words.join(" ")
}

/// Builds an FTS5 query that matches any of the query's words, or `None` if
/// the query has no searchable word. Each word is quoted, so FTS5 syntax in
/// the query has no effect.
pub fn keyword_query(text: &str) -> Option<String> {
    let mut words = split_identifiers(text);
    words.sort();
    words.dedup();
    if words.is_empty() {
        return None;
    }
    Some(
        words
            .iter()
            .map(|word| format!("\"{}\"", word.replace('"', "")))
            .collect::<Vec<_>>()
            .join(" OR "),
    )
}

/// Adds the keyword row of a chunk just inserted with `chunk_rowid`.
pub fn index_chunk(tx: &Transaction, chunk_rowid: i64, tokens: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO chunks_fts (rowid, tokens) VALUES (?1, ?2)")?
        .execute(params![chunk_rowid, tokens])?;
    Ok(())
}

/// Adds keyword rows for the collection's chunks that have none, e.g. chunks
/// stored before the keyword index existed. Returns how many were added.
pub fn backfill(tx: &Transaction, collection: &str) -> rusqlite::Result<usize> {
    let missing: Vec<(i64, String, Option<String>, String)> = {
        let mut statement = tx.prepare(
            "SELECT rowid, path, symbol, text FROM chunks
             WHERE collection = ?1 AND rowid NOT IN (SELECT rowid FROM chunks_fts)",
        )?;
        statement
            .query_map([collection], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?
    };
    for (rowid, path, symbol, text) in &missing {
        index_chunk(tx, *rowid, &keyword_tokens(path, symbol.as_deref(), text))?;
    }
    Ok(missing.len())
}

/// SQL condition (on table alias `c`) and its parameters for `filters`,
/// numbered from `first_param`.
fn filter_sql(filters: &SearchFilters, first_param: usize) -> (String, Vec<String>) {
    let mut clauses = String::new();
    let mut values = Vec::new();
    let mut add = |clause: &str, value: &Option<String>| {
        if let Some(value) = value {
            values.push(value.clone());
            clauses.push_str(&format!(
                " AND {clause} ?{}",
                first_param + values.len() - 1
            ));
        }
    };
    add("c.language =", &filters.language);
    add("c.kind =", &filters.kind);
    add("c.path GLOB", &filters.path_glob);
    if let Some(prefix) = &filters.path_prefix {
        values.push(prefix.clone());
        let n = first_param + values.len() - 1;
        clauses.push_str(&format!(" AND substr(c.path, 1, length(?{n})) = ?{n}"));
    }
    (clauses, values)
}

/// Returns up to `limit` `(point id, score)` pairs ranked by BM25, best first.
/// The score is the negated BM25 value, so higher is better.
pub fn keyword_search(
    conn: &Connection,
    collection: &str,
    query: &str,
    filters: &SearchFilters,
    limit: usize,
) -> rusqlite::Result<Vec<(usize, f32)>> {
    let (clauses, values) = filter_sql(filters, 4);
    let sql = format!(
        "SELECT c.point_id, bm25(chunks_fts) AS rank
         FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid
         WHERE chunks_fts MATCH ?1 AND c.collection = ?2{clauses}
         ORDER BY rank LIMIT ?3"
    );
    let mut statement = conn.prepare(&sql)?;
    let mut parameters: Vec<&dyn rusqlite::ToSql> = vec![&query, &collection];
    let limit = limit as i64;
    parameters.push(&limit);
    for value in &values {
        parameters.push(value);
    }
    statement
        .query_map(parameters.as_slice(), |row| {
            Ok((
                row.get::<_, i64>(0)? as usize,
                -row.get::<_, f64>(1)? as f32,
            ))
        })?
        .collect()
}

/// Returns the point ids of the collection's chunks that pass `filters`.
pub fn filtered_ids(
    conn: &Connection,
    collection: &str,
    filters: &SearchFilters,
) -> rusqlite::Result<Vec<usize>> {
    let (clauses, values) = filter_sql(filters, 2);
    let sql = format!("SELECT c.point_id FROM chunks c WHERE c.collection = ?1{clauses}");
    let mut statement = conn.prepare(&sql)?;
    let mut parameters: Vec<&dyn rusqlite::ToSql> = vec![&collection];
    for value in &values {
        parameters.push(value);
    }
    statement
        .query_map(parameters.as_slice(), |row| {
            row.get::<_, i64>(0).map(|id| id as usize)
        })?
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_rewards_agreement() {
        let fused = reciprocal_rank_fusion(&[vec![1, 2, 3], vec![3, 4, 1]], 10);
        let ids: Vec<usize> = fused.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids[..2], [1, 3]);
        assert_eq!(ids.len(), 4);
        assert!(fused[0].1 > fused[2].1);
    }

    #[test]
    fn fusion_respects_limit() {
        assert_eq!(reciprocal_rank_fusion(&[vec![1, 2, 3]], 2).len(), 2);
        assert!(reciprocal_rank_fusion(&[], 5).is_empty());
    }

    #[test]
    fn keyword_query_table() {
        let cases = [
            (
                "parse config file",
                Some("\"config\" OR \"file\" OR \"parse\""),
            ),
            ("parseConfig", Some("\"config\" OR \"parse\"")),
            ("the a of", None),
            ("\"drop\" OR NEAR(x)", Some("\"drop\" OR \"near\"")),
            ("🙂 ???", None),
        ];
        for (text, expected) in cases {
            assert_eq!(keyword_query(text).as_deref(), expected, "query {text:?}");
        }
    }

    #[test]
    fn keyword_tokens_include_file_and_symbol() {
        let tokens = keyword_tokens(
            "/w/src/http_client.py",
            Some("HttpClient.send"),
            "def send(self): pass",
        );
        assert!(
            tokens.starts_with("http client py http client send"),
            "{tokens}"
        );
    }
}
