//! Identifier-aware feature hashing: a dependency-free embedder that needs no
//! model download and no network.
//!
//! Text is split into words on non-alphanumeric characters, `snake_case`,
//! `camelCase` and letter/digit boundaries, then lowercased. Short names that
//! mix letters and digits (`f64`, `sha256`) are also kept whole. Words shorter than
//! two characters, pure numbers and common stopwords are dropped, common
//! identifier abbreviations are spelled out (`dir` becomes `directory`) and
//! every word is reduced to its Snowball English stem, so that "returns the parsed
//! values" and `parse_value` share words. Each word adds weight 1.0 for itself
//! and 0.5 for each character trigram of `<word>`; in documents, words of the
//! file name and symbol lines count three times. Term frequencies are
//! square-rooted, features are hashed with FNV-1a plus a 64-bit finaliser into
//! `dimension` buckets with a sign taken from the hash's top bit, and the
//! vector is L2-normalised.

use std::borrow::Cow;
use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

use super::abbreviations;
#[cfg(doc)]
use super::chunk_embedding_text;
use super::stem::stem;
use super::{EmbedError, Embedder, InputKind};

/// Default vector length. Fewer than 512 buckets loses noticeable recall
/// because unrelated identifiers start to share buckets.
pub const DEFAULT_DIMENSION: usize = 768;

/// Smallest dimension accepted from the configuration.
pub const MIN_DIMENSION: usize = 64;

const WORD_WEIGHT: f32 = 1.0;
const TRIGRAM_WEIGHT: f32 = 0.5;
/// How many times a word of a document's file name or symbol line counts.
const NAME_WEIGHT: f32 = 3.0;

/// English words too common in prose to tell chunks apart. Words that also
/// name things in code (`get`, `set`, `is`, `as`, `from`, `into`, `with`,
/// `all`, `any`, `some`, `then`) are kept, because method names are built
/// from them and documentation repeats them.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "at", "be", "by", "for", "has", "have", "if", "in", "it", "its", "of",
    "on", "or", "that", "the", "this", "to", "was", "were", "will", "we", "you", "not", "but",
    "can", "do", "does", "so", "than", "there", "these", "those", "which", "who", "what", "when",
    "where", "how", "such", "own", "too", "very", "just", "also", "should", "would", "could",
    "may", "might", "must", "shall", "our", "your", "their", "them", "they", "he", "she", "his",
    "her", "been", "being", "had", "did", "let", "var",
];

/// Feature-hashing embedder. See the module documentation for the recipe.
#[derive(Debug, Clone)]
pub struct HashingEmbedder {
    dimension: usize,
    name: String,
}

impl HashingEmbedder {
    /// Creates an embedder with `dimension` buckets. `dimension` must be non-zero.
    pub fn new(dimension: usize) -> Self {
        assert!(dimension > 0, "embedding dimension must be non-zero");
        Self {
            dimension,
            // The prefix names the word recipe. Collections store the name, so
            // a collection embedded by an earlier recipe is known to be stale.
            name: format!("hashing3-{dimension}"),
        }
    }

    /// Embeds one text. A text without any usable word yields the zero vector.
    pub fn embed_one(&self, text: &str) -> Vec<f32> {
        self.embed_weighted(text, 1.0)
    }

    /// Embeds a chunk text laid out by [`chunk_embedding_text`]: the words of
    /// its first two lines, the file name and the symbol, count
    /// [`NAME_WEIGHT`] times. Names are chosen on purpose and say more per word
    /// than the code around them.
    pub fn embed_document(&self, text: &str) -> Vec<f32> {
        self.embed_weighted(text, NAME_WEIGHT)
    }

    fn embed_weighted(&self, text: &str, name_weight: f32) -> Vec<f32> {
        let mut counts: HashMap<String, f32> = HashMap::new();
        if name_weight != 1.0 {
            let mut lines = text.splitn(3, '\n');
            for line in [lines.next(), lines.next()].into_iter().flatten() {
                for word in split_identifiers(line) {
                    *counts.entry(word).or_default() += name_weight - 1.0;
                }
            }
        }
        for word in split_identifiers(text) {
            *counts.entry(word).or_default() += 1.0;
        }

        let mut vector = vec![0.0f32; self.dimension];
        let mut bracketed = String::new();
        for (word, count) in &counts {
            let tf = count.sqrt();
            self.add_feature(&mut vector, word.as_bytes(), WORD_WEIGHT * tf);

            bracketed.clear();
            bracketed.push('<');
            bracketed.push_str(word);
            bracketed.push('>');
            let chars: Vec<char> = bracketed.chars().collect();
            let mut trigram = String::new();
            for window in chars.windows(3) {
                trigram.clear();
                trigram.push('#');
                trigram.extend(window);
                self.add_feature(&mut vector, trigram.as_bytes(), TRIGRAM_WEIGHT * tf);
            }
        }

        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            for x in &mut vector {
                *x /= norm;
            }
        }
        vector
    }

    fn add_feature(&self, vector: &mut [f32], feature: &[u8], weight: f32) {
        let hash = finalise(fnv1a(feature));
        let bucket = (hash % self.dimension as u64) as usize;
        let sign = if hash >> 63 == 1 { -1.0 } else { 1.0 };
        vector[bucket] += sign * weight;
    }
}

