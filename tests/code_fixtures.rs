//! Parses every file of `tests/fixtures/polyglot` and checks chunk counts and analysis values.
//!
//! The function, class and complexity values were counted by hand from the sources, following
//! the rules documented in `src/code/analysis.rs`.

use std::path::{Path, PathBuf};

use mcp_code_index::code::{
    ChunkKind, ChunkLimits, Language, ParsedFile, ReadLimits, ReadOutcome, SourceText,
    parse_source, read_path,
};

const FIXTURE_DIR: &str = "tests/fixtures/polyglot";

struct Expected {
    file: &'static str,
    language: Language,
    chunks: usize,
    functions: usize,
    classes: usize,
    complexity: f64,
}

const fn expected(
    file: &'static str,
    language: Language,
    chunks: usize,
    functions: usize,
    classes: usize,
    complexity: f64,
) -> Expected {
    Expected {
        file,
        language,
        chunks,
        functions,
        classes,
        complexity,
    }
}

const EXPECTED: &[Expected] = &[
    expected("inventory.py", Language::Python, 19, 15, 2, 2.93),
    expected("router.js", Language::JavaScript, 5, 6, 1, 3.33),
    expected("cache.ts", Language::TypeScript, 7, 5, 3, 2.6),
    expected("TodoList.tsx", Language::Tsx, 7, 4, 2, 2.25),
    expected("queue.rs", Language::Rust, 10, 11, 4, 2.09),
    expected("shapes.go", Language::Go, 11, 6, 3, 2.5),
    expected("Ledger.java", Language::Java, 2, 6, 3, 2.83),
    expected("ring.c", Language::C, 9, 6, 2, 2.83),
    expected("matrix.cpp", Language::Cpp, 4, 9, 1, 2.33),
    expected("Scheduler.cs", Language::CSharp, 2, 5, 3, 3.0),
    expected("parser.rb", Language::Ruby, 3, 5, 3, 2.8),
    expected("cart.php", Language::Php, 6, 6, 4, 2.0),
    expected("deploy.sh", Language::Bash, 6, 4, 0, 2.25),
    expected("README.md", Language::Text, 1, 0, 0, 0.0),
];

fn read_fixture(path: &Path) -> SourceText {
    match read_path(path, &ReadLimits::default()) {
        Ok(ReadOutcome::Source(source)) => source,
        other => panic!("cannot read fixture {}: {other:?}", path.display()),
    }
}

/// Lists the fixture files the indexer would see: regular files, without the dot-files and the
/// `generated/` directory that the fixture's `.gitignore` excludes.
fn indexed_fixture_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(FIXTURE_DIR)
        .expect("fixture directory exists")
        .map(|entry| entry.expect("fixture entry is readable").path())
        .filter(|path| path.is_file())
        .filter(|path| !path.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    files
}

/// Checks the properties every chunk list must have, whatever the limits.
fn assert_chunk_invariants(source: &SourceText, parsed: &ParsedFile, limits: &ChunkLimits) {
    let text = &source.text;
    let mut covered_end = 0;
    for chunk in &parsed.chunks {
        let context = format!(
            "{} chunk {:?} at {}",
            source.path, chunk.symbol, chunk.start_byte
        );
        assert!(
            chunk.start_byte >= covered_end,
            "{context}: overlaps the previous chunk"
        );
        assert!(chunk.start_byte < chunk.end_byte, "{context}: empty");
        assert!(
            chunk.text.len() <= limits.max_chunk_bytes,
            "{context}: too large"
        );
        assert_eq!(
            chunk.text,
            text[chunk.start_byte..chunk.end_byte],
            "{context}: text"
        );
        let gap = &text[covered_end..chunk.start_byte];
        assert!(
            gap.trim().is_empty(),
            "{context}: text before it is in no chunk: {gap:?}"
        );
        let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
        assert_eq!(
            chunk.start_line,
            line_of(chunk.start_byte),
            "{context}: start_line"
        );
        assert_eq!(
            chunk.end_line,
            line_of(chunk.end_byte - 1),
            "{context}: end_line"
        );
        covered_end = chunk.end_byte;
    }
    let tail = &text[covered_end..];
    assert!(
        tail.trim().is_empty(),
        "{}: text after the last chunk: {tail:?}",
        source.path
    );
}

#[test]
fn fixtures_match_expected_counts() {
    let limits = ChunkLimits::default();
    for expected in EXPECTED {
        let path = Path::new(FIXTURE_DIR).join(expected.file);
        let source = read_fixture(&path);
        assert_eq!(source.language, expected.language, "{}", expected.file);
        assert!(
            source.warnings.is_empty(),
            "{}: {:?}",
            expected.file,
            source.warnings
        );

        let parsed = parse_source(&source, &limits);
        assert!(
            parsed.warnings.is_empty(),
            "{}: {:?}",
            expected.file,
            parsed.warnings
        );
        assert_eq!(
            parsed.chunks.len(),
            expected.chunks,
            "{} chunks",
            expected.file
        );
        let analysis = &parsed.analysis;
        assert_eq!(
            analysis.functions_found, expected.functions,
            "{} functions",
            expected.file
        );
        assert_eq!(
            analysis.classes_found, expected.classes,
            "{} classes",
            expected.file
        );
        assert_eq!(
            analysis.complexity_score, expected.complexity,
            "{} score",
            expected.file
        );
    }
}

