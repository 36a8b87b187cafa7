//! Node-kind tables for Python, JavaScript, TypeScript, Ruby, PHP and Bash.

use super::Role::{Class, Function, Other};
use super::{C_STYLE_BOOLEANS, Condition, LanguageSpec, NameRule, Rule, named_by, rule, rule_if};
use crate::code::chunk::ChunkKind as K;

const JS_FUNCTION_VALUES: &[&str] = &[
    "arrow_function",
    "function_expression",
    "generator_function",
];

pub(super) const PYTHON: LanguageSpec = LanguageSpec {
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

pub(super) const JAVASCRIPT: LanguageSpec = LanguageSpec {
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

pub(super) const TYPESCRIPT: LanguageSpec = LanguageSpec {
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

pub(super) const RUBY: LanguageSpec = LanguageSpec {
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

pub(super) const PHP: LanguageSpec = LanguageSpec {
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

pub(super) const BASH: LanguageSpec = LanguageSpec {
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
