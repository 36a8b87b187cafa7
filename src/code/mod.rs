//! Reading source files, splitting them into chunks with tree-sitter, and measuring their code.
//!
//! [`read_path`] or [`decode_bytes`] turns bytes into a [`SourceText`], and [`parse_source`]
//! turns that into chunks and an [`Analysis`]. Chunks never overlap, are ordered by
//! `start_byte`, are at most `max_chunk_bytes` long, and together cover every non-whitespace
//! byte of the text. Comments directly above a definition belong to its chunk.

pub mod analysis;
pub mod chunk;
pub mod language;
pub mod read;

mod outline;
mod spec;
mod syntax;
mod window;

use std::time::Duration;

pub use analysis::Analysis;
pub use chunk::{Chunk, ChunkKind, ChunkLimits};
pub use language::Language;
pub use read::{ReadError, ReadLimits, ReadOutcome, SourceText, decode_bytes, read_path};

/// Time after which [`parse_source`] stops a tree-sitter parse and falls back to line windows.
pub const DEFAULT_PARSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Result of parsing one file.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFile {
    pub chunks: Vec<Chunk>,
    /// Counts and complexity; all zero when the file was chunked by line windows.
    pub analysis: Analysis,
    /// Problems found while parsing, each a sentence that names the path. Warnings from
    /// reading stay in [`SourceText::warnings`] and are not repeated here.
    pub warnings: Vec<String>,
}

/// Parses, chunks and analyses one decoded file, with [`DEFAULT_PARSE_TIMEOUT`].
///
/// This is pure CPU work, so async callers should run it in `spawn_blocking`. Syntax errors,
/// parse timeouts and languages without a grammar give warnings and line windows, not errors.
/// Stack use does not grow with the nesting depth of the code: tests parse thousands of
/// nested levels on a 2 MiB stack.
pub fn parse_source(source: &SourceText, limits: &ChunkLimits) -> ParsedFile {
    parse_source_with_timeout(source, limits, DEFAULT_PARSE_TIMEOUT)
}

/// Parses like [`parse_source`], giving tree-sitter `timeout` before falling back.
///
/// [`Language::Text`] files, and files whose parse times out, are split into line windows of
/// kind [`ChunkKind::Window`] with an empty [`Analysis`]. A file with syntax errors is still
/// chunked from the error-recovered tree, with a warning.
pub fn parse_source_with_timeout(
    source: &SourceText,
    limits: &ChunkLimits,
    timeout: Duration,
) -> ParsedFile {
    let limits = limits.normalized();
    let text = source.text.as_str();
    let Some(spec) = spec::spec_for(source.language) else {
        return window_fallback(text, &limits, Vec::new());
    };
    let tree = match syntax::parse_tree(source.language, text, timeout) {
        Ok(tree) => tree,
        Err(cause) => {
            let warning = format!(
                "{}: {cause}; chunked by line windows without analysis",
                source.path
            );
            tracing::warn!(path = %source.path, %cause, "tree-sitter parse failed");
            return window_fallback(text, &limits, vec![warning]);
        }
    };

    let mut warnings = Vec::new();
    let root = tree.root_node();
    if root.has_error() {
        let line = first_error_line(&tree);
        warnings.push(format!(
            "{}: syntax errors from line {line}; chunks near them follow tree-sitter's error \
             recovery",
            source.path
        ));
    }
    let pieces = outline::outline_pieces(&tree, spec, text, &limits);
    let chunks = chunk::finish_chunks(text, pieces, &limits);
    let analysis = analysis::analyze(&tree, spec, text);
    ParsedFile {
        chunks,
        analysis,
        warnings,
    }
}

fn window_fallback(text: &str, limits: &ChunkLimits, warnings: Vec<String>) -> ParsedFile {
    ParsedFile {
        chunks: chunk::window_chunks(text, limits),
        analysis: Analysis::default(),
        warnings,
    }
}

/// Returns the 1-based line of the first error or missing node, found without recursion.
fn first_error_line(tree: &tree_sitter::Tree) -> usize {
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            return node.start_position().row + 1;
        }
        // Descend only into subtrees that contain an error.
        let mut moved = cursor.goto_first_child();
        while moved && !cursor.node().has_error() {
            moved = cursor.goto_next_sibling();
        }
        if !moved {
            return node.start_position().row + 1;
        }
    }
}
