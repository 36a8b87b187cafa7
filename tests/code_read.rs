//! Reading edge cases: sizes, encodings, binary files, line endings and minified files.

use std::fs;
use std::io::Write;
use std::path::Path;

use mcp_code_index::code::{
    ChunkKind, ChunkLimits, Language, ReadError, ReadLimits, ReadOutcome, SourceText, decode_bytes,
    parse_source, read_path,
};

fn read_source(path: &Path) -> SourceText {
    match read_path(path, &ReadLimits::default()) {
        Ok(ReadOutcome::Source(source)) => source,
        other => panic!("expected source for {}, got {other:?}", path.display()),
    }
}

fn skip_reason(outcome: ReadOutcome) -> String {
    match outcome {
        ReadOutcome::Skipped { reason, .. } => reason,
        ReadOutcome::Source(source) => panic!("{} was not skipped", source.path),
    }
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut bytes = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in text.encode_utf16() {
        let pair = if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        };
        bytes.extend_from_slice(&pair);
    }
    bytes
}

#[test]
fn empty_file_has_no_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.py");
    fs::write(&path, b"").unwrap();
    let source = read_source(&path);
    assert_eq!(source.text, "");
    assert_eq!(source.size_bytes, 0);
    assert_eq!(
        source.content_hash,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let parsed = parse_source(&source, &ChunkLimits::default());
    assert!(parsed.chunks.is_empty());
    assert_eq!(parsed.analysis.functions_found, 0);
    assert!(parsed.warnings.is_empty());
}

#[test]
fn missing_path_and_directory_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = read_path(&dir.path().join("absent.py"), &ReadLimits::default());
    assert!(
        matches!(missing, Err(ReadError::NotFound { .. })),
        "{missing:?}"
    );
    let directory = read_path(dir.path(), &ReadLimits::default());
    assert!(
        matches!(directory, Err(ReadError::NotAFile { .. })),
        "{directory:?}"
    );
}

#[test]
fn binary_file_is_skipped() {
    let mut bytes = b"def f():\n  ".to_vec();
    bytes.push(0);
    bytes.extend_from_slice(b"rest");
    let reason = skip_reason(decode_bytes("/x/a.py", &bytes, &ReadLimits::default()));
    assert_eq!(
        reason,
        "skipped /x/a.py: binary file (NUL byte at offset 11)"
    );
}

#[test]
fn unindexed_file_type_is_skipped() {
    let reason = skip_reason(decode_bytes("/x/logo.png", b"text", &ReadLimits::default()));
    assert_eq!(reason, "skipped /x/logo.png: file type is not indexed");
}

#[test]
fn shebang_sets_language_without_extension() {
    let outcome = decode_bytes(
        "bin/tool",
        b"#!/usr/bin/env python3\nprint(1)\n",
        &ReadLimits::default(),
    );
    let ReadOutcome::Source(source) = outcome else {
        panic!("bin/tool was skipped");
    };
    assert_eq!(source.language, Language::Python);
}

#[test]
fn oversized_file_is_skipped_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.py");
    let file = fs::File::create(&path).unwrap();
    // A sparse 5 MB file: reading it whole would be wasted work, and the size check must
    // come from metadata.
    file.set_len(5_000_000).unwrap();
    let reason = skip_reason(read_path(&path, &ReadLimits::default()).unwrap());
    assert_eq!(
        reason,
        format!(
            "skipped {}: file is 5000000 bytes, more than the 2097152-byte limit",
            path.display()
        )
    );
}

#[test]
fn oversized_buffer_is_skipped() {
    let limits = ReadLimits {
        max_file_bytes: 10,
        ..ReadLimits::default()
    };
    let reason = skip_reason(decode_bytes("a.py", b"x = 1234567890", &limits));
    assert_eq!(
        reason,
        "skipped a.py: file is 14 bytes, more than the 10-byte limit"
    );
}

