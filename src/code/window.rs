//! Splitting byte ranges of text into bounded line windows, and mapping byte offsets to lines.

use std::ops::Range;

/// Byte offsets of every `'\n'` in a text, for mapping byte offsets to 1-based line numbers.
pub(crate) struct LineIndex {
    newlines: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let newlines = text
            .bytes()
            .enumerate()
            .filter(|(_, byte)| *byte == b'\n')
            .map(|(offset, _)| offset)
            .collect();
        LineIndex { newlines }
    }

    /// Returns the 1-based line that contains the byte at `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&newline| newline < offset) + 1
    }
}

/// Shrinks a range so that it starts and ends on non-whitespace, or returns `None` when the
/// range holds only whitespace.
pub(crate) fn trim_range(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let slice = &text[range.clone()];
    let leading = slice.len() - slice.trim_start().len();
    let trailing = slice.len() - slice.trim_end().len();
    if leading == slice.len() {
        return None;
    }
    Some(range.start + leading..range.end - trailing)
}

/// Splits `range` into windows of at most `max_lines` lines and `max_bytes` bytes, trimmed of
/// surrounding whitespace. Whitespace-only windows are dropped.
///
/// A line longer than `max_bytes` is cut into pieces that end on UTF-8 character boundaries,
/// preferring a cut after a space, tab, `;`, `,`, `{` or `}` in the last quarter of a piece.
/// `max_bytes` must be at least 4 so that every character fits.
pub(crate) fn split_windows(
    text: &str,
    range: Range<usize>,
    max_bytes: usize,
    max_lines: usize,
) -> Vec<Range<usize>> {
    debug_assert!(max_bytes >= 4 && max_lines >= 1);
    let mut windows = Vec::new();
    let mut window_start = range.start;
    let mut window_lines = 0;
    let mut line_start = range.start;
    while line_start < range.end {
        let line_end = text[line_start..range.end]
            .find('\n')
            .map_or(range.end, |offset| line_start + offset + 1);

        if line_end - line_start > max_bytes {
            push_trimmed(text, window_start..line_start, &mut windows);
            split_long_line(text, line_start..line_end, max_bytes, &mut windows);
            window_start = line_end;
            window_lines = 0;
        } else {
            if line_end - window_start > max_bytes || window_lines == max_lines {
                push_trimmed(text, window_start..line_start, &mut windows);
                window_start = line_start;
                window_lines = 0;
            }
            window_lines += 1;
        }
        line_start = line_end;
    }
    push_trimmed(text, window_start..range.end, &mut windows);
    windows
}

fn push_trimmed(text: &str, range: Range<usize>, windows: &mut Vec<Range<usize>>) {
    if let Some(trimmed) = trim_range(text, range) {
        windows.push(trimmed);
    }
}

/// Cuts one line into pieces of at most `max_bytes` bytes.
fn split_long_line(
    text: &str,
    line: Range<usize>,
    max_bytes: usize,
    windows: &mut Vec<Range<usize>>,
) {
    let bytes = text.as_bytes();
    let mut start = line.start;
    while start < line.end {
        let mut end = (start + max_bytes).min(line.end);
        if end < line.end {
            let search_from = start + max_bytes * 3 / 4;
            if let Some(offset) = bytes[search_from..end]
                .iter()
                .rposition(|byte| matches!(byte, b' ' | b'\t' | b';' | b',' | b'{' | b'}'))
            {
                end = search_from + offset + 1;
            }
            while !text.is_char_boundary(end) {
                end -= 1;
            }
        }
        push_trimmed(text, start..end, windows);
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window_texts(text: &str, max_bytes: usize, max_lines: usize) -> Vec<&str> {
        split_windows(text, 0..text.len(), max_bytes, max_lines)
            .into_iter()
            .map(|range| &text[range])
            .collect()
    }

    #[test]
    fn split_windows_cases() {
        let cases: &[(&str, usize, usize, &[&str])] = &[
            ("", 100, 10, &[]),
            ("  \n\n  \t\n", 100, 10, &[]),
            ("a\nb\nc\n", 100, 2, &["a\nb", "c"]),
            ("a\nb\nc", 100, 10, &["a\nb\nc"]),
            ("aaaa\nbbbb\ncccc\n", 10, 10, &["aaaa\nbbbb", "cccc"]),
            ("\n\n  x = 1\n\n", 100, 10, &["x = 1"]),
            ("abcdefghij", 4, 10, &["abcd", "efgh", "ij"]),
            ("abcdef ghijkl", 8, 10, &["abcdef", "ghijkl"]),
            (
                "short\nabcdefghij\nend",
                6,
                10,
                &["short", "abcdef", "ghij", "end"],
            ),
            ("éééé", 5, 10, &["éé", "éé"]),
            ("a\r\nb\r\n", 100, 1, &["a", "b"]),
        ];
        for (text, max_bytes, max_lines, expected) in cases {
            assert_eq!(
                window_texts(text, *max_bytes, *max_lines),
                *expected,
                "text {text:?}, max_bytes {max_bytes}, max_lines {max_lines}"
            );
        }
    }

    #[test]
    fn split_windows_bounds_one_megabyte_line() {
        let text = "x".repeat(1 << 20);
        let windows = split_windows(&text, 0..text.len(), 4000, 60);
        assert_eq!(windows.len(), (1 << 20) / 4000 + 1);
        assert!(windows.iter().all(|range| range.len() <= 4000));
        assert_eq!(windows.last().map(|range| range.end), Some(text.len()));
    }

    #[test]
    fn line_of_counts_newlines() {
        let index = LineIndex::new("ab\ncd\r\n\nef");
        let cases = [(0, 1), (2, 1), (3, 2), (6, 2), (7, 3), (8, 4), (9, 4)];
        for (offset, line) in cases {
            assert_eq!(index.line_of(offset), line, "offset {offset}");
        }
    }
}
