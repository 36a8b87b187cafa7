//! Division of a syntax tree into definition chunks and the code between them.
//!
//! The root and every definition larger than `max_chunk_bytes` are split into the definitions
//! they contain (their members). The text between members becomes chunks of the enclosing kind:
//! `block` at the top level, or the container's own kind and symbol, as for a class header.
//! A definition without members is split into line windows. Work items sit on an explicit stack
//! and members are searched breadth-first, so no call depth follows the nesting of the input.

use std::collections::VecDeque;
use std::ops::Range;

use tree_sitter::{Node, Tree};

use super::chunk::{ChunkKind, ChunkLimits, Piece};
use super::spec::{LanguageSpec, Rule};
use super::syntax::{is_attachable, resolve_definition, symbol_name};
use super::window::{split_windows, trim_range};

/// How many levels below a split node the member search descends. The search passes only
/// through nodes larger than `max_chunk_bytes`, such as a class body or a large `if` block.
const MAX_MEMBER_DEPTH: usize = 8;

/// Enclosing names kept in front of a member's own name, so `a.b.c.d` is stored as `b.c.d`.
/// Keeping every level would make the symbols of deeply nested code grow quadratically with the
/// nesting depth, because each piece owns a copy of its symbol.
const MAX_ENCLOSING_NAMES: usize = 2;

/// A definition or the root, waiting to become pieces.
struct Job<'tree> {
    /// The definition node itself, not its wrapper, or the root node.
    node: Node<'tree>,
    /// Bytes the job covers: the wrapper and attached comments included.
    extent: Range<usize>,
    kind: ChunkKind,
    symbol: Option<String>,
    is_root: bool,
}

/// A definition found inside a node that is being split.
struct Member<'tree> {
    node: Node<'tree>,
    rule: &'static Rule,
    extent: Range<usize>,
}

/// Chooses the pieces for a parsed file. `limits` must be normalized.
pub(crate) fn outline_pieces(
    tree: &Tree,
    spec: &'static LanguageSpec,
    text: &str,
    limits: &ChunkLimits,
) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut jobs = vec![Job {
        node: tree.root_node(),
        extent: 0..text.len(),
        kind: ChunkKind::Block,
        symbol: None,
        is_root: true,
    }];
    while let Some(job) = jobs.pop() {
        if !job.is_root && job.extent.len() <= limits.max_chunk_bytes {
            pieces.push(Piece {
                range: job.extent,
                kind: job.kind,
                symbol: job.symbol,
                absorbable: false,
            });
            continue;
        }
        let mut members = find_members(spec, job.node, text, limits.max_chunk_bytes);
        members.sort_by_key(|member| member.extent.start);

        let mut gap_start = job.extent.start;
        for (index, member) in members.iter().enumerate() {
            let gap = gap_start..member.extent.start;
            push_gap(&job, gap, index == 0, text, limits, &mut pieces);
            gap_start = member.extent.end;
        }
        push_gap(
            &job,
            gap_start..job.extent.end,
            members.is_empty(),
            text,
            limits,
            &mut pieces,
        );

        for member in members {
            jobs.push(member_job(&job, member, text));
        }
    }
    pieces
}

fn member_job<'tree>(parent: &Job<'tree>, member: Member<'tree>, text: &str) -> Job<'tree> {
    let mut kind = member.rule.chunk_kind;
    if kind == ChunkKind::Function && parent.kind.is_class_like() {
        kind = ChunkKind::Method;
    }
    let name = symbol_name(member.rule, member.node, text);
    let symbol = match (&parent.symbol, name) {
        (Some(prefix), Some(name)) => Some(qualified_name(prefix, &name)),
        (_, name) => name,
    };
    Job {
        node: member.node,
        extent: member.extent,
        kind,
        symbol,
        is_root: false,
    }
}

/// Joins the last [`MAX_ENCLOSING_NAMES`] dot-separated parts of `prefix` and `name`.
///
/// Each part is at most 200 bytes long (the symbol name limit), so a symbol stays under about
/// 600 bytes at any depth. A Go method `Type.Method` counts as two parts.
fn qualified_name(prefix: &str, name: &str) -> String {
    let kept_start = prefix
        .rmatch_indices('.')
        .nth(MAX_ENCLOSING_NAMES - 1)
        .map_or(0, |(dot, _)| dot + 1);
    format!("{}.{name}", &prefix[kept_start..])
}

