//! Node-kind tables for Rust, Go, Java, C, C++ and C#.

use super::Role::{Class, Function, Other};
use super::{C_STYLE_BOOLEANS, Condition, LanguageSpec, NameRule, named_by, rule, rule_if};
use crate::code::chunk::ChunkKind as K;

pub(super) const RUST: LanguageSpec = LanguageSpec {
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

pub(super) const GO: LanguageSpec = LanguageSpec {
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

pub(super) const JAVA: LanguageSpec = LanguageSpec {
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

pub(super) const C: LanguageSpec = LanguageSpec {
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

pub(super) const CPP: LanguageSpec = LanguageSpec {
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

pub(super) const CSHARP: LanguageSpec = LanguageSpec {
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
