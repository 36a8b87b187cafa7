//! The Porter stemming algorithm (M. F. Porter, "An algorithm for suffix
//! stripping", Program 14(3), 1980), so that `parses`, `parsed` and `parsing`
//! all become `pars`.
//!
//! Only lowercase ASCII words of three or more letters are stemmed. Other
//! words, such as `größe` or words with digits, are returned unchanged.

/// Returns the Porter stem of `word`.
pub fn porter_stem(word: &str) -> String {
    if word.len() < 3 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return word.to_string();
    }
    let mut stemmer = Stemmer {
        b: word.as_bytes().to_vec(),
    };
    stemmer.step_1a();
    stemmer.step_1b();
    stemmer.step_1c();
    stemmer.step_2();
    stemmer.step_3();
    stemmer.step_4();
    stemmer.step_5();
    // Every step only removes or replaces ASCII letters.
    String::from_utf8(stemmer.b).expect("stem is ASCII")
}

struct Stemmer {
    b: Vec<u8>,
}

impl Stemmer {
    /// True when the letter at `i` is a consonant: not a vowel, and not a `y`
    /// that follows a consonant.
    fn is_consonant(&self, i: usize) -> bool {
        match self.b[i] {
            b'a' | b'e' | b'i' | b'o' | b'u' => false,
            b'y' => i == 0 || !self.is_consonant(i - 1),
            _ => true,
        }
    }

    /// Porter's measure m of `b[..len]`: the number of vowel-consonant
    /// sequences in the form [C](VC)^m[V].
    fn measure(&self, len: usize) -> usize {
        let mut m = 0;
        let mut i = 0;
        while i < len && self.is_consonant(i) {
            i += 1;
        }
        loop {
            while i < len && !self.is_consonant(i) {
                i += 1;
            }
            if i >= len {
                return m;
            }
            while i < len && self.is_consonant(i) {
                i += 1;
            }
            m += 1;
        }
    }

    fn has_vowel(&self, len: usize) -> bool {
        (0..len).any(|i| !self.is_consonant(i))
    }

    /// True when `b[..len]` ends in a double consonant.
    fn ends_double_consonant(&self, len: usize) -> bool {
        len >= 2 && self.b[len - 1] == self.b[len - 2] && self.is_consonant(len - 1)
    }

    /// True when `b[..len]` ends consonant-vowel-consonant and the last
    /// consonant is not `w`, `x` or `y` (as in `hop`, not `snow`).
    fn ends_cvc(&self, len: usize) -> bool {
        len >= 3
            && self.is_consonant(len - 3)
            && !self.is_consonant(len - 2)
            && self.is_consonant(len - 1)
            && !matches!(self.b[len - 1], b'w' | b'x' | b'y')
    }

    fn ends_with(&self, suffix: &str) -> bool {
        self.b.ends_with(suffix.as_bytes())
    }

    /// Length of the stem left when `suffix` is removed.
    fn stem_len(&self, suffix: &str) -> usize {
        self.b.len() - suffix.len()
    }

    fn replace_suffix(&mut self, suffix: &str, replacement: &str) {
        let stem = self.stem_len(suffix);
        self.b.truncate(stem);
        self.b.extend_from_slice(replacement.as_bytes());
    }

    /// Replaces the first matching suffix of `rules` when its stem has a
    /// measure above `min_measure`. At most one rule applies, even when its
    /// condition fails.
    fn apply_rules(&mut self, rules: &[(&str, &str)], min_measure: usize) {
        for (suffix, replacement) in rules {
            if self.ends_with(suffix) {
                if self.measure(self.stem_len(suffix)) > min_measure {
                    self.replace_suffix(suffix, replacement);
                }
                return;
            }
        }
    }

    fn step_1a(&mut self) {
        if self.ends_with("sses") {
            self.replace_suffix("sses", "ss");
        } else if self.ends_with("ies") {
            self.replace_suffix("ies", "i");
        } else if !self.ends_with("ss") && self.ends_with("s") {
            self.replace_suffix("s", "");
        }
    }