/// Adds the text between members of `job` as pieces of the job's kind.
///
/// The first gap of a definition is its header and always stays a piece. Later gaps smaller
/// than `min_chunk_bytes`, and gaps of punctuation only (a `;` after a C struct), are marked
/// absorbable so that they join the chunk before them.
fn push_gap(
    job: &Job,
    gap: Range<usize>,
    is_header: bool,
    text: &str,
    limits: &ChunkLimits,
    pieces: &mut Vec<Piece>,
) {
    let Some(gap) = trim_range(text, gap) else {
        return;
    };
    let punctuation_only = !text[gap.clone()].chars().any(char::is_alphanumeric);
    let small = gap.len() < limits.min_chunk_bytes;
    let absorbable = punctuation_only || (!job.is_root && !is_header && small);
    let kind = if job.is_root {
        ChunkKind::Block
    } else {
        job.kind
    };
    for range in split_windows(text, gap, limits.max_chunk_bytes, limits.window_lines) {
        pieces.push(Piece {
            range,
            kind,
            symbol: job.symbol.clone(),
            absorbable,
        });
    }
}

/// Finds the definitions inside `node`, breadth-first, without entering definitions and
/// descending only through nodes larger than `max_bytes`.
fn find_members<'tree>(
    spec: &'static LanguageSpec,
    node: Node<'tree>,
    text: &str,
    max_bytes: usize,
) -> Vec<Member<'tree>> {
    let mut members = Vec::new();
    let mut queue = VecDeque::from([(node, 0)]);
    while let Some((parent, depth)) = queue.pop_front() {
        let mut cursor = parent.walk();
        let children: Vec<Node> = parent.children(&mut cursor).collect();
        let mut found = Vec::new();
        for (index, child) in children.iter().enumerate() {
            if !child.is_named() || is_attachable(spec, *child) {
                continue;
            }
            if let Some((definition, rule)) = resolve_definition(spec, *child) {
                found.push((index, definition, rule));
            } else if child.byte_range().len() > max_bytes && depth + 1 < MAX_MEMBER_DEPTH {
                queue.push_back((*child, depth + 1));
            }
        }
        attach_comments(spec, &children, found, text, max_bytes, &mut members);
    }
    members
}

/// Extends each found definition over a comment on the same line after it, and over the
/// comments and attributes directly above it (no blank line between them).
///
/// Comments are attached only while the definition still fits `max_bytes`, unless it is
/// already larger and will be split anyway.
fn attach_comments<'tree>(
    spec: &'static LanguageSpec,
    siblings: &[Node<'tree>],
    found: Vec<(usize, Node<'tree>, &'static Rule)>,
    text: &str,
    max_bytes: usize,
    members: &mut Vec<Member<'tree>>,
) {
    let mut claimed = vec![false; siblings.len()];
    let mut extents: Vec<Range<usize>> = Vec::with_capacity(found.len());
    for (index, _, _) in &found {
        let own = siblings[*index].byte_range();
        let fits = |range: &Range<usize>| own.len() > max_bytes || range.len() <= max_bytes;
        let mut extent = own.clone();
        if let Some(next) = siblings.get(index + 1)
            && spec.comments.contains(&next.kind())
            && !text[extent.end..next.start_byte()].contains('\n')
            && fits(&(extent.start..next.end_byte()))
        {
            extent.end = next.end_byte();
            claimed[index + 1] = true;
        }
        extents.push(extent);
    }
    for ((index, _, _), extent) in found.iter().zip(extents.iter_mut()) {
        let own_len = siblings[*index].byte_range().len();
        let mut previous_index = *index;
        while previous_index > 0 {
            let previous = siblings[previous_index - 1];
            let between = &text[previous.end_byte()..extent.start];
            let widened = previous.start_byte()..extent.end;
            if !previous.is_named()
                || !is_attachable(spec, previous)
                || claimed[previous_index - 1]
                || between.matches('\n').count() > 1
                || (own_len <= max_bytes && widened.len() > max_bytes)
            {
                break;
            }
            extent.start = previous.start_byte();
            claimed[previous_index - 1] = true;
            previous_index -= 1;
        }
    }
    for ((_, node, rule), extent) in found.into_iter().zip(extents) {
        members.push(Member { node, rule, extent });
    }
}

#[cfg(test)]
mod tests {
    use super::qualified_name;

    #[test]
    fn qualified_name_keeps_two_enclosing_names() {
        let cases = [
            ("a", "f", "a.f"),
            ("a.b", "f", "a.b.f"),
            ("a.b.c", "f", "b.c.f"),
            ("a.b.c.d.e", "f", "d.e.f"),
        ];
        for (prefix, name, expected) in cases {
            assert_eq!(qualified_name(prefix, name), expected, "prefix {prefix}");
        }
    }
}
