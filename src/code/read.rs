//! Reading files and in-memory buffers into UTF-8 source text, skipping what should not be indexed.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::language::Language;

/// Limits applied while reading a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadLimits {
    /// Files larger than this many bytes are skipped without being read (default 2 MiB).
    pub max_file_bytes: u64,
    /// A file with a longer line, in bytes, is treated as minified or generated (default 5000).
    pub max_line_bytes: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_file_bytes: 2 * 1024 * 1024,
            max_line_bytes: 5_000,
        }
    }
}

/// A decoded file, ready for [`super::parse_source`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceText {
    /// The path as given by the caller, used in messages and stored in the index.
    pub path: String,
    /// The detected language. [`Language::Text`] for minified files, see [`decode_bytes`].
    pub language: Language,
    /// The decoded text. A UTF-8 byte order mark is removed, so chunk byte offsets count from
    /// the first character after it. CRLF line endings are kept.
    pub text: String,
    /// Size of the raw bytes.
    pub size_bytes: u64,
    /// SHA-256 of the raw bytes, lowercase hex.
    pub content_hash: String,
    /// Problems found while decoding, each a sentence that names the path.
    pub warnings: Vec<String>,
}

/// Result of reading one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOutcome {
    Source(SourceText),
    /// The file was not indexed. `reason` is a warning sentence that names the path and the
    /// cause, such as "skipped /x/a.bin: binary file (NUL byte at offset 12)".
    Skipped {
        path: String,
        reason: String,
    },
}

