//! In-memory BM25 index of one collection's keyword words.
//!
//! SQLite FTS5 computes `bm25()` for every row that matches any query word
//! before it sorts, so a query with a few common words scored tens of
//! thousands of rows: the median keyword search took 26 ms at 100,000 chunks
//! (benches/search_latency.rs on a 2-core machine). This index keeps one
//! posting list per word and adds scores into an array, which takes well
//! under a millisecond for the same queries. The words stay stored in the
//! `chunks_fts` table, from which a loaded collection builds this index.
//!
//! The ranking is the BM25 variant of FTS5's `bm25()`: a word's frequency in a
//! chunk is the weighted sum of its counts per column, and the chunk length
//! is its word count over all columns. The saturation and length constants
//! differ (see [`K1`] and [`B`]), and query words can carry weights.

use std::collections::{HashMap, HashSet};

use super::search::KeywordTokens;

/// BM25 term-frequency saturation. FTS5 uses 1.2. On the retrieval benchmark
/// (benches/retrieval.rs), 2.0 raised keyword recall@10 by 0.001 on Python
/// and 0.014 on Rust, and 3.0 added little more. A function that repeats a
/// query word is more likely the one the query describes.
const K1: f32 = 2.0;
/// BM25 length normalisation. FTS5 uses 0.75. On the retrieval benchmark,
/// full normalisation (1.0) raised hybrid recall@10 by 0.003 on both Python
/// and Rust, and 0.5 lowered it, probably because a long chunk contains
/// query words by chance.
const B: f32 = 1.0;
/// Weight of a word in the file name or symbol relative to one in the chunk
/// text. Names are short and chosen on purpose, so each word carries more
/// meaning.
pub const NAME_WEIGHT: f32 = 6.0;
/// Smallest inverse document frequency. Words in more than half the chunks
/// get this instead of a negative value, as in FTS5.
const MIN_IDF: f32 = 1e-6;

/// One chunk in one word's posting list.
#[derive(Debug, Clone, Copy)]
struct Posting {
    /// Index into [`KeywordIndex::docs`].
    slot: u32,
    /// Occurrences of the word, name occurrences weighted by [`NAME_WEIGHT`].
    frequency: f32,
}

#[derive(Debug)]
struct Doc {
    point_id: usize,
    /// Words in all columns.
    length: u32,
    /// Ids of the distinct words of the chunk.
    words: Box<[u32]>,
}

/// Posting lists of the live chunks of one collection.
#[derive(Debug)]
pub struct KeywordIndex {
    /// BM25 saturation constant, [`K1`] except in tests.
    k1: f32,
    /// BM25 length normalisation, [`B`] except in tests.
    b: f32,
    word_ids: HashMap<Box<str>, u32>,
    postings: Vec<Vec<Posting>>,
    /// Chunks by slot. `None` marks a free slot.
    docs: Vec<Option<Doc>>,
    free_slots: Vec<u32>,
    slots: HashMap<usize, u32>,
    total_length: u64,
}

impl Default for KeywordIndex {
    fn default() -> Self {
        Self {
            k1: K1,
            b: B,
            word_ids: HashMap::new(),
            postings: Vec::new(),
            docs: Vec::new(),
            free_slots: Vec::new(),
            slots: HashMap::new(),
            total_length: 0,
        }
    }
}

