//! Per-language tables of tree-sitter node kinds: definitions, wrappers, comments and decision points.
//!
//! Every language-specific fact used by chunking and analysis lives here, so adding a language
//! means adding one [`LanguageSpec`]. The unit tests check every kind and field name against the
//! grammar, which catches typos and grammar renames.

mod compiled;
mod scripting;

use super::chunk::ChunkKind;
use super::language::Language;
use compiled::{C, CPP, CSHARP, GO, JAVA, RUST};
use scripting::{BASH, JAVASCRIPT, PHP, PYTHON, RUBY, TYPESCRIPT};

/// How a definition counts in [`super::Analysis`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Counts in `functions_found` and opens a scope for cyclomatic complexity.
    Function,
    /// Counts in `classes_found`.
    Class,
    /// Gets its own chunk but is not counted (modules, namespaces, type aliases, impl blocks).
    Other,
}

/// Extra check a node must pass to match a [`Rule`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Condition {
    Always,
    /// The node has a child in this field, such as a `body` that separates a definition from a
    /// declaration.
    HasField(&'static str),
    /// The child in the field is one of the kinds, such as a `value` that is an arrow function.
    FieldKindIn(&'static str, &'static [&'static str]),
}

/// Where the symbol name of a definition comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum NameRule {
    /// The text of the child in this field.
    Field(&'static str),
    /// Follows `declarator` children down to the name, as C and C++ declarators nest.
    Declarator,
    /// A Go method: `Receiver.Name`, with pointer and type parameters removed from the receiver.
    GoMethod,
}

/// A node kind that is a definition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub node_kind: &'static str,
    pub chunk_kind: ChunkKind,
    pub role: Role,
    pub condition: Condition,
    pub name: NameRule,
}

/// Node kinds and fields of one grammar that chunking and analysis rely on.
#[derive(Debug)]
pub(crate) struct LanguageSpec {
    /// Definitions, tried in order: the first rule whose kind and condition match wins.
    pub rules: &'static [Rule],
    /// Nodes that hold a definition and give it its extent, such as `export_statement` or
    /// Python's `decorated_definition`.
    pub wrappers: &'static [&'static str],
    /// Comment kinds. Comments directly above a definition are attached to its chunk.
    pub comments: &'static [&'static str],
    /// Other nodes that are attached to the definition below them, such as Rust attributes.
    pub attachments: &'static [&'static str],
    /// Named nodes that each add one decision point.
    pub decisions: &'static [&'static str],
    /// Match or case arms that add one decision point unless their pattern is `_` or `*`.
    pub arms: &'static [&'static str],
    /// Parents of anonymous `case` tokens, each adding one decision point (`default` does not).
    pub case_token_parents: &'static [&'static str],
    /// Parents of the short-circuit operators below.
    pub boolean_parents: &'static [&'static str],
    /// Short-circuit operator tokens that each add one decision point.
    pub boolean_operators: &'static [&'static str],
}

pub(super) const fn rule(node_kind: &'static str, chunk_kind: ChunkKind, role: Role) -> Rule {
    Rule {
        node_kind,
        chunk_kind,
        role,
        condition: Condition::Always,
        name: NameRule::Field("name"),
    }
}

pub(super) const fn rule_if(
    node_kind: &'static str,
    chunk_kind: ChunkKind,
    role: Role,
    condition: Condition,
) -> Rule {
    Rule {
        node_kind,
        chunk_kind,
        role,
        condition,
        name: NameRule::Field("name"),
    }
}

pub(super) const fn named_by(mut rule: Rule, name: NameRule) -> Rule {
    rule.name = name;
    rule
}

/// Short-circuit operators of languages with C-like syntax.
pub(super) const C_STYLE_BOOLEANS: &[&str] = &["&&", "||"];

/// Returns the table for a language, or `None` for [`Language::Text`].
pub(crate) fn spec_for(language: Language) -> Option<&'static LanguageSpec> {
    let spec = match language {
        Language::Python => &PYTHON,
        Language::JavaScript => &JAVASCRIPT,
        Language::TypeScript | Language::Tsx => &TYPESCRIPT,
        Language::Rust => &RUST,
        Language::Go => &GO,
        Language::Java => &JAVA,
        Language::C => &C,
        Language::Cpp => &CPP,
        Language::CSharp => &CSHARP,
        Language::Ruby => &RUBY,
        Language::Php => &PHP,
        Language::Bash => &BASH,
        Language::Text => return None,
    };
    Some(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_names(rule: &Rule) -> Vec<&'static str> {
        let mut fields = Vec::new();
        match rule.condition {
            Condition::Always => {}
            Condition::HasField(field) | Condition::FieldKindIn(field, _) => fields.push(field),
        }
        match rule.name {
            NameRule::Field(field) => fields.push(field),
            NameRule::Declarator => fields.push("declarator"),
            NameRule::GoMethod => fields.extend(["name", "receiver"]),
        }
        fields
    }

    #[test]
    fn spec_kinds_exist_in_grammars() {
        for language in Language::ALL {
            let (Some(spec), Some(grammar)) = (spec_for(language), language.grammar()) else {
                continue;
            };
            let named_kinds = spec
                .rules
                .iter()
                .map(|rule| rule.node_kind)
                .chain(spec.rules.iter().flat_map(|rule| match rule.condition {
                    Condition::FieldKindIn(_, kinds) => kinds.to_vec(),
                    _ => Vec::new(),
                }))
                .chain(spec.wrappers.iter().copied())
                .chain(spec.comments.iter().copied())
                .chain(spec.attachments.iter().copied())
                .chain(spec.decisions.iter().copied())
                .chain(spec.arms.iter().copied())
                .chain(spec.case_token_parents.iter().copied())
                .chain(spec.boolean_parents.iter().copied());
            for kind in named_kinds {
                let id = grammar.id_for_node_kind(kind, true);
                assert_ne!(id, 0, "{language:?} has no named node kind {kind}");
            }
            for operator in spec.boolean_operators {
                let id = grammar.id_for_node_kind(operator, false);
                assert_ne!(id, 0, "{language:?} has no token {operator}");
            }
            if !spec.case_token_parents.is_empty() {
                assert_ne!(grammar.id_for_node_kind("case", false), 0, "{language:?}");
            }
            for field in spec.rules.iter().flat_map(field_names) {
                let id = grammar.field_id_for_name(field);
                assert!(id.is_some(), "{language:?} has no field {field}");
            }
        }
    }
}
