//! Chunk types and limits, and the conversion of outlined byte ranges into ordered, bounded chunks.

use std::ops::Range;

use serde::Serialize;

use super::window::{LineIndex, split_windows, trim_range};

/// Category of a chunk's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChunkKind {
    Function,
    /// A function defined inside a class-like definition that was split into its members.
    Method,
    Class,
    Struct,
    Enum,
    Interface,
    Trait,
    /// A Rust `impl` block.
    Impl,
    /// A module or namespace: Rust `mod`, C++, C# and PHP namespaces, TypeScript `namespace`,
    /// Ruby `module`.
    Module,
    /// A type alias or typedef.
    Type,
    /// Top-level code that is not a definition (imports, statements, constants, macros),
    /// merged up to the size bound.
    Block,
    /// A line window of a file that has no grammar or could not be parsed.
    Window,
}

impl ChunkKind {
    /// Returns the snake_case name stored in the index.
    /// Every kind, in declaration order.
    pub const ALL: [ChunkKind; 12] = [
        ChunkKind::Function,
        ChunkKind::Method,
        ChunkKind::Class,
        ChunkKind::Struct,
        ChunkKind::Enum,
        ChunkKind::Interface,
        ChunkKind::Trait,
        ChunkKind::Impl,
        ChunkKind::Module,
        ChunkKind::Type,
        ChunkKind::Block,
        ChunkKind::Window,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ChunkKind::Function => "function",
            ChunkKind::Method => "method",
            ChunkKind::Class => "class",
            ChunkKind::Struct => "struct",
            ChunkKind::Enum => "enum",
            ChunkKind::Interface => "interface",
            ChunkKind::Trait => "trait",
            ChunkKind::Impl => "impl",
            ChunkKind::Module => "module",
            ChunkKind::Type => "type",
            ChunkKind::Block => "block",
            ChunkKind::Window => "window",
        }
    }

    /// Tells whether functions defined directly inside this kind are methods.
    pub(crate) fn is_class_like(self) -> bool {
        matches!(
            self,
            ChunkKind::Class
                | ChunkKind::Struct
                | ChunkKind::Enum
                | ChunkKind::Interface
                | ChunkKind::Trait
                | ChunkKind::Impl
        )
    }
}

/// A contiguous piece of a file, ready to be embedded.
///
/// Byte offsets index [`super::SourceText::text`], which differs from the file's bytes when a
/// byte order mark was stripped, UTF-16 was converted or invalid UTF-8 was replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chunk {
    /// Name of the definition. Members of a split definition are prefixed with the names of up
    /// to two enclosing definitions and a dot (`Warehouse.add`, `linalg.Matrix.at`), so a
    /// method four levels deep is `b.c.method`. `None` for blocks, windows and anonymous
    /// definitions.
    pub symbol: Option<String>,
    pub kind: ChunkKind,
    /// Offset of the first byte, inclusive.
    pub start_byte: usize,
    /// Offset after the last byte, exclusive.
    pub end_byte: usize,
    /// 1-based line of `start_byte`, counting `'\n'` characters.
    pub start_line: usize,
    /// 1-based line of the last byte, inclusive.
    pub end_line: usize,
    pub text: String,
}

/// Size limits for chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Maximum chunk size in bytes (default 4000). Larger definitions are split into the
    /// definitions they contain or into line windows. Values below 16 are raised to 16.
    pub max_chunk_bytes: usize,
    /// Leftover pieces of a split definition that are smaller than this many bytes (default
    /// 200), such as a closing brace or a field between two methods, are appended to the chunk
    /// before them when the result fits `max_chunk_bytes`.
    pub min_chunk_bytes: usize,
    /// Maximum number of lines in a chunk made by line splitting (default 60): windows of text
    /// files, parts of oversized definitions and long runs of top-level code.
    pub window_lines: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            max_chunk_bytes: 4000,
            min_chunk_bytes: 200,
            window_lines: 60,
        }
    }
}

/// Lowest accepted `max_chunk_bytes`, so that every UTF-8 character fits in a chunk.
const MIN_MAX_CHUNK_BYTES: usize = 16;