impl Default for HashingEmbedder {
    fn default() -> Self {
        Self::new(DEFAULT_DIMENSION)
    }
}

impl Embedder for HashingEmbedder {
    fn name(&self) -> &str {
        &self.name
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    /// Embeds documents with [`HashingEmbedder::embed_document`] and queries
    /// with [`HashingEmbedder::embed_one`].
    fn embed(&self, texts: &[&str], kind: InputKind) -> Result<Vec<Vec<f32>>, EmbedError> {
        let embed = match kind {
            InputKind::Document => Self::embed_document,
            InputKind::Query => Self::embed_one,
        };
        Ok(texts.iter().map(|text| embed(self, text)).collect())
    }
}

/// Splits text into the words that the hashing embedder and the keyword index
/// use: lowercase identifier parts without stopwords, numbers and
/// one-character parts, with abbreviations spelled out, reduced to their
/// Snowball English stems. `parseHTTPResponse2` becomes `pars`, `http`, `respons`.
/// Short names that mix letters and digits also count whole: `utf8_decode`
/// becomes `utf8`, `utf`, `decod`. Non-ASCII text is first brought to Unicode
/// NFKC form, so fullwidth letters and decomposed accents match their usual forms.
pub fn split_identifiers(text: &str) -> Vec<String> {
    let normalized: Cow<str> = if text.is_ascii() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfkc().collect())
    };
    let mut words = Vec::new();
    for token in normalized.split(|c: char| !c.is_alphanumeric()) {
        if token.is_empty() {
            continue;
        }
        let parts = split_case(token);
        if is_short_alphanumeric_name(token) {
            words.push(token.to_lowercase());
        }
        // Letter-and-digit names inside a longer camelCase name count whole
        // too: `asF64` and `Utf8Error` give `f64` and `utf8`.
        for pair in parts.windows(2) {
            let joined = format!("{}{}", pair[0], pair[1]);
            if joined.len() < token.len()
                && pair[0].len() <= 3
                && pair[0].bytes().all(|b| b.is_ascii_alphabetic())
                && pair[1].bytes().all(|b| b.is_ascii_digit())
            {
                words.push(joined.to_lowercase());
            }
        }
        for part in parts {
            let lower = part.to_lowercase();
            if lower.chars().count() < 2
                || lower.chars().all(|c| c.is_ascii_digit())
                || STOPWORDS.contains(&lower.as_str())
            {
                continue;
            }
            match abbreviations::expand(&lower) {
                Some(meaning) => words.extend(
                    meaning
                        .split(' ')
                        .filter(|word| !STOPWORDS.contains(word))
                        .map(stem),
                ),
                None => words.push(stem(&lower)),
            }
        }
    }
    words
}

/// Returns the words of an identifier or dotted name, lowercase, with
/// abbreviations spelled out and nothing dropped or stemmed:
/// `HttpClient.send_msg` becomes `http client send message`. Short names that
/// mix letters and digits stay whole.
pub fn spell_out(name: &str) -> String {
    let mut words: Vec<&str> = Vec::new();
    let mut lowered: Vec<String> = Vec::new();
    for token in name.split(|c: char| !c.is_alphanumeric()) {
        if is_short_alphanumeric_name(token) {
            lowered.push(token.to_lowercase());
        } else {
            let parts = split_case(token)
                .into_iter()
                .filter(|part| !part.is_empty());
            lowered.extend(parts.map(str::to_lowercase));
        }
    }
    for word in &lowered {
        match abbreviations::expand(word) {
            Some(meaning) => words.extend(meaning.split(' ')),
            None => words.push(word),
        }
    }
    words.join(" ")
}

/// True for short names that mix letters and digits, such as `f64`, `u8`,
/// `sha256` or `ipv4`. Split at the digits, they lose their meaning, so they
/// are also kept whole.
fn is_short_alphanumeric_name(token: &str) -> bool {
    token.len() <= 8
        && token.bytes().any(|b| b.is_ascii_digit())
        && token.bytes().any(|b| b.is_ascii_alphabetic())
        && token.is_ascii()
}

