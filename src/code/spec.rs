//! Per-language tables of tree-sitter node kinds: definitions, wrappers, comments and decision points.
//!
//! Every language-specific fact used by chunking and analysis lives here, so adding a language
//! means adding one [`LanguageSpec`]. The unit tests check every kind and field name against the
//! grammar, which catches typos and grammar renames.

use super::chunk::ChunkKind;
use super::language::Language;

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

const fn rule(node_kind: &'static str, chunk_kind: ChunkKind, role: Role) -> Rule {
    Rule {
        node_kind,
        chunk_kind,
        role,
        condition: Condition::Always,
        name: NameRule::Field("name"),
    }
}

const fn rule_if(
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

const fn named_by(mut rule: Rule, name: NameRule) -> Rule {
    rule.name = name;
    rule
}

use ChunkKind as K;
use Role::{Class, Function, Other};

const C_STYLE_BOOLEANS: &[&str] = &["&&", "||"];
const JS_FUNCTION_VALUES: &[&str] = &[
    "arrow_function",
    "function_expression",
    "generator_function",
];

const PYTHON: LanguageSpec = LanguageSpec {
    rules: &[
        rule("function_definition", K::Function, Function),
        rule("class_definition", K::Class, Class),
        named_by(
            rule_if(
                "assignment",
                K::Function,
                Function,
                Condition::FieldKindIn("right", &["lambda"]),
            ),
            NameRule::Field("left"),
        ),
    ],
    wrappers: &["decorated_definition", "expression_statement"],
    comments: &["comment"],
    attachments: &[],
    decisions: &[
        "if_statement",
        "elif_clause",
        "for_statement",
        "while_statement",
        "except_clause",
        "conditional_expression",
        "for_in_clause",
        "if_clause",
    ],
    arms: &["case_clause"],
    case_token_parents: &[],
    boolean_parents: &["boolean_operator"],
    boolean_operators: &["and", "or"],
};

const JS_RULES: &[Rule] = &[
    rule("function_declaration", K::Function, Function),
    rule("generator_function_declaration", K::Function, Function),
    rule("method_definition", K::Method, Function),
    rule("class_declaration", K::Class, Class),
    rule_if(
        "variable_declarator",
        K::Function,
        Function,
        Condition::FieldKindIn("value", JS_FUNCTION_VALUES),
    ),
];

const JS_DECISIONS: &[&str] = &[
    "if_statement",
    "for_statement",
    "for_in_statement",
    "while_statement",
    "do_statement",
    "catch_clause",
    "ternary_expression",
    "switch_case",
];

const JAVASCRIPT: LanguageSpec = LanguageSpec {
    rules: JS_RULES,
    wrappers: &[
        "export_statement",
        "lexical_declaration",
        "variable_declaration",
    ],
    comments: &["comment"],
    attachments: &["decorator"],
    decisions: JS_DECISIONS,
    arms: &[],
    case_token_parents: &[],
    boolean_parents: &["binary_expression"],
    boolean_operators: C_STYLE_BOOLEANS,
};

const TYPESCRIPT: LanguageSpec = LanguageSpec {
    rules: &[
        rule("function_declaration", K::Function, Function),
        rule("generator_function_declaration", K::Function, Function),
        rule("method_definition", K::Method, Function),
        rule("class_declaration", K::Class, Class),
        rule("abstract_class_declaration", K::Class, Class),
        rule("interface_declaration", K::Interface, Class),
        rule("enum_declaration", K::Enum, Class),
        rule("type_alias_declaration", K::Type, Other),
        rule("internal_module", K::Module, Other),
        rule_if(
            "variable_declarator",
            K::Function,
            Function,
            Condition::FieldKindIn("value", JS_FUNCTION_VALUES),
        ),
    ],
    wrappers: &[
        "export_statement",
        "lexical_declaration",
        "variable_declaration",
        "ambient_declaration",
        "expression_statement",
    ],
    ..JAVASCRIPT
};

const RUST: LanguageSpec = LanguageSpec {
    rules: &[
        rule("function_item", K::Function, Function),
        rule("struct_item", K::Struct, Class),
        rule("union_item", K::Struct, Class),
        rule("enum_item", K::Enum, Class),
        rule("trait_item", K::Trait, Class),
        named_by(rule("impl_item", K::Impl, Other), NameRule::Field("type")),
        rule_if("mod_item", K::Module, Other, Condition::HasField("body")),
        rule("type_item", K::Type, Other),
        named_by(
            rule_if(
                "let_declaration",
                K::Function,
                Function,
                Condition::FieldKindIn("value", &["closure_expression"]),
            ),
            NameRule::Field("pattern"),
        ),
    ],
    wrappers: &[],
    comments: &["line_comment", "block_comment"],
    attachments: &["attribute_item"],
    decisions: &[
        "if_expression",
        "for_expression",
        "while_expression",
        "loop_expression",
    ],
    arms: &["match_arm"],
    case_token_parents: &[],
    boolean_parents: &["binary_expression", "let_chain"],
    boolean_operators: C_STYLE_BOOLEANS,
};

const GO: LanguageSpec = LanguageSpec {
    rules: &[
        rule("function_declaration", K::Function, Function),
        named_by(
            rule("method_declaration", K::Method, Function),
            NameRule::GoMethod,
        ),
        rule_if(
            "type_spec",
            K::Struct,
            Class,
            Condition::FieldKindIn("type", &["struct_type"]),
        ),
        rule_if(
            "type_spec",
            K::Interface,
            Class,
            Condition::FieldKindIn("type", &["interface_type"]),
        ),
        rule("type_spec", K::Type, Other),
    ],
    wrappers: &["type_declaration"],
    comments: &["comment"],
    attachments: &[],
    decisions: &[
        "if_statement",
        "for_statement",
        "expression_case",
        "type_case",
        "communication_case",
    ],
    arms: &[],
    case_token_parents: &[],
    boolean_parents: &["binary_expression"],
    boolean_operators: C_STYLE_BOOLEANS,
};

const JAVA: LanguageSpec = LanguageSpec {
    rules: &[
        rule_if(
            "method_declaration",
            K::Method,
            Function,
            Condition::HasField("body"),
        ),
        rule("constructor_declaration", K::Method, Function),
        rule("compact_constructor_declaration", K::Method, Function),
        rule("class_declaration", K::Class, Class),
        rule("interface_declaration", K::Interface, Class),
        rule("enum_declaration", K::Enum, Class),
        rule("record_declaration", K::Class, Class),
        rule("annotation_type_declaration", K::Interface, Class),
    ],
    wrappers: &[],
    comments: &["line_comment", "block_comment"],
    attachments: &[],
    decisions: &[
        "if_statement",
        "for_statement",
        "enhanced_for_statement",
        "while_statement",
        "do_statement",
        "catch_clause",
        "ternary_expression",
    ],
    arms: &[],
    case_token_parents: &["switch_label"],
    boolean_parents: &["binary_expression"],
    boolean_operators: C_STYLE_BOOLEANS,
};

const C: LanguageSpec = LanguageSpec {
    rules: &[
        named_by(
            rule("function_definition", K::Function, Function),
            NameRule::Declarator,
        ),
        rule_if(
            "struct_specifier",
            K::Struct,
            Class,
            Condition::HasField("body"),
        ),
        rule_if(
            "union_specifier",
            K::Struct,
            Class,
            Condition::HasField("body"),
        ),
        rule_if(
            "enum_specifier",
            K::Enum,
            Class,
            Condition::HasField("body"),
        ),
        named_by(
            rule("type_definition", K::Type, Other),
            NameRule::Declarator,
        ),
    ],
    wrappers: &[],
    comments: &["comment"],
    attachments: &[],
    decisions: &[
        "if_statement",
        "for_statement",
        "while_statement",
        "do_statement",
        "conditional_expression",
    ],
    arms: &[],
    case_token_parents: &["case_statement"],
    boolean_parents: &["binary_expression"],
    boolean_operators: C_STYLE_BOOLEANS,
};

const CPP: LanguageSpec = LanguageSpec {
    rules: &[
        named_by(
            rule("function_definition", K::Function, Function),
            NameRule::Declarator,
        ),
        rule_if(
            "class_specifier",
            K::Class,
            Class,
            Condition::HasField("body"),
        ),
        rule_if(
            "struct_specifier",
            K::Struct,
            Class,
            Condition::HasField("body"),
        ),
        rule_if(
            "union_specifier",
            K::Struct,
            Class,
            Condition::HasField("body"),
        ),
        rule_if(
            "enum_specifier",
            K::Enum,
            Class,
            Condition::HasField("body"),
        ),
        rule_if(
            "namespace_definition",
            K::Module,
            Other,
            Condition::HasField("body"),
        ),
        named_by(
            rule("type_definition", K::Type, Other),
            NameRule::Declarator,
        ),
        rule("alias_declaration", K::Type, Other),
    ],
    wrappers: &["template_declaration"],
    decisions: &[
        "if_statement",
        "for_statement",
        "for_range_loop",
        "while_statement",
        "do_statement",
        "catch_clause",
        "conditional_expression",
    ],
    boolean_operators: &["&&", "||", "and", "or"],
    ..C
};

const CSHARP: LanguageSpec = LanguageSpec {
    rules: &[
        rule_if(
            "method_declaration",
            K::Method,
            Function,
            Condition::HasField("body"),
        ),
        rule("constructor_declaration", K::Method, Function),
        rule("destructor_declaration", K::Method, Function),
        rule_if(
            "operator_declaration",
            K::Method,
            Function,
            Condition::HasField("body"),
        ),
        rule_if(
            "conversion_operator_declaration",
            K::Method,
            Function,
            Condition::HasField("body"),
        ),
        rule("local_function_statement", K::Function, Function),
        rule("class_declaration", K::Class, Class),
        rule("struct_declaration", K::Struct, Class),
        rule("interface_declaration", K::Interface, Class),
        rule("enum_declaration", K::Enum, Class),
        rule("record_declaration", K::Class, Class),
        rule("namespace_declaration", K::Module, Other),
        rule("delegate_declaration", K::Type, Other),
    ],
    wrappers: &[],
    comments: &["comment"],
    attachments: &[],
    decisions: &[
        "if_statement",
        "for_statement",
        "foreach_statement",
        "while_statement",
        "do_statement",
        "catch_clause",
        "conditional_expression",
    ],
    arms: &["switch_expression_arm"],
    case_token_parents: &["switch_section"],
    boolean_parents: &["binary_expression"],
    boolean_operators: C_STYLE_BOOLEANS,
};

const RUBY: LanguageSpec = LanguageSpec {
    rules: &[
        rule("method", K::Function, Function),
        rule("singleton_method", K::Function, Function),
        rule("class", K::Class, Class),
        rule("module", K::Module, Class),
    ],
    wrappers: &[],
    comments: &["comment"],
    attachments: &[],
    decisions: &[
        "if",
        "elsif",
        "unless",
        "while",
        "until",
        "for",
        "when",
        "rescue",
        "conditional",
        "if_modifier",
        "unless_modifier",
        "while_modifier",
        "until_modifier",
        "rescue_modifier",
    ],
    arms: &["in_clause"],
    case_token_parents: &[],
    boolean_parents: &["binary"],
    boolean_operators: &["&&", "||", "and", "or"],
};

const PHP: LanguageSpec = LanguageSpec {
    rules: &[
        rule("function_definition", K::Function, Function),
        rule_if(
            "method_declaration",
            K::Method,
            Function,
            Condition::HasField("body"),
        ),
        rule("class_declaration", K::Class, Class),
        rule("interface_declaration", K::Interface, Class),
        rule("trait_declaration", K::Trait, Class),
        rule("enum_declaration", K::Enum, Class),
        rule_if(
            "namespace_definition",
            K::Module,
            Other,
            Condition::HasField("body"),
        ),
    ],
    wrappers: &[],
    comments: &["comment"],
    attachments: &["attribute_list"],
    decisions: &[
        "if_statement",
        "else_if_clause",
        "for_statement",
        "foreach_statement",
        "while_statement",
        "do_statement",
        "catch_clause",
        "conditional_expression",
        "case_statement",
        "match_conditional_expression",
    ],
    arms: &[],
    case_token_parents: &[],
    boolean_parents: &["binary_expression"],
    boolean_operators: &["&&", "||", "and", "or"],
};

const BASH: LanguageSpec = LanguageSpec {
    rules: &[rule("function_definition", K::Function, Function)],
    wrappers: &[],
    comments: &["comment"],
    attachments: &[],
    decisions: &[
        "if_statement",
        "elif_clause",
        "for_statement",
        "c_style_for_statement",
        "while_statement",
    ],
    arms: &["case_item"],
    case_token_parents: &[],
    boolean_parents: &["list", "binary_expression"],
    boolean_operators: C_STYLE_BOOLEANS,
};

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