impl ChunkLimits {
    /// Returns the limits with `max_chunk_bytes` and `window_lines` raised to usable minimums.
    pub(crate) fn normalized(&self) -> ChunkLimits {
        let max_chunk_bytes = self.max_chunk_bytes.max(MIN_MAX_CHUNK_BYTES);
        ChunkLimits {
            max_chunk_bytes,
            min_chunk_bytes: self.min_chunk_bytes.min(max_chunk_bytes),
            window_lines: self.window_lines.max(1),
        }
    }
}

/// A byte range chosen by the outline, before it becomes a [`Chunk`].
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub range: Range<usize>,
    pub kind: ChunkKind,
    pub symbol: Option<String>,
    /// Appended to the piece before it when the result fits the size bound.
    pub absorbable: bool,
}

/// Splits a whole text into line windows of kind [`ChunkKind::Window`].
pub(crate) fn window_chunks(text: &str, limits: &ChunkLimits) -> Vec<Chunk> {
    let limits = limits.normalized();
    let pieces = split_windows(
        text,
        0..text.len(),
        limits.max_chunk_bytes,
        limits.window_lines,
    )
    .into_iter()
    .map(|range| Piece {
        range,
        kind: ChunkKind::Window,
        symbol: None,
        absorbable: false,
    })
    .collect();
    finish_chunks(text, pieces, &limits)
}

/// Orders pieces, covers any text they missed, absorbs small leftovers and builds chunks.
///
/// Pieces must not overlap. `limits` must already be normalized.
pub(crate) fn finish_chunks(
    text: &str,
    mut pieces: Vec<Piece>,
    limits: &ChunkLimits,
) -> Vec<Chunk> {
    pieces.sort_by_key(|piece| piece.range.start);
    let pieces = cover_gaps(text, pieces, limits);

    let mut merged: Vec<Piece> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        if piece.absorbable
            && let Some(previous) = merged.last_mut()
            && piece.range.end - previous.range.start <= limits.max_chunk_bytes
        {
            previous.range.end = piece.range.end;
            continue;
        }
        merged.push(piece);
    }

    let lines = LineIndex::new(text);
    merged
        .into_iter()
        .map(|piece| Chunk {
            symbol: piece.symbol,
            kind: piece.kind,
            start_byte: piece.range.start,
            end_byte: piece.range.end,
            start_line: lines.line_of(piece.range.start),
            end_line: lines.line_of(piece.range.end.saturating_sub(1).max(piece.range.start)),
            text: text[piece.range].to_string(),
        })
        .collect()
}

/// Adds block windows for non-whitespace text between sorted pieces, and clips overlaps.
///
/// The outline covers every byte by construction, so this is a safety net: it keeps the
/// "every non-whitespace byte is in a chunk" guarantee if a grammar produces a shape the
/// outline does not expect.
fn cover_gaps(text: &str, pieces: Vec<Piece>, limits: &ChunkLimits) -> Vec<Piece> {
    let mut covered = Vec::with_capacity(pieces.len());
    let mut covered_end = 0;
    for mut piece in pieces {
        if piece.range.start < covered_end {
            debug_assert!(false, "overlapping pieces at byte {}", piece.range.start);
            let Some(clipped) = trim_range(text, covered_end.min(piece.range.end)..piece.range.end)
            else {
                continue;
            };
            piece.range = clipped;
        }
        push_gap_windows(text, covered_end..piece.range.start, limits, &mut covered);
        covered_end = piece.range.end;
        covered.push(piece);
    }
    push_gap_windows(text, covered_end..text.len(), limits, &mut covered);
    covered
}

fn push_gap_windows(text: &str, gap: Range<usize>, limits: &ChunkLimits, out: &mut Vec<Piece>) {
    for range in split_windows(text, gap, limits.max_chunk_bytes, limits.window_lines) {
        out.push(Piece {
            range,
            kind: ChunkKind::Block,
            symbol: None,
            absorbable: false,
        });
    }
}
