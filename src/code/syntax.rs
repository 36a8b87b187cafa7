//! Parsing with a time limit, and matching syntax nodes against the language tables.

use std::time::{Duration, Instant};

use tree_sitter::{Node, ParseOptions, ParseState, Parser, Tree};

use super::language::Language;
use super::spec::{Condition, LanguageSpec, NameRule, Rule};

/// Maximum number of wrapper levels looked through to find a definition, as in
/// `export const f = () => {}` (export statement, lexical declaration, declarator).
const MAX_WRAPPER_DEPTH: usize = 3;

/// Maximum length of a symbol name, in bytes.
const MAX_SYMBOL_BYTES: usize = 200;

/// Parses `text` with the language's grammar, giving up after `timeout`.
///
/// Returns an error message naming the cause when the grammar cannot be loaded or the parse is
/// cancelled by the time limit.
pub(crate) fn parse_tree(
    language: Language,
    text: &str,
    timeout: Duration,
) -> Result<Tree, String> {
    let Some(grammar) = language.grammar() else {
        return Err(format!("{} has no grammar", language.name()));
    };
    let mut parser = Parser::new();
    parser
        .set_language(&grammar)
        .map_err(|error| format!("cannot load the {} grammar: {error}", language.name()))?;

    let started = Instant::now();
    // tree-sitter calls this periodically during the parse and cancels it when it returns true.
    let mut past_deadline = |_: &ParseState| started.elapsed() >= timeout;
    let options = ParseOptions::new().progress_callback(&mut past_deadline);
    let bytes = text.as_bytes();
    let mut read = |offset: usize, _| bytes.get(offset..).unwrap_or_default();
    parser
        .parse_with_options(&mut read, None, Some(options))
        .ok_or_else(|| format!("parsing timed out after {} ms", timeout.as_millis()))
}

/// Returns the first rule that matches the node itself (wrappers are not looked through).
pub(crate) fn match_rule(spec: &'static LanguageSpec, node: Node) -> Option<&'static Rule> {
    let kind = node.kind();
    spec.rules
        .iter()
        .filter(|rule| rule.node_kind == kind)
        .find(|rule| condition_holds(rule.condition, node))
}

fn condition_holds(condition: Condition, node: Node) -> bool {
    match condition {
        Condition::Always => true,
        Condition::HasField(field) => node.child_by_field_name(field).is_some(),
        Condition::FieldKindIn(field, kinds) => node
            .child_by_field_name(field)
            .is_some_and(|child| kinds.contains(&child.kind())),
    }
}

/// Finds the definition that `node` is or wraps, returning the definition node and its rule.
///
/// A wrapper resolves to its first named child that is a definition or another wrapper, so a
/// Go `type (...)` group or `const a = () => 1, b = () => 2` is named after its first
/// definition only, and `const a = 1, f = () => 2` is not a definition.
pub(crate) fn resolve_definition<'tree>(
    spec: &'static LanguageSpec,
    node: Node<'tree>,
) -> Option<(Node<'tree>, &'static Rule)> {
    let mut current = node;
    for _ in 0..=MAX_WRAPPER_DEPTH {
        if let Some(rule) = match_rule(spec, current) {
            return Some((current, rule));
        }
        if !spec.wrappers.contains(&current.kind()) {
            return None;
        }
        let mut cursor = current.walk();
        let inner = current.named_children(&mut cursor).find(|child| {
            match_rule(spec, *child).is_some() || spec.wrappers.contains(&child.kind())
        })?;
        current = inner;
    }
    None
}

/// Tells whether the node is a comment or another node that is attached to the next definition.
pub(crate) fn is_attachable(spec: &LanguageSpec, node: Node) -> bool {
    spec.comments.contains(&node.kind()) || spec.attachments.contains(&node.kind())
}

/// Extracts the symbol name of a definition, or `None` for anonymous ones.
pub(crate) fn symbol_name(rule: &Rule, node: Node, source: &str) -> Option<String> {
    let name = match rule.name {
        NameRule::Field(field) => node_text(node.child_by_field_name(field)?, source).to_string(),
        NameRule::Declarator => declarator_name(node, source)?.to_string(),
        NameRule::GoMethod => go_method_name(node, source)?,
    };
    let name = name.split('(').next().unwrap_or_default().trim();
    let name = strip_type_arguments(name);
    if name.is_empty() {
        return None;
    }
    Some(truncate_at_char(name, MAX_SYMBOL_BYTES).to_string())
}

fn node_text<'s>(node: Node, source: &'s str) -> &'s str {
    source.get(node.byte_range()).unwrap_or_default()
}

/// Follows C/C++ declarators (pointer, reference, function) down to the declared name.
fn declarator_name<'s>(node: Node, source: &'s str) -> Option<&'s str> {
    let mut current = node.child_by_field_name("declarator")?;
    // Declarators nest once per pointer, reference or parenthesis level.
    for _ in 0..32 {
        if let Some(inner) = current.child_by_field_name("declarator") {
            current = inner;
        } else if current.kind().ends_with("declarator") {
            current = current.named_child(0)?;
        } else {
            break;
        }
    }
    Some(node_text(current, source))
}

/// Builds `Type.Method` from a Go method's receiver, such as `(c *Circle)` or `(s Stack[T])`.
fn go_method_name(node: Node, source: &str) -> Option<String> {
    let method = node_text(node.child_by_field_name("name")?, source);
    let receiver = node_text(node.child_by_field_name("receiver")?, source);
    let receiver_type = receiver
        .trim_matches(|c| c == '(' || c == ')')
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .trim_start_matches('*');
    let receiver_type = strip_type_arguments(receiver_type);
    if receiver_type.is_empty() {
        return Some(method.to_string());
    }
    Some(format!("{receiver_type}.{method}"))
}

/// Removes generic arguments, turning `Stack<T>` or `Stack[T]` into `Stack`.
fn strip_type_arguments(name: &str) -> &str {
    name.split(['<', '[']).next().unwrap_or_default().trim()
}

fn truncate_at_char(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