#[test]
fn one_megabyte_line_is_chunked_by_windows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.js");
    let mut file = fs::File::create(&path).unwrap();
    for index in 0..80_000 {
        write!(file, "var v{index}=1;").unwrap();
    }
    drop(file);

    let source = read_source(&path);
    assert!(source.text.len() > 1_000_000);
    assert_eq!(source.language, Language::Text);
    assert_eq!(source.warnings.len(), 1, "{:?}", source.warnings);
    assert!(
        source.warnings[0].contains("minified"),
        "{}",
        source.warnings[0]
    );

    let parsed = parse_source(&source, &ChunkLimits::default());
    assert!(parsed.chunks.len() > 100);
    for chunk in &parsed.chunks {
        assert!(
            chunk.text.len() <= 4000,
            "chunk of {} bytes",
            chunk.text.len()
        );
        assert_eq!(chunk.kind, ChunkKind::Window);
        assert_eq!((chunk.start_line, chunk.end_line), (1, 1));
    }
    // Cuts prefer a space, which trimming removes, so compare without whitespace.
    let non_whitespace = |text: &str| text.split_whitespace().collect::<String>();
    let chunked: String = parsed
        .chunks
        .iter()
        .map(|chunk| non_whitespace(&chunk.text))
        .collect();
    assert!(
        chunked == non_whitespace(&source.text),
        "chunks lost or repeated text"
    );
}

#[test]
fn single_multibyte_line_splits_on_char_boundaries() {
    let text = "é".repeat(600_000);
    let ReadOutcome::Source(source) =
        decode_bytes("notes.txt", text.as_bytes(), &ReadLimits::default())
    else {
        panic!("notes.txt was skipped");
    };
    let parsed = parse_source(&source, &ChunkLimits::default());
    let total: usize = parsed.chunks.iter().map(|chunk| chunk.text.len()).sum();
    assert_eq!(total, text.len());
    assert!(parsed.chunks.iter().all(|chunk| chunk.text.len() <= 4000));
}

#[test]
fn utf16_with_bom_is_converted() {
    let code = "def greet(name):\n    if name:\n        return name\n";
    for (big_endian, order) in [(false, "LE"), (true, "BE")] {
        let bytes = utf16(code, big_endian);
        let ReadOutcome::Source(source) = decode_bytes("g.py", &bytes, &ReadLimits::default())
        else {
            panic!("UTF-16 {order} was skipped");
        };
        assert_eq!(source.text, code, "{order}");
        assert_eq!(source.size_bytes, bytes.len() as u64, "{order}");
        assert_eq!(
            source.warnings,
            [format!("g.py: converted from UTF-16 {order} to UTF-8")]
        );
        let parsed = parse_source(&source, &ChunkLimits::default());
        assert_eq!(parsed.analysis.functions_found, 1, "{order}");
        assert_eq!(parsed.analysis.complexity_score, 2.0, "{order}");
    }
}

#[test]
fn invalid_utf16_is_skipped() {
    let odd = [0xFF, 0xFE, b'a', 0, b'b'];
    let reason = skip_reason(decode_bytes("a.py", &odd, &ReadLimits::default()));
    assert_eq!(
        reason,
        "skipped a.py: invalid UTF-16 LE (odd number of bytes)"
    );

    let unpaired_surrogate = [0xFE, 0xFF, 0xD8, 0x00, 0x00, b'a'];
    let reason = skip_reason(decode_bytes(
        "a.py",
        &unpaired_surrogate,
        &ReadLimits::default(),
    ));
    assert!(
        reason.starts_with("skipped a.py: invalid UTF-16 BE"),
        "{reason}"
    );
}

#[test]
fn utf8_bom_is_stripped() {
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(b"def f():\n    return 1\n");
    let ReadOutcome::Source(source) = decode_bytes("f.py", &bytes, &ReadLimits::default()) else {
        panic!("f.py was skipped");
    };
    assert_eq!(source.text, "def f():\n    return 1\n");
    assert!(source.warnings.is_empty());
    assert_eq!(source.size_bytes, bytes.len() as u64);
    let parsed = parse_source(&source, &ChunkLimits::default());
    assert_eq!(parsed.chunks[0].start_byte, 0);
    assert_eq!(parsed.chunks[0].symbol.as_deref(), Some("f"));
}