/// Failure to read the file itself. Unsuitable content is a [`ReadOutcome::Skipped`] instead.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("file not found: {path}")]
    NotFound { path: String },
    #[error("not a regular file: {path}")]
    NotAFile { path: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// How many leading bytes are searched for NUL bytes and generated-code markers.
const SNIFF_BYTES: usize = 8 * 1024;

/// Reads and decodes a file, checking its size from metadata before reading it.
///
/// Symbolic links are followed. The file is read through a limit of `max_file_bytes + 1`
/// bytes, so a file that grows after the metadata check is still not read whole.
pub fn read_path(path: &Path, limits: &ReadLimits) -> Result<ReadOutcome, ReadError> {
    let display = path.display().to_string();
    let io_error = |source: io::Error| match source.kind() {
        io::ErrorKind::NotFound => ReadError::NotFound {
            path: display.clone(),
        },
        _ => ReadError::Io {
            path: display.clone(),
            source,
        },
    };
    let metadata = std::fs::metadata(path).map_err(io_error)?;
    if !metadata.is_file() {
        return Err(ReadError::NotAFile { path: display });
    }
    if metadata.len() > limits.max_file_bytes {
        return Ok(too_large(display, metadata.len(), limits));
    }

    let file = File::open(path).map_err(io_error)?;
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(limits.max_file_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > limits.max_file_bytes {
        return Ok(too_large(display, bytes.len() as u64, limits));
    }
    Ok(decode_bytes(&display, &bytes, limits))
}

fn too_large(path: String, size: u64, limits: &ReadLimits) -> ReadOutcome {
    let reason = format!(
        "skipped {path}: file is {size} bytes, more than the {}-byte limit",
        limits.max_file_bytes
    );
    ReadOutcome::Skipped { path, reason }
}

/// Decodes a file's bytes, or an unsaved editor buffer, into a [`SourceText`].
///
/// The language comes from the path, then from a shebang line. The outcome is `Skipped` when
/// the file type is not indexed, the buffer is larger than `max_file_bytes`, it contains a NUL
/// byte in its first 8 KiB without a UTF-16 byte order mark (binary), or it is invalid UTF-16.
/// Otherwise the text is decoded with these warnings:
///
/// - a UTF-8 byte order mark is stripped (no warning);
/// - UTF-16 LE or BE with a byte order mark is converted to UTF-8, with a warning;
/// - invalid UTF-8 is replaced with U+FFFD, with a warning naming the first bad offset;
/// - a line longer than `max_line_bytes` marks the file as minified or generated: its language
///   becomes [`Language::Text`], so it is chunked by line and byte windows instead of being
///   parsed, with a warning;
/// - an `@generated` or `Code generated ... DO NOT EDIT` marker in the first 10 lines adds a warning.
pub fn decode_bytes(path: &str, bytes: &[u8], limits: &ReadLimits) -> ReadOutcome {
    let skip = |cause: String| ReadOutcome::Skipped {
        path: path.to_string(),
        reason: format!("skipped {path}: {cause}"),
    };
    if bytes.len() as u64 > limits.max_file_bytes {
        return too_large(path.to_string(), bytes.len() as u64, limits);
    }
    let mut warnings = Vec::new();
    let text = match decode_text(bytes) {
        Ok(Decoded::Utf8(text)) => text,
        Ok(Decoded::Utf16(text, order)) => {
            warnings.push(format!("{path}: converted from UTF-16 {order} to UTF-8"));
            text
        }
        Ok(Decoded::Lossy(text, offset)) => {
            warnings.push(format!(
                "{path}: invalid UTF-8 at byte offset {offset}; invalid bytes were replaced \
                 with U+FFFD, so later chunk offsets differ from file offsets"
            ));
            text
        }
        Err(cause) => return skip(cause),
    };

    let first_line = text.lines().next().unwrap_or_default();
    let Some(mut language) =
        Language::from_path(Path::new(path)).or_else(|| Language::from_shebang(first_line))
    else {
        return skip("file type is not indexed".to_string());
    };

    if let Some((line_number, length)) = first_long_line(&text, limits.max_line_bytes) {
        warnings.push(format!(
            "{path}: line {line_number} is {length} bytes, more than the {}-byte line limit; \
             treating the file as minified or generated text and chunking it by line windows \
             instead of parsing it as {}",
            limits.max_line_bytes,
            language.name()
        ));
        language = Language::Text;
    }
    if let Some(marker) = generated_marker(&text) {
        warnings.push(format!("{path}: looks generated (contains \"{marker}\")"));
    }

    ReadOutcome::Source(SourceText {
        path: path.to_string(),
        language,
        text,
        size_bytes: bytes.len() as u64,
        content_hash: hex::encode(Sha256::digest(bytes)),
        warnings,
    })
}

enum Decoded {
    Utf8(String),
    Utf16(String, &'static str),
    /// Lossy UTF-8, with the offset of the first invalid byte.
    Lossy(String, usize),
}

/// Decodes by byte order mark, or as UTF-8. Returns the skip cause for binary and bad UTF-16.
fn decode_text(bytes: &[u8]) -> Result<Decoded, String> {
    let (body, big_endian) = match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => return decode_utf8(rest),
        [0xFF, 0xFE, rest @ ..] => (rest, false),
        [0xFE, 0xFF, rest @ ..] => (rest, true),
        _ => return decode_utf8(bytes),
    };
    let order = if big_endian { "BE" } else { "LE" };
    if body.len() % 2 != 0 {
        return Err(format!("invalid UTF-16 {order} (odd number of bytes)"));
    }
    let units = body.chunks_exact(2).map(|pair| {
        let pair = [pair[0], pair[1]];
        if big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    });
    let text: String = char::decode_utf16(units)
        .collect::<Result<_, _>>()
        .map_err(|error| format!("invalid UTF-16 {order} ({error})"))?;
    if let Some(position) = text.find('\0') {
        return Err(format!(
            "binary file (NUL character at offset {position} after UTF-16 {order} decoding)"
        ));
    }
    Ok(Decoded::Utf16(text, order))
}

fn decode_utf8(bytes: &[u8]) -> Result<Decoded, String> {
    let sniffed = &bytes[..bytes.len().min(SNIFF_BYTES)];
    if let Some(offset) = sniffed.iter().position(|&byte| byte == 0) {
        return Err(format!("binary file (NUL byte at offset {offset})"));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(Decoded::Utf8(text.to_string())),
        Err(error) => Ok(Decoded::Lossy(
            String::from_utf8_lossy(bytes).into_owned(),
            error.valid_up_to(),
        )),
    }
}

/// Returns the 1-based number and byte length of the first line longer than `max_bytes`.
fn first_long_line(text: &str, max_bytes: usize) -> Option<(usize, usize)> {
    text.split('\n')
        .enumerate()
        .find(|(_, line)| line.len() > max_bytes)
        .map(|(index, line)| (index + 1, line.len()))
}

/// Lines searched for a generated-code marker. Generators write it in a header comment, so a
/// marker further down (a string constant, a test fixture, a comment about other files) does
/// not make the file generated.
const MARKER_LINES: usize = 10;

/// Finds a generated-code marker in the first [`MARKER_LINES`] lines of the first 8 KiB:
/// `@generated`, or Go's `Code generated ... DO NOT EDIT.` convention.
fn generated_marker(text: &str) -> Option<&'static str> {
    let mut head_end = text.len().min(SNIFF_BYTES);
    while !text.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let header: Vec<&str> = text[..head_end].lines().take(MARKER_LINES).collect();
    if header.iter().any(|line| line.contains("@generated")) {
        return Some("@generated");
    }
    let go_marker = header
        .iter()
        .any(|line| line.contains("Code generated") && line.contains("DO NOT EDIT"));
    go_marker.then_some("Code generated ... DO NOT EDIT")
}
