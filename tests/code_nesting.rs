//! Deeply nested inputs must parse, chunk and analyse on a 2 MiB stack, as tokio blocking
//! threads have, without stack overflow and in bounded time.

use std::time::{Duration, Instant};

use mcp_code_index::code::{
    ChunkLimits, ParsedFile, ReadLimits, ReadOutcome, decode_bytes, parse_source,
    parse_source_with_timeout,
};

const TWO_MIB: usize = 2 * 1024 * 1024;

/// Generous bound for a debug build on a slow machine; a release build takes far less.
const TIME_LIMIT: Duration = Duration::from_secs(30);

fn nested(open: &str, middle: &str, close: &str, depth: usize) -> String {
    let mut text = open.repeat(depth);
    text.push_str(middle);
    text.push_str(&close.repeat(depth));
    text
}

fn nested_python_ifs(depth: usize) -> String {
    let mut text = String::from("def f(x):\n");
    for level in 1..=depth {
        text.push_str(&" ".repeat(level));
        text.push_str("if x:\n");
    }
    text.push_str(&" ".repeat(depth + 1));
    text.push_str("pass\n");
    text
}

/// Decodes and parses `text` on a thread with a 2 MiB stack.
fn parse_on_small_stack(path: &'static str, text: String) -> (ParsedFile, Duration) {
    std::thread::Builder::new()
        .name(format!("parse {path}"))
        .stack_size(TWO_MIB)
        .spawn(move || {
            let limits = ReadLimits {
                max_line_bytes: usize::MAX,
                ..ReadLimits::default()
            };
            let ReadOutcome::Source(source) = decode_bytes(path, text.as_bytes(), &limits) else {
                panic!("{path} was skipped");
            };
            let started = Instant::now();
            let parsed = parse_source(&source, &ChunkLimits::default());
            drop(source);
            (parsed, started.elapsed())
        })
        .expect("thread starts")
        .join()
        .expect("parsing thread did not panic or overflow its stack")
}

#[test]
fn deep_nesting_parses_on_small_stack() {
    let cases: Vec<(&'static str, String)> = vec![
        (
            "brackets.py",
            nested("x = ", &"[".repeat(5_000), "", 1) + &"]".repeat(5_000),
        ),
        ("ifs.py", nested_python_ifs(1_000)),
        ("arrays.js", nested("[", "1", "]", 10_000)),
        (
            "functions.js",
            nested("function f() {", "return 1;", "}", 10_000),
        ),
        (
            "arrows.ts",
            nested("const f = () => {", "return 1;", "};", 5_000),
        ),
        (
            "braces.c",
            nested("int main(void) {", "return 0;", "}", 1)
                .replace("return 0;", &nested("{", "", "}", 5_000)),
        ),
        (
            "ifs.c",
            nested("void f(int x) {", "", "}", 1)
                .replace("{}", &nested("{ if (x) ", ";", " }", 3_000)),
        ),
        (
            "blocks.rs",
            nested("fn main() { ", "1", " }", 1).replace("1", &nested("{ ", "1", " }", 5_000)),
        ),
        ("calls.rb", nested("foo(", "1", ")", 5_000)),
        (
            "nested.java",
            nested(
                "class A { void f() { int x = ",
                &nested("(", "1", ")", 5_000),
                "; } }",
                1,
            ),
        ),
    ];
    for (path, text) in cases {
        let (parsed, elapsed) = parse_on_small_stack(path, text);
        assert!(!parsed.chunks.is_empty(), "{path}: no chunks");
        assert!(
            parsed.chunks.iter().all(|chunk| chunk.text.len() <= 4000),
            "{path}: a chunk is larger than the limit"
        );
        assert!(elapsed < TIME_LIMIT, "{path}: took {elapsed:?}");
    }
}

#[test]
fn deep_nesting_counts_every_function() {
    let text = nested("function f() {", "return 1;", "}", 10_000);
    let (parsed, _) = parse_on_small_stack("functions.js", text);
    assert_eq!(parsed.analysis.functions_found, 10_000);
    assert_eq!(parsed.analysis.complexity_score, 1.0);
}

#[test]
fn parse_timeout_falls_back_to_windows() {
    let text = "function f(a) { if (a) { return a && a; } return 0; }\n".repeat(20_000);
    let ReadOutcome::Source(source) =
        decode_bytes("slow.js", text.as_bytes(), &ReadLimits::default())
    else {
        panic!("slow.js was skipped");
    };
    let parsed = parse_source_with_timeout(&source, &ChunkLimits::default(), Duration::ZERO);
    assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
    assert!(
        parsed.warnings[0].contains("timed out"),
        "{}",
        parsed.warnings[0]
    );
    assert_eq!(parsed.analysis.functions_found, 0);
    assert!(
        parsed
            .chunks
            .iter()
            .all(|chunk| chunk.kind.as_str() == "window")
    );
}

/// Nested definitions, one per line, with each level's opening and closing text.
fn nested_lines(open: &str, close: &str, depth: usize) -> String {
    let mut text = String::with_capacity(depth * (open.len() + close.len() + 2));
    for _ in 0..depth {
        text.push_str(open);
        text.push('\n');
    }
    for _ in 0..depth {
        text.push_str(close);
        text.push('\n');
    }
    text
}

/// 100,000 nested definitions must give chunks whose count, text and symbols grow linearly
/// with the file, because each piece of a nested member owns a copy of its qualified name.
#[test]
fn deep_definitions_stay_linear() {
    const DEPTH: usize = 100_000;
    let cases: Vec<(&'static str, String)> = vec![
        ("classes.java", nested_lines("class A{", "}", DEPTH)),
        ("unclosed.java", "class A{\n".repeat(DEPTH)),
        ("modules.rs", nested_lines("mod a {", "}", DEPTH)),
        ("namespaces.cs", nested_lines("namespace A {", "}", DEPTH)),
        ("namespaces.ts", nested_lines("namespace A {", "}", DEPTH)),
        ("modules.rb", nested_lines("module A", "end", DEPTH)),
        ("functions.js", nested_lines("function f(){", "}", DEPTH)),
        ("namespaces.cpp", nested_lines("namespace a {", "}", DEPTH)),
    ];
    for (path, text) in cases {
        let input_bytes = text.len();
        let (parsed, elapsed) = parse_on_small_stack(path, text);
        let chunk_bytes: usize = parsed.chunks.iter().map(|chunk| chunk.text.len()).sum();
        let symbol_bytes: usize = parsed
            .chunks
            .iter()
            .filter_map(|chunk| chunk.symbol.as_ref())
            .map(String::len)
            .sum();
        let longest_symbol = parsed
            .chunks
            .iter()
            .filter_map(|chunk| chunk.symbol.as_ref())
            .map(String::len)
            .max()
            .unwrap_or(0);
        assert!(!parsed.chunks.is_empty(), "{path}: no chunks");
        assert!(
            parsed.chunks.len() <= input_bytes,
            "{path}: {} chunks for {input_bytes} bytes",
            parsed.chunks.len()
        );
        assert!(
            chunk_bytes <= input_bytes,
            "{path}: {chunk_bytes} chunk bytes for {input_bytes} input bytes"
        );
        assert!(
            longest_symbol <= 700,
            "{path}: a symbol is {longest_symbol} bytes long"
        );
        assert!(
            symbol_bytes <= 4 * input_bytes,
            "{path}: {symbol_bytes} symbol bytes for {input_bytes} input bytes"
        );
        assert!(elapsed < TIME_LIMIT, "{path}: took {elapsed:?}");
    }
}