#[test]
fn crlf_line_numbers_count_newlines() {
    let code = "import os\r\n\r\ndef a():\r\n    return 1\r\n\r\n\r\ndef b():\r\n    return 2\r\n";
    let ReadOutcome::Source(source) =
        decode_bytes("crlf.py", code.as_bytes(), &ReadLimits::default())
    else {
        panic!("crlf.py was skipped");
    };
    assert_eq!(source.text, code);
    let parsed = parse_source(&source, &ChunkLimits::default());
    let lines: Vec<(Option<&str>, usize, usize)> = parsed
        .chunks
        .iter()
        .map(|chunk| (chunk.symbol.as_deref(), chunk.start_line, chunk.end_line))
        .collect();
    assert_eq!(lines, [(None, 1, 1), (Some("a"), 3, 4), (Some("b"), 7, 8)]);
    assert_eq!(parsed.chunks[1].text, "def a():\r\n    return 1");
}

#[test]
fn invalid_utf8_is_decoded_lossily() {
    let bytes = b"x = 1\ny = '\xff\xfe'\n";
    let ReadOutcome::Source(source) = decode_bytes("bad.py", bytes, &ReadLimits::default()) else {
        panic!("bad.py was skipped");
    };
    assert_eq!(source.text, "x = 1\ny = '\u{FFFD}\u{FFFD}'\n");
    assert_eq!(source.warnings.len(), 1);
    assert!(source.warnings[0].starts_with("bad.py: invalid UTF-8 at byte offset 11"));
    let parsed = parse_source(&source, &ChunkLimits::default());
    assert_eq!(parsed.chunks.len(), 1);
}

#[test]
fn generated_markers_add_warning() {
    let cases = [
        (
            "gen.go",
            "// Code generated by protoc-gen-go. DO NOT EDIT.\npackage pb\n",
        ),
        ("gen.py", "# @generated by a tool\nx = 1\n"),
    ];
    for (path, code) in cases {
        let ReadOutcome::Source(source) =
            decode_bytes(path, code.as_bytes(), &ReadLimits::default())
        else {
            panic!("{path} was skipped");
        };
        assert_eq!(source.warnings.len(), 1, "{path}: {:?}", source.warnings);
        assert!(source.warnings[0].contains("looks generated"), "{path}");
    }
}

#[test]
fn generated_marker_outside_header_ignored() {
    let body = "x = 1\n".repeat(20);
    let cases = [
        ("late.py", format!("{body}# @generated by a tool\n")),
        (
            "late.go",
            format!("package pb\n{body}// Code generated by a tool. DO NOT EDIT.\n"),
        ),
        (
            "string.js",
            format!("{body}const marker = \"@generated\";\n"),
        ),
    ];
    for (path, code) in cases {
        let ReadOutcome::Source(source) =
            decode_bytes(path, code.as_bytes(), &ReadLimits::default())
        else {
            panic!("{path} was skipped");
        };
        assert!(source.warnings.is_empty(), "{path}: {:?}", source.warnings);
    }
}

#[test]
fn syntax_errors_add_warning() {
    let code = "def ok():\n    return 1\n\ndef broken(:\n    pass\n";
    let ReadOutcome::Source(source) =
        decode_bytes("broken.py", code.as_bytes(), &ReadLimits::default())
    else {
        panic!("broken.py was skipped");
    };
    let parsed = parse_source(&source, &ChunkLimits::default());
    assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
    assert!(parsed.warnings[0].starts_with("broken.py: syntax errors from line 4"));
    let non_whitespace = |text: &str| text.split_whitespace().collect::<String>();
    let chunked: String = parsed
        .chunks
        .iter()
        .map(|chunk| non_whitespace(&chunk.text))
        .collect();
    assert_eq!(chunked, non_whitespace(code));
}
