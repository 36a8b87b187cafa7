//! Search requests: semantic (HNSW), keyword (BM25 over identifier-split,
//! stemmed words) and hybrid, which fuses the two rankings by reciprocal rank.
//!
//! The keyword words of each chunk are stored in the SQLite FTS5 table
//! `chunks_fts`, with the file name and symbol in column `name` and the chunk
//! text in column `body`. Searches rank them with the in-memory index of
//! `super::keyword`, which a loaded collection builds from that table.

use std::collections::HashMap;

use rusqlite::{Connection, Transaction, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

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
/// 1 / (RRF_K + r). The common default is 60, from the original RRF paper
/// (Cormack, Clarke and Büttcher, SIGIR 2009), which fused many rankings of
/// similar quality. A small constant gives the top ranks of each list more
/// weight: on the retrieval benchmark (benches/retrieval.rs), 5 raised hybrid
/// recall@10 by 0.01 to 0.03 over 60 on both languages, and 2 was no better.
const RRF_K: f64 = 5.0;

/// Weight of a query word quoted in backticks.
const QUOTED_WEIGHT: f32 = 2.0;

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

/// Returns the parts of a query that is one identifier, in Unicode NFKC
/// form: `shutil.rmtree`, `Regex::new`, `` `parse_config` `` and
/// `splitIdentifiers()`. Returns `None` for any other query.
pub fn identifier_query(text: &str) -> Option<Vec<String>> {
    let text: String = text.nfkc().collect();
    let text = text.trim().trim_matches('`').trim();
    let text = text.strip_suffix("()").unwrap_or(text);
    let parts: Vec<&str> = text.split("::").flat_map(|part| part.split('.')).collect();
    let is_identifier = |part: &&str| {
        part.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    if parts.iter().all(is_identifier) {
        Some(parts.iter().map(|part| part.to_string()).collect())
    } else {
        None
    }
}

/// Returns `name` in NFKC form, lowercased and without underscores, so that
/// `url_parse`, `urlparse` and `UrlParse` compare equal.
pub fn name_key(name: &str) -> String {
    name.nfkc()
        .filter(|&c| c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Returns the last part of a qualified symbol: `new` for `Regex.new` and
/// `Regex::new`.
fn last_part(symbol: &str) -> &str {
    let after_dot = symbol.rsplit('.').next().unwrap_or(symbol);
    after_dot.rsplit("::").next().unwrap_or(after_dot)
}

/// Returns the key under which a chunk named `symbol` is found by identifier
/// queries: the [`name_key`] of its last part.
pub fn symbol_key(symbol: &str) -> String {
    name_key(last_part(symbol))
}

/// Rates how well a chunk's `symbol` and `path` match an identifier query's
/// `parts`. Returns `None` unless the last parts have the same [`name_key`].
/// Each distinct other query part found among the symbol's parts or the
/// path's directory and file names adds two, and the same spelling of the last
/// part (`rmtree`, not `_rmtree`) adds one.
pub fn name_match(parts: &[String], symbol: &str, path: &str) -> Option<usize> {
    let (last, qualifiers) = parts.split_last()?;
    if symbol_key(symbol) != name_key(last) {
        return None;
    }
    let symbol_parts: Vec<String> = symbol
        .split("::")
        .flat_map(|part| part.split('.'))
        .map(name_key)
        .collect();
    let path_parts: Vec<String> = path
        .split(['/', '\\'])
        .map(|part| name_key(part.split('.').next().unwrap_or(part)))
        .collect();
    let mut qualifier_keys: Vec<String> = qualifiers.iter().map(|part| name_key(part)).collect();
    qualifier_keys.sort();
    qualifier_keys.dedup();
    let found = qualifier_keys
        .iter()
        .filter(|key| symbol_parts.contains(key) || path_parts.contains(key))
        .count();
    let same_spelling = last_part(symbol).nfkc().eq(last.chars());
    Some(2 * found + usize::from(same_spelling))
}

/// Moves the chunks in `matches` (id and [`name_match`] rating) to the top of
/// `scored`, best rating first. Their scores are raised rather than replaced,
/// so scores still fall down the list. Ties keep the order of `scored`, then
/// go by point id.
pub fn put_name_matches_first(
    scored: Vec<(usize, f32)>,
    matches: &[(usize, usize)],
) -> Vec<(usize, f32)> {
    if matches.is_empty() {
        return scored;
    }
    let top = scored
        .first()
        .map_or(1.0, |(_, score)| score.abs().max(f32::EPSILON));
    let mut boosted: HashMap<usize, f32> = scored.iter().copied().collect();
    for &(id, rating) in matches {
        let own = boosted.get(&id).copied().unwrap_or(0.0);
        boosted.insert(id, own + top * (2.0 + rating as f32));
    }
    let mut list: Vec<(usize, f32)> = boosted.into_iter().collect();
    let order: HashMap<usize, usize> = scored
        .iter()
        .enumerate()
        .map(|(rank, (id, _))| (*id, rank))
        .collect();
    list.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then(
                order
                    .get(&a.0)
                    .unwrap_or(&usize::MAX)
                    .cmp(order.get(&b.0).unwrap_or(&usize::MAX)),
            )
            .then(a.0.cmp(&b.0))
    });
    list
}

/// Words of a chunk stored in the keyword index, as
/// [`split_identifiers`] returns them and joined by spaces: `name` contains the
/// words of the file name and symbol, `body` those of the chunk text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordTokens {
    pub name: String,
    pub body: String,
}

/// Returns the keyword-index words of a chunk.
pub fn keyword_tokens(path: &str, symbol: Option<&str>, text: &str) -> KeywordTokens {
    let file_name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let mut name = split_identifiers(file_name);
    if let Some(symbol) = symbol {
        name.extend(split_identifiers(symbol));
    }
    KeywordTokens {
        name: name.join(" "),
        body: split_identifiers(text).join(" "),
    }
}

/// Returns the keyword-index words of a query with their weights, in the
/// order they first occur. Words inside backticks, as documentation quotes
/// identifiers (`` `offset` ``), count twice.
pub fn keyword_words(text: &str) -> Vec<(String, f32)> {
    let mut words: Vec<(String, f32)> = Vec::new();
    let mut positions: HashMap<String, usize> = HashMap::new();
    let mut add = |span: &str, weight: f32| {
        for word in split_identifiers(span) {
            match positions.get(&word) {
                Some(&at) => words[at].1 = words[at].1.max(weight),
                None => {
                    positions.insert(word.clone(), words.len());
                    words.push((word, weight));
                }
            }
        }
    };
    // An odd span lies between two backticks unless it is the last one and
    // its backtick is never closed.
    let backticks = text.matches('`').count();
    for (n, span) in text.split('`').enumerate() {
        let quoted = n % 2 == 1 && n < backticks;
        add(span, if quoted { QUOTED_WEIGHT } else { 1.0 });
    }
    words
}

/// Adds the keyword row of a chunk just inserted with `chunk_rowid`.
pub fn index_chunk(
    tx: &Transaction,
    chunk_rowid: i64,
    tokens: &KeywordTokens,
) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO chunks_fts (rowid, name, body) VALUES (?1, ?2, ?3)")?
        .execute(params![chunk_rowid, tokens.name, tokens.body])?;
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
    fn identifier_query_table() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            ("rmtree", Some(&["rmtree"])),
            ("shutil.rmtree", Some(&["shutil", "rmtree"])),
            ("Regex::new", Some(&["Regex", "new"])),
            ("`parse_config`", Some(&["parse_config"])),
            ("splitIdentifiers()", Some(&["splitIdentifiers"])),
            ("  _private  ", Some(&["_private"])),
            ("ｒｍｔｒｅｅ", Some(&["rmtree"])),
            ("open a file", None),
            ("2fast", None),
            ("a..b", None),
            ("", None),
            ("``", None),
        ];
        for (query, expected) in cases {
            let expected = expected.map(|parts| parts.iter().map(|p| p.to_string()).collect());
            assert_eq!(identifier_query(query), expected, "query {query:?}");
        }
    }

    #[test]
    fn name_match_table() {
        let parts = |query: &str| identifier_query(query).expect("identifier");
        let cases = [
            ("loads", "loads", "/lib/json/__init__.py", Some(1)),
            ("json.loads", "loads", "/lib/json/__init__.py", Some(3)),
            ("json.loads", "loads", "/lib/pickle.py", Some(1)),
            ("shutil.rmtree", "rmtree", "/lib/shutil.py", Some(3)),
            ("shutil.shutil.rmtree", "rmtree", "/lib/shutil.py", Some(3)),
            ("rmtree", "_rmtree", "/lib/tempfile.py", Some(0)),
            ("Regex::new", "Regex.new", "/src/regex.rs", Some(3)),
            ("url_parse", "urlparse", "/lib/urllib/parse.py", Some(0)),
            ("setUp", "setup", "/lib/distutils/core.py", Some(0)),
            (
                "SPLITIDENTIFIERS",
                "split_identifiers",
                "/src/hashing.rs",
                Some(0),
            ),
            ("ｒｍｔｒｅｅ", "rmtree", "/lib/shutil.py", Some(1)),
            ("loads", "load", "/lib/json/__init__.py", None),
            ("new", "Regex.new.inner", "/src/regex.rs", None),
        ];
        for (query, symbol, path, expected) in cases {
            assert_eq!(
                name_match(&parts(query), symbol, path),
                expected,
                "query {query:?}, symbol {symbol:?}"
            );
        }
    }

    #[test]
    fn symbol_key_takes_last_part() {
        assert_eq!(symbol_key("Regex.new"), "new");
        assert_eq!(symbol_key("Regex::new"), "new");
        assert_eq!(symbol_key("split_identifiers"), "splitidentifiers");
        assert_eq!(symbol_key("ＦｕｌｌＷｉｄｔｈ"), "fullwidth");
    }

    #[test]
    fn name_matches_move_to_top() {
        let scored = vec![(1, 9.0), (2, 8.0), (3, 7.0), (4, 6.0)];
        let boosted = put_name_matches_first(scored, &[(3, 0), (5, 0), (4, 1)]);
        let ids: Vec<usize> = boosted.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [4, 3, 5, 1, 2]);
        let scores: Vec<f32> = boosted.iter().map(|(_, score)| *score).collect();
        assert!(
            scores.windows(2).all(|pair| pair[0] >= pair[1]),
            "scores {scores:?}"
        );
    }

    #[test]
    fn no_name_matches_keep_order() {
        let scored = vec![(1, 0.5), (2, 0.25)];
        assert_eq!(put_name_matches_first(scored.clone(), &[]), scored);
    }

    #[test]
    fn keyword_words_table() {
        let cases: [(&str, &[&str]); 5] = [
            ("parse config file", &["pars", "configur", "file"]),
            ("parseConfig configuration", &["pars", "configur"]),
            ("the a of", &[]),
            ("\"drop\" OR NEAR(x)", &["drop", "near"]),
            ("🙂 ???", &[]),
        ];
        for (text, expected) in cases {
            let words: Vec<String> = keyword_words(text)
                .into_iter()
                .map(|(word, _)| word)
                .collect();
            assert_eq!(words, expected, "query {text:?}");
        }
    }

    #[test]
    fn quoted_query_words_weigh_more() {
        let words = keyword_words("Sets the `offset` of the map, not `length");
        let expected = [
            ("set".to_string(), 1.0),
            ("offset".to_string(), QUOTED_WEIGHT),
            ("map".to_string(), 1.0),
            ("length".to_string(), 1.0),
        ];
        assert_eq!(words, expected, "an unclosed backtick quotes nothing");
        let repeated = keyword_words("offset `offset`");
        assert_eq!(repeated, [("offset".to_string(), QUOTED_WEIGHT)]);
    }

    #[test]
    fn keyword_tokens_include_file_and_symbol() {
        let tokens = keyword_tokens(
            "/w/src/http_client.py",
            Some("HttpClient.send"),
            "def send(self): pass",
        );
        assert_eq!(tokens.name, "http client py http client send");
        assert!(tokens.body.contains("send"), "{tokens:?}");
    }
}