    fn step_1b(&mut self) {
        if self.ends_with("eed") {
            if self.measure(self.stem_len("eed")) > 0 {
                self.replace_suffix("eed", "ee");
            }
            return;
        }
        let removed = ["ed", "ing"]
            .into_iter()
            .find(|suffix| self.ends_with(suffix) && self.has_vowel(self.stem_len(suffix)));
        let Some(suffix) = removed else {
            return;
        };
        self.replace_suffix(suffix, "");
        if self.ends_with("at") || self.ends_with("bl") || self.ends_with("iz") {
            self.b.push(b'e');
        } else if self.ends_double_consonant(self.b.len())
            && !matches!(self.b.last(), Some(b'l' | b's' | b'z'))
        {
            self.b.pop();
        } else if self.measure(self.b.len()) == 1 && self.ends_cvc(self.b.len()) {
            self.b.push(b'e');
        }
    }

    fn step_1c(&mut self) {
        if self.ends_with("y") && self.has_vowel(self.stem_len("y")) {
            self.replace_suffix("y", "i");
        }
    }

    fn step_2(&mut self) {
        const RULES: &[(&str, &str)] = &[
            ("ational", "ate"),
            ("tional", "tion"),
            ("enci", "ence"),
            ("anci", "ance"),
            ("izer", "ize"),
            ("bli", "ble"),
            ("alli", "al"),
            ("entli", "ent"),
            ("eli", "e"),
            ("ousli", "ous"),
            ("ization", "ize"),
            ("ation", "ate"),
            ("ator", "ate"),
            ("alism", "al"),
            ("iveness", "ive"),
            ("fulness", "ful"),
            ("ousness", "ous"),
            ("aliti", "al"),
            ("iviti", "ive"),
            ("biliti", "ble"),
        ];
        self.apply_rules(RULES, 0);
    }

    fn step_3(&mut self) {
        const RULES: &[(&str, &str)] = &[
            ("icate", "ic"),
            ("ative", ""),
            ("alize", "al"),
            ("iciti", "ic"),
            ("ical", "ic"),
            ("ful", ""),
            ("ness", ""),
        ];
        self.apply_rules(RULES, 0);
    }

    fn step_4(&mut self) {
        const SUFFIXES: &[&str] = &[
            "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion",
            "ou", "ism", "ate", "iti", "ous", "ive", "ize",
        ];
        // The longest matching suffix wins, e.g. `ement` over `ment` and `ent`.
        let Some(suffix) = SUFFIXES
            .iter()
            .filter(|suffix| self.ends_with(suffix))
            .max_by_key(|suffix| suffix.len())
        else {
            return;
        };
        let stem = self.stem_len(suffix);
        if self.measure(stem) <= 1 {
            return;
        }
        if *suffix == "ion" && !(stem > 0 && matches!(self.b[stem - 1], b's' | b't')) {
            return;
        }
        self.b.truncate(stem);
    }

    fn step_5(&mut self) {
        if self.ends_with("e") {
            let stem = self.stem_len("e");
            let m = self.measure(stem);
            if m > 1 || (m == 1 && !self.ends_cvc(stem)) {
                self.b.truncate(stem);
            }
        }
        let len = self.b.len();
        if self.measure(len) > 1 && self.ends_double_consonant(len) && self.b[len - 1] == b'l' {
            self.b.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Examples from the paper's description of each step.
    #[test]
    fn porter_stem_table() {
        let cases = [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("cats", "cat"),
            ("feed", "feed"),
            ("agreed", "agre"),
            ("plastered", "plaster"),
            ("motoring", "motor"),
            ("sing", "sing"),
            ("conflated", "conflat"),
            ("hopping", "hop"),
            ("falling", "fall"),
            ("filing", "file"),
            ("happy", "happi"),
            ("relational", "relat"),
            ("conditional", "condit"),
            ("generalization", "gener"),
            ("hopeful", "hope"),
            ("goodness", "good"),
            ("adjustment", "adjust"),
            ("adoption", "adopt"),
            ("controlling", "control"),
            ("parses", "pars"),
            ("parsed", "pars"),
            ("parsing", "pars"),
            ("parse", "pars"),
            ("größe", "größe"),
            ("utf8", "utf8"),
            ("is", "is"),
        ];
        for (word, stem) in cases {
            assert_eq!(porter_stem(word), stem, "word {word:?}");
        }
    }
}
