//! Counts of functions and class-like definitions, and mean cyclomatic complexity, from a syntax tree.
//!
//! What counts is set per language by the tables in `spec/`.
//!
//! **Functions** are named definitions with a body. Prototypes, interface and abstract methods
//! and Rust trait signatures do not count. A closure counts only when a declaration names it.
//!
//! | language | functions | class-like definitions |
//! | --- | --- | --- |
//! | Python | `def`, `name = lambda ...` | `class` |
//! | JavaScript | function and generator declarations, methods (object literals too), `const f = () => {}` or `= function () {}` | `class` declarations |
//! | TypeScript, TSX | as JavaScript | classes, abstract classes, interfaces, enums |
//! | Rust | `fn` with a body, `let f = \|x\| ...` | structs, unions, enums, traits (not `impl`) |
//! | Go | functions, methods | struct and interface types |
//! | Java | methods, constructors, compact record constructors | classes, interfaces, enums, records, annotation types |
//! | C, C++ | function definitions | structs, unions, enums and classes with a body |
//! | C# | methods, constructors, destructors, operators, local functions | classes, structs, interfaces, enums, records |
//! | Ruby | `def`, `def self.x` | classes, modules |
//! | PHP | functions, methods | classes, interfaces, traits, enums |
//! | Bash | functions | none |
//!
//! Anonymous lambdas, callbacks, class-field arrow functions, Go func literals, C++, Java and
//! C# lambdas and PHP closures do not count. Namespaces and type aliases are not class-like.
//! A C `typedef struct {...} name` counts once, through its body.
//!
//! **Cyclomatic complexity** of a function is 1 plus its decision points:
//!
//! - `if`, `else if`, `elif`, `elsif` and `unless`, but not `else`;
//! - loops: `for`, `foreach`, `while`, `do`, `until`, Rust `loop`, and the `for` and `if`
//!   clauses of Python comprehensions;
//! - `catch`, `except` and `rescue`, and ternary expressions;
//! - each `case` label or match arm, except `default` and the wildcard arms `_` and `*)`;
//! - each short-circuit `&&`, `||`, `and` and `or`.
//!
//! An arm's guard (Python `case x if cond`) is part of the arm and adds nothing. Rust `?`, `??`
//! and optional chaining are not decision points. A decision point belongs to the innermost
//! counted function around it. So points inside anonymous closures count for the enclosing
//! function, and points outside every counted function (top-level code, field initializers)
//! are ignored. The score is the mean over the file's functions, rounded to 2 decimals, and
//! 0.0 without functions.

use serde::Serialize;
use tree_sitter::{Node, Tree};

use super::spec::{LanguageSpec, Role};
use super::syntax::match_rule;

/// Definition counts and complexity of one file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Analysis {
    pub functions_found: usize,
    pub classes_found: usize,
    /// Mean cyclomatic complexity over the file's functions, rounded to 2 decimals.
    pub complexity_score: f64,
}

/// Walks the whole tree once with a cursor and computes the [`Analysis`].
pub(crate) fn analyze(tree: &Tree, spec: &'static LanguageSpec, text: &str) -> Analysis {
    let mut functions = 0usize;
    let mut classes = 0usize;
    let mut decisions_in_functions = 0usize;

    // One entry per ancestor of the cursor's node: its kind and whether it is a function.
    let mut ancestors: Vec<(&'static str, bool)> = Vec::new();
    let mut open_functions = 0usize;
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        let mut is_function = false;
        if node.is_named() {
            match match_rule(spec, node).map(|rule| rule.role) {
                Some(Role::Function) => {
                    functions += 1;
                    is_function = true;
                }
                Some(Role::Class) => classes += 1,
                Some(Role::Other) | None => {}
            }
        }
        if open_functions > 0 {
            let parent_kind = ancestors.last().map_or("", |(kind, _)| *kind);
            if cursor.field_name() != Some("guard") {
                decisions_in_functions += decision_points(spec, node, parent_kind, text);
            }
        }

        if cursor.goto_first_child() {
            ancestors.push((node.kind(), is_function));
            open_functions += usize::from(is_function);
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return finish(functions, classes, decisions_in_functions);
            }
            if let Some((_, true)) = ancestors.pop() {
                open_functions -= 1;
            }
        }
    }
}