/// Splits one alphanumeric token at camelCase and letter/digit boundaries,
/// keeping acronyms together (`HTTPServer` gives `HTTP`, `Server`).
fn split_case(token: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = token.char_indices().collect();
    let mut parts = Vec::new();
    let mut start = 0;
    for i in 1..chars.len() {
        let (at, current) = chars[i];
        let previous = chars[i - 1].1;
        let next = chars.get(i + 1).map(|&(_, c)| c);
        let boundary = (previous.is_lowercase() && current.is_uppercase())
            || (previous.is_alphabetic() != current.is_alphabetic())
            || (previous.is_uppercase()
                && current.is_uppercase()
                && next.is_some_and(|c| c.is_lowercase()));
        if boundary {
            parts.push(&token[start..at]);
            start = at;
        }
    }
    parts.push(&token[start..]);
    parts
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Mixes the FNV hash so that its low bits (the bucket) and top bit (the sign)
/// depend on every input byte. This is the 64-bit finaliser from MurmurHash3.
fn finalise(mut hash: u64) -> u64 {
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^= hash >> 33;
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn split_identifiers_table() {
        let cases: &[(&str, &[&str])] = &[
            ("parse_http_response", &["pars", "http", "respons"]),
            ("parseHTTPResponse2", &["pars", "http", "respons"]),
            ("HTTPServer", &["http", "server"]),
            ("getUserById", &["get", "user", "id"]),
            ("the x of 42", &[]),
            ("utf8_decode", &["utf8", "utf", "decod"]),
            ("as_f64", &["as", "f64"]),
            ("asF64", &["asf64", "f64", "as"]),
            ("Utf8Error", &["utf8", "utf", "error"]),
            ("größeBerechnen", &["größe", "berechnen"]),
            ("gro\u{308}ßeBerechnen", &["größe", "berechnen"]),
            ("ｐａｒｓｅ＿ｃｏｎｆｉｇ", &["pars", "configur"]),
            ("src_dir", &["sourc", "directori"]),
            ("", &[]),
        ];
        for (input, expected) in cases {
            assert_eq!(&split_identifiers(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn spell_out_table() {
        let cases = [
            ("HttpClient.send_msg", "http client send message"),
            ("with_recv_msghdr", "with receive message header"),
            ("as_f64", "as f64"),
            ("", ""),
        ];
        for (name, expected) in cases {
            assert_eq!(spell_out(name), expected, "name {name:?}");
        }
    }

    #[test]
    fn split_identifiers_folds_inflections() {
        let parse = split_identifiers("parse");
        for word in ["parses", "parsed", "parsing", "Parse"] {
            assert_eq!(split_identifiers(word), parse, "word {word:?}");
        }
        assert_eq!(split_identifiers("dir"), split_identifiers("directories"));
        assert_eq!(split_identifiers("cfg"), split_identifiers("configuration"));
    }

    #[test]
    fn embedding_is_unit_length() {
        let vector = HashingEmbedder::default().embed_one("fn parse_config(path: &Path)");
        let norm = cosine(&vector, &vector).sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
        assert_eq!(vector.len(), DEFAULT_DIMENSION);
    }

    #[test]
    fn embedding_without_words_is_zero() {
        let vector = HashingEmbedder::default().embed_one("{ } ( ) 1 2 3");
        assert!(vector.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn embedding_is_deterministic() {
        let embedder = HashingEmbedder::default();
        assert_eq!(
            embedder.embed_one("load user"),
            embedder.embed_one("load user")
        );
    }

    #[test]
    fn document_names_weigh_more() {
        let embedder = HashingEmbedder::default();
        let query = embedder.embed_one("send");
        let document = "client.py\nsend\ndef send(self, payload): write(payload)";
        let as_document = embedder.embed_document(document);
        let as_query = embedder.embed_one(document);
        assert!(cosine(&query, &as_document) > cosine(&query, &as_query));
    }

    #[test]
    fn name_records_the_recipe() {
        assert_eq!(HashingEmbedder::new(512).name(), "hashing3-512");
    }

    #[test]
    fn related_identifiers_score_higher() {
        let embedder = HashingEmbedder::default();
        let query = embedder.embed_one("parse the configuration file");
        let related = embedder.embed_one("def parse_config_file(path): return toml.load(path)");
        let unrelated = embedder.embed_one("def render_button(color): draw_rect(color)");
        assert!(cosine(&query, &related) > cosine(&query, &unrelated));
    }
}
