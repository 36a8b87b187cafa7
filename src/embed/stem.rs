//! Word stems for the keyword index and the hashing embedder, so that
//! `parses`, `parsed` and `parsing` all become `pars`.
//!
//! The stemmer is Snowball's English algorithm (Porter2) from the
//! `rust-stemmers` crate. Only lowercase ASCII words of three or more letters
//! are stemmed. Other words, such as `größe` or words with digits, are
//! returned unchanged.

use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

static ENGLISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// Returns the English stem of `word`.
pub fn stem(word: &str) -> String {
    if word.len() < 3 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return word.to_string();
    }
    ENGLISH.stem(word).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stem_table() {
        let cases = [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("cats", "cat"),
            ("hopping", "hop"),
            ("happy", "happi"),
            ("relational", "relat"),
            ("adjustment", "adjust"),
            ("controlling", "control"),
            ("parses", "pars"),
            ("parsed", "pars"),
            ("parsing", "pars"),
            ("parse", "pars"),
            ("directory", "directori"),
            ("directories", "directori"),
            ("größe", "größe"),
            ("utf8", "utf8"),
            ("is", "is"),
        ];
        for (word, expected) in cases {
            assert_eq!(stem(word), expected, "word {word:?}");
        }
    }
}