fn finish(functions: usize, classes: usize, decisions: usize) -> Analysis {
    let complexity_score = if functions == 0 {
        0.0
    } else {
        let mean = (functions + decisions) as f64 / functions as f64;
        (mean * 100.0).round() / 100.0
    };
    Analysis {
        functions_found: functions,
        classes_found: classes,
        complexity_score,
    }
}

/// Returns how many decision points the node itself adds (0 or 1).
fn decision_points(spec: &LanguageSpec, node: Node, parent_kind: &str, text: &str) -> usize {
    let kind = node.kind();
    let is_decision = if node.is_named() {
        spec.decisions.contains(&kind)
            || (spec.arms.contains(&kind) && !is_wildcard_arm(node, text))
    } else {
        (kind == "case" && spec.case_token_parents.contains(&parent_kind))
            || (spec.boolean_operators.contains(&kind)
                && spec.boolean_parents.contains(&parent_kind))
    };
    usize::from(is_decision)
}

/// Tells whether a match arm is the catch-all `_` (Rust, Python, C#) or `*)` (Bash).
fn is_wildcard_arm(arm: Node, text: &str) -> bool {
    let pattern = arm
        .child_by_field_name("pattern")
        .or_else(|| arm.child_by_field_name("value"))
        .or_else(|| arm.named_child(0));
    pattern
        .and_then(|pattern| text.get(pattern.byte_range()))
        .is_some_and(|pattern| matches!(pattern.trim(), "_" | "*"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::code::language::Language;
    use crate::code::spec::spec_for;
    use crate::code::syntax::parse_tree;

    fn analyze_snippet(language: Language, code: &str) -> Analysis {
        let tree = parse_tree(language, code, Duration::from_secs(5)).expect("snippet parses");
        let spec = spec_for(language).expect("language has a spec");
        analyze(&tree, spec, code)
    }

    /// (language, code, functions, classes, score)
    const CASES: &[(Language, &str, usize, usize, f64)] = &[
        (Language::Python, "x = 1 if y else 2\n", 0, 0, 0.0),
        (
            Language::Python,
            "def f(a):\n    return [b for b in a if b and a]\n",
            1,
            0,
            4.0,
        ),
        (
            Language::Python,
            "def f(a):\n    match a:\n        case 1 if a: pass\n        case _: pass\n",
            1,
            0,
            2.0,
        ),
        (
            Language::Python,
            "class A:\n    def m(self): pass\n    n = lambda self: 1\n",
            2,
            1,
            1.0,
        ),
        (
            Language::Python,
            "def f():\n    try: pass\n    except A: pass\n    except B: pass\n    else: pass\n",
            1,
            0,
            3.0,
        ),
        (
            Language::JavaScript,
            "function f(a) { return a ?? (a?.b || 1); }",
            1,
            0,
            2.0,
        ),
        (
            Language::JavaScript,
            "const f = function () {}, g = 2; items.map(x => x ? 1 : 2);",
            1,
            0,
            1.0,
        ),
        (
            Language::JavaScript,
            "function f(a) { switch (a) { case 1: case 2: break; default: } }",
            1,
            0,
            3.0,
        ),
        (
            Language::TypeScript,
            "abstract class A { abstract m(): void; n(): void {} }\ninterface I { m(): void }\nenum E { X }\ntype T = string;\n",
            1,
            3,
            1.0,
        ),
        (
            Language::Tsx,
            "const C = () => <div>{a && b}</div>;",
            1,
            0,
            2.0,
        ),
        (
            Language::Rust,
            "fn f(a: Option<u8>) -> u8 { if let Some(x) = a && x > 1 { return x; } match a { Some(1) => 1, _ => a? } }",
            1,
            0,
            4.0,
        ),
        (
            Language::Rust,
            "trait T { fn m(&self); fn n(&self) {} }\nstruct S;\nimpl T for S { fn m(&self) { loop {} } }\n",
            2,
            2,
            1.5,
        ),
        (
            Language::Go,
            "package p\nfunc f(c chan int) { select { case <-c: default: }\n switch v := any(c).(type) { case int: _ = v } }\ntype T int\n",
            1,
            0,
            3.0,
        ),
        (
            Language::Java,
            "class A { int f(int a) { return switch (a) { case 1, 2 -> 1; default -> 0; }; } abstract void g(); }",
            1,
            1,
            2.0,
        ),
        (
            Language::Java,
            "record R(int a) { R { if (a < 0) throw new IllegalArgumentException(); } }\ninterface I {}\n",
            1,
            2,
            2.0,
        ),
        (
            Language::C,
            "struct s *p;\nstruct t { int a; };\nint f(int a) { do { a--; } while (a > 0 && a < 9); return a; }\n",
            1,
            1,
            3.0,
        ),
        (
            Language::Cpp,
            "namespace n { class C { void m() { try { } catch (...) { } } }; }\nbool g(bool a, bool b) { return a and b; }\n",
            2,
            1,
            2.0,
        ),
        (
            Language::CSharp,
            "class C { int F(int a) { switch (a) { case 1: case 2: return 1; default: return 0; } } abstract void G(); }",
            1,
            1,
            3.0,
        ),
        (
            Language::CSharp,
            "struct S { S(int a) { foreach (var x in xs) { } void Local() { } } }\nrecord R(int A);\n",
            2,
            2,
            1.5,
        ),
        (
            Language::Ruby,
            "module M\n  class C\n    def m(a)\n      return 1 if a\n      case a\n      when 1, 2 then 3\n      else 4\n      end\n    end\n  end\nend\n",
            1,
            2,
            3.0,
        ),
        (
            Language::Ruby,
            "def f(a)\n  a.each { |x| puts x unless x }\nrescue StandardError\n  nil\nend\n",
            1,
            0,
            3.0,
        ),
        (
            Language::Php,
            "<?php\ntrait T { function m($a) { if ($a) {} elseif ($a and $a) {} else {} } }\n",
            1,
            1,
            4.0,
        ),
        (
            Language::Php,
            "<?php\n$f = function () { return 1; };\nfunction g($a) { return $a ?? 1; }\n",
            1,
            0,
            1.0,
        ),
        (
            Language::Bash,
            "f() {\n  case $1 in\n    a) echo a ;;\n    *) echo other ;;\n  esac\n  [[ -n $1 && -n $2 ]] || return 1\n}\n",
            1,
            0,
            4.0,
        ),
        (Language::Bash, "while true; do break; done\n", 0, 0, 0.0),
    ];

    #[test]
    fn analysis_counts_per_language() {
        for (language, code, functions, classes, score) in CASES {
            let analysis = analyze_snippet(*language, code);
            let context = format!("{language:?}: {code}");
            assert_eq!(
                analysis.functions_found, *functions,
                "functions in {context}"
            );
            assert_eq!(analysis.classes_found, *classes, "classes in {context}");
            assert_eq!(analysis.complexity_score, *score, "score of {context}");
        }
    }

    #[test]
    fn complexity_score_rounds_to_two_decimals() {
        assert_eq!(finish(3, 0, 1).complexity_score, 1.33);
        assert_eq!(finish(3, 0, 2).complexity_score, 1.67);
        assert_eq!(
            finish(0, 2, 0),
            Analysis {
                functions_found: 0,
                classes_found: 2,
                complexity_score: 0.0
            }
        );
    }
}