#[test]
fn fixtures_cover_every_indexed_file() {
    let listed: Vec<&str> = EXPECTED.iter().map(|expected| expected.file).collect();
    for path in indexed_fixture_files() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            listed.contains(&name.as_str()),
            "{name} has no expected values"
        );
    }
    assert_eq!(indexed_fixture_files().len(), EXPECTED.len());
}

#[test]
fn fixture_totals() {
    let limits = ChunkLimits::default();
    let (mut chunks, mut functions, mut classes) = (0, 0, 0);
    for path in indexed_fixture_files() {
        let parsed = parse_source(&read_fixture(&path), &limits);
        chunks += parsed.chunks.len();
        functions += parsed.analysis.functions_found;
        classes += parsed.analysis.classes_found;
    }
    assert_eq!((chunks, functions, classes), (92, 88, 31));
}

#[test]
fn fixture_chunks_keep_invariants() {
    let limit_sets = [
        ChunkLimits::default(),
        ChunkLimits {
            max_chunk_bytes: 500,
            min_chunk_bytes: 100,
            window_lines: 30,
        },
        ChunkLimits {
            max_chunk_bytes: 64,
            min_chunk_bytes: 0,
            window_lines: 3,
        },
    ];
    for limits in &limit_sets {
        for path in indexed_fixture_files() {
            let source = read_fixture(&path);
            let parsed = parse_source(&source, limits);
            assert_chunk_invariants(&source, &parsed, limits);
        }
    }
}

#[test]
fn large_python_class_splits_into_methods() {
    let source = read_fixture(&Path::new(FIXTURE_DIR).join("inventory.py"));
    let parsed = parse_source(&source, &ChunkLimits::default());
    let symbols: Vec<(ChunkKind, Option<&str>)> = parsed
        .chunks
        .iter()
        .map(|chunk| (chunk.kind, chunk.symbol.as_deref()))
        .collect();
    assert_eq!(symbols[0], (ChunkKind::Block, None));
    assert_eq!(symbols[1], (ChunkKind::Class, Some("Item")));
    assert_eq!(symbols[2], (ChunkKind::Class, Some("Warehouse")));
    assert_eq!(symbols[3], (ChunkKind::Method, Some("Warehouse.__init__")));
    assert_eq!(symbols[14], (ChunkKind::Method, Some("Warehouse.audit")));
    assert_eq!(symbols[15], (ChunkKind::Function, Some("parse_line")));
    assert_eq!(symbols[17], (ChunkKind::Function, Some("normalize")));
    assert_eq!(symbols[18], (ChunkKind::Block, None));
    assert!(parsed.chunks[1].text.starts_with("@dataclass"));
    assert!(parsed.chunks[2].text.contains("deliberately larger"));
}

#[test]
fn small_limits_split_brace_classes() {
    let limits = ChunkLimits {
        max_chunk_bytes: 500,
        min_chunk_bytes: 100,
        window_lines: 30,
    };
    let cases: &[(&str, &[(ChunkKind, &str)])] = &[
        (
            "Ledger.java",
            &[
                (ChunkKind::Class, "Ledger"),
                (ChunkKind::Enum, "Ledger.AccountType"),
                (ChunkKind::Method, "Ledger.open"),
            ],
        ),
        (
            "matrix.cpp",
            &[
                (ChunkKind::Module, "linalg"),
                (ChunkKind::Class, "linalg.Matrix"),
                (ChunkKind::Method, "linalg.Matrix.rows"),
                (ChunkKind::Function, "linalg.identity"),
            ],
        ),
        (
            "parser.rb",
            &[
                (ChunkKind::Module, "Fixtures"),
                (ChunkKind::Class, "Fixtures.ArgParser"),
                (ChunkKind::Method, "Fixtures.ArgParser.parse"),
                (ChunkKind::Function, "summarize"),
            ],
        ),
        ("cache.ts", &[(ChunkKind::Method, "TtlCache.get")]),
        ("queue.rs", &[(ChunkKind::Method, "BoundedQueue.push")]),
    ];
    for (file, wanted) in cases {
        let source = read_fixture(&Path::new(FIXTURE_DIR).join(file));
        let parsed = parse_source(&source, &limits);
        for (kind, symbol) in *wanted {
            let found = parsed
                .chunks
                .iter()
                .any(|chunk| chunk.kind == *kind && chunk.symbol.as_deref() == Some(symbol));
            assert!(found, "{file}: no {} chunk {symbol}", kind.as_str());
        }
    }
}

#[test]
fn cpp_namespace_tail_comment_joins_last_chunk() {
    let source = read_fixture(&Path::new(FIXTURE_DIR).join("matrix.cpp"));
    let parsed = parse_source(&source, &ChunkLimits::default());
    let namespace = &parsed.chunks[1];
    assert_eq!(namespace.kind, ChunkKind::Module);
    assert!(namespace.text.ends_with("}  // namespace linalg"));
}