impl KeywordIndex {
    /// Returns the number of chunks in the index.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Adds a chunk, replacing any earlier entry with the same point id.
    pub fn insert(&mut self, point_id: usize, tokens: &KeywordTokens) {
        if self.slots.contains_key(&point_id) {
            self.remove(&[point_id]);
        }
        let mut frequencies: HashMap<u32, f32> = HashMap::new();
        let mut length = 0u32;
        for (column, weight) in [(&tokens.name, NAME_WEIGHT), (&tokens.body, 1.0)] {
            for word in column.split_whitespace() {
                length += 1;
                let id = self.word_id(word);
                *frequencies.entry(id).or_default() += weight;
            }
        }
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None => {
                self.docs.push(None);
                u32::try_from(self.docs.len() - 1).expect("fewer than 2^32 chunks per collection")
            }
        };
        let mut words: Vec<u32> = Vec::with_capacity(frequencies.len());
        for (id, frequency) in frequencies {
            self.postings[id as usize].push(Posting { slot, frequency });
            words.push(id);
        }
        self.docs[slot as usize] = Some(Doc {
            point_id,
            length,
            words: words.into_boxed_slice(),
        });
        self.slots.insert(point_id, slot);
        self.total_length += u64::from(length);
    }

    /// Removes the chunks with these point ids; unknown ids are ignored.
    pub fn remove(&mut self, point_ids: &[usize]) {
        let mut removed_slots = HashSet::new();
        let mut affected_words = HashSet::new();
        for point_id in point_ids {
            let Some(slot) = self.slots.remove(point_id) else {
                continue;
            };
            let doc = self.docs[slot as usize]
                .take()
                .expect("slot map is in step");
            self.total_length -= u64::from(doc.length);
            affected_words.extend(doc.words.iter().copied());
            removed_slots.insert(slot);
        }
        // Each posting list is scanned once, however many chunks left it.
        for word in affected_words {
            self.postings[word as usize].retain(|posting| !removed_slots.contains(&posting.slot));
        }
        self.free_slots.extend(removed_slots);
    }

    /// Returns up to `limit` `(point id, BM25 score)` pairs for chunks that
    /// contain any of `words` and pass `is_allowed`, best first. Equal scores
    /// are ordered by point id.
    pub fn search(
        &self,
        words: &[(String, f32)],
        limit: usize,
        is_allowed: &dyn Fn(usize) -> bool,
    ) -> Vec<(usize, f32)> {
        if limit == 0 || self.is_empty() {
            return Vec::new();
        }
        let count = self.len() as f32;
        let average_length = (self.total_length as f32 / count).max(1.0);
        let mut scores = vec![0.0f32; self.docs.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut seen = HashSet::new();
        for (word, weight) in words {
            let Some(&id) = self.word_ids.get(word.as_str()) else {
                continue;
            };
            if !seen.insert(id) {
                continue;
            }
            let postings = &self.postings[id as usize];
            let hits = postings.len() as f32;
            let idf = (((count - hits + 0.5) / (hits + 0.5)).ln()).max(MIN_IDF);
            for posting in postings {
                let doc = self.docs[posting.slot as usize]
                    .as_ref()
                    .expect("postings point at live slots");
                let norm = self.k1 * (1.0 - self.b + self.b * doc.length as f32 / average_length);
                let score = &mut scores[posting.slot as usize];
                if *score == 0.0 {
                    touched.push(posting.slot);
                }
                *score +=
                    weight * idf * posting.frequency * (self.k1 + 1.0) / (posting.frequency + norm);
            }
        }
        let mut ranked: Vec<(usize, f32)> = touched
            .into_iter()
            .filter_map(|slot| {
                let doc = self.docs[slot as usize].as_ref()?;
                is_allowed(doc.point_id).then_some((doc.point_id, scores[slot as usize]))
            })
            .collect();
        let by_rank = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if ranked.len() > limit {
            ranked.select_nth_unstable_by(limit - 1, by_rank);
            ranked.truncate(limit);
        }
        ranked.sort_by(by_rank);
        ranked
    }

    fn word_id(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.word_ids.get(word) {
            return id;
        }
        let id = u32::try_from(self.postings.len()).expect("fewer than 2^32 distinct words");
        self.postings.push(Vec::new());
        self.word_ids.insert(word.into(), id);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(name: &str, body: &str) -> KeywordTokens {
        KeywordTokens {
            name: name.to_string(),
            body: body.to_string(),
        }
    }

    fn words(text: &str) -> Vec<(String, f32)> {
        text.split_whitespace()
            .map(|word| (word.to_string(), 1.0))
            .collect()
    }

    fn sample() -> KeywordIndex {
        let mut index = KeywordIndex::default();
        index.insert(1, &tokens("pars config", "pars config file read"));
        index.insert(2, &tokens("render button", "draw rect color button"));
        index.insert(3, &tokens("load", "read file config path"));
        index.insert(4, &tokens("other", "noth relev here"));
        index
    }

    #[test]
    fn search_ranks_name_matches_first() {
        let hits = sample().search(&words("config"), 10, &|_| true);
        let ids: Vec<usize> = hits.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [1, 3]);
        assert!(hits[0].1 > hits[1].1);
    }

    #[test]
    fn search_respects_limit_and_filter() {
        let index = sample();
        assert_eq!(
            index.search(&words("read file config"), 1, &|_| true).len(),
            1
        );
        let hits = index.search(&words("read file config"), 10, &|id| id != 1);
        assert_eq!(hits.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [3]);
        assert!(index.search(&words("missing"), 10, &|_| true).is_empty());
        assert!(index.search(&words("config"), 0, &|_| true).is_empty());
    }

    #[test]
    fn remove_drops_postings_and_reuses_slots() {
        let mut index = sample();
        index.remove(&[1, 99]);
        assert_eq!(index.len(), 3);
        let hits = index.search(&words("config"), 10, &|_| true);
        assert_eq!(hits.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [3]);
        index.insert(5, &tokens("config", "config"));
        assert_eq!(index.docs.len(), 4, "the freed slot is reused");
        let hits = index.search(&words("config"), 10, &|_| true);
        assert_eq!(hits[0].0, 5);
    }

    #[test]
    fn insert_replaces_same_point() {
        let mut index = sample();
        index.insert(2, &tokens("config", ""));
        assert_eq!(index.len(), 4);
        assert!(index.search(&words("button"), 10, &|_| true).is_empty());
    }

    /// Scores agree with FTS5's `bm25()` on the same rows and weights when
    /// the constants are FTS5's 1.2 and 0.75.
    #[test]
    fn scores_match_fts5_bm25() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE VIRTUAL TABLE t USING fts5(name, body)")
            .unwrap();
        let rows = [
            ("pars config", "pars config file read pars"),
            ("render button", "draw rect color button"),
            ("load", "read file config path"),
            ("other", "noth relev here at all"),
        ];
        let mut index = KeywordIndex {
            k1: 1.2,
            b: 0.75,
            ..KeywordIndex::default()
        };
        for (n, (name, body)) in rows.iter().enumerate() {
            conn.execute(
                "INSERT INTO t (rowid, name, body) VALUES (?1, ?2, ?3)",
                rusqlite::params![n as i64 + 1, name, body],
            )
            .unwrap();
            index.insert(n + 1, &tokens(name, body));
        }
        let sql = format!(
            "SELECT rowid, -bm25(t, {NAME_WEIGHT}, 1.0) FROM t
             WHERE t MATCH 'pars OR read OR config' ORDER BY rowid"
        );
        let mut statement = conn.prepare(&sql).unwrap();
        let expected: Vec<(usize, f64)> = statement
            .query_map([], |row| Ok((row.get::<_, i64>(0)? as usize, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut actual = index.search(&words("pars read config"), 10, &|_| true);
        actual.sort_by_key(|(id, _)| *id);
        assert_eq!(actual.len(), expected.len());
        for ((id, score), (expected_id, expected_score)) in actual.iter().zip(&expected) {
            assert_eq!(id, expected_id);
            assert!(
                (f64::from(*score) - expected_score).abs() < 1e-4,
                "chunk {id}: {score} != {expected_score}"
            );
        }
    }
}
