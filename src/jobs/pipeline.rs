//! The processing pipeline: read, parse, chunk, analyse, embed and store.
//!
//! Everything here is blocking CPU and file work; the job runner calls it from
//! `spawn_blocking` so the async runtime's reactor threads stay free.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::model::{AnalysisResult, JobError, Metrics, Progress, ResultData, VectorStorage};
use crate::code::{self, ChunkLimits, ReadLimits, ReadOutcome, SourceText};
use crate::embed::{EmbedError, Embedder, InputKind, chunk_embedding_text, rejects_any_text};
use crate::index::{CodeIndex, FileRecord, NewChunk};
use crate::store::StoreError;

/// Chunks embedded per call, with a cancellation check between calls.
const EMBED_SLICE: usize = 64;

/// Everything a job needs to process files.
pub struct PipelineContext<'a> {
    pub index: Arc<dyn CodeIndex>,
    pub embedder: Arc<dyn Embedder>,
    pub read_limits: ReadLimits,
    pub chunk_limits: ChunkLimits,
    pub collection: String,
    /// Creation time of the job in Unix nanoseconds. Files stored by a job created later are
    /// not replaced or removed by this one.
    pub source_version: i64,
    pub cancel: CancellationToken,
    /// Cancelled when the server shuts down; the job then stops and resumes
    /// after the next start.
    pub interrupt: CancellationToken,
    /// Called after each file with the counters so far.
    pub on_progress: &'a (dyn Fn(&Progress) + Sync),
}

impl PipelineContext<'_> {
    /// Returns why the job must stop now, if it must.
    fn check_stop(&self) -> Result<(), JobStop> {
        if self.cancel.is_cancelled() {
            Err(JobStop::Cancelled)
        } else if self.interrupt.is_cancelled() {
            Err(JobStop::Interrupted)
        } else {
            Ok(())
        }
    }
}

/// Output of a successful job.
#[derive(Debug, Clone)]
pub struct JobOutput {
    pub result: ResultData,
    pub metrics: Metrics,
    pub warnings: Vec<String>,
}

/// Reason a job stopped early.
#[derive(Debug)]
pub enum JobStop {
    Failed(JobError),
    Cancelled,
    /// The server is shutting down; the job is left to resume after restart.
    Interrupted,
}

impl From<StoreError> for JobStop {
    fn from(error: StoreError) -> Self {
        JobStop::Failed(JobError::new(
            "STORAGE_FAILED",
            format!("writing to the index failed: {error}"),
            json!({}),
        ))
    }
}

/// Totals over the files of one job.
#[derive(Default)]
struct Totals {
    vector_ids: Vec<String>,
    functions: usize,
    classes: usize,
    /// Sum of per-function complexities, to compute the job-wide mean.
    complexity_sum: f64,
    bytes: u64,
    warnings: Vec<String>,
    progress: Progress,
    files_removed: usize,
}

impl Totals {
    fn add_analysis(&mut self, record: &FileRecord) {
        self.functions += record.functions_found;
        self.classes += record.classes_found;
        self.complexity_sum += record.complexity_sum;
        self.bytes += record.size_bytes;
    }

    /// Counts a file whose content hash matches its stored record: its
    /// analysis joins the totals, and nothing is parsed or embedded.
    fn add_unchanged(&mut self, record: &FileRecord) {
        self.add_analysis(record);
        self.progress.files_unchanged += 1;
    }

    fn analysis(&self) -> AnalysisResult {
        let complexity_score = if self.functions == 0 {
            0.0
        } else {
            (self.complexity_sum / self.functions as f64 * 100.0).round() / 100.0
        };
        AnalysisResult {
            functions_found: self.functions,
            classes_found: self.classes,
            complexity_score,
        }
    }

    fn into_output(
        self,
        file_path: String,
        collection: String,
        started: std::time::Instant,
    ) -> JobOutput {
        let analysis_result = self.analysis();
        let chunks = self.vector_ids.len();
        JobOutput {
            result: ResultData {
                chunks_processed: chunks,
                file_path,
                vector_storage: VectorStorage {
                    collection_name: collection,
                    embeddings_generated: chunks,
                    storage_success: true,
                    vector_ids: self.vector_ids,
                },
                analysis_result,
                language: None,
                files_processed: None,
                files_skipped: None,
                files_unchanged: None,
                files_removed: None,
                chunks_removed: None,
            },
            metrics: Metrics {
                processing_time_ms: started.elapsed().as_millis() as u64,
                chunks_count: chunks,
                file_size_bytes: self.bytes,
            },
            warnings: self.warnings,
        }
    }
}

/// Resolves a client-supplied path against the server's working directory, so that every
/// spelling of one file is stored under one path.
///
/// An existing path is canonicalized, which resolves symbolic links, `.` and `..`. A path that
/// does not exist (a `content` job for an unsaved file) is made absolute, its `.` and `..`
/// components are removed lexically, and its parent directory is canonicalized if it exists.
fn resolve(path: &str) -> PathBuf {
    if let Ok(canonical) = std::fs::canonicalize(path) {
        return canonical;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| PathBuf::from(path));
    let normalized = normalize_lexically(&absolute);
    let parent = normalized.parent().map(std::fs::canonicalize);
    match (parent, normalized.file_name()) {
        (Some(Ok(parent)), Some(name)) => parent.join(name),
        _ => normalized,
    }
}

/// Removes `.` and `..` components without touching the file system. `..` at the root stays
/// at the root, as the kernel resolves it.
fn normalize_lexically(path: &Path) -> PathBuf {
    let mut normalized = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normalized.pop();
            }
            other => normalized.push(other),
        }
    }
    normalized
}

/// Checks a client-supplied path before the job is queued: a path with a NUL character cannot
/// be opened, and a `file_path` with a trailing slash names a directory.
pub fn check_path(key: &str, path: &str) -> Result<(), String> {
    if path.contains('\0') {
        return Err(format!(
            "metadata.{key} contains a NUL character, which no path can contain"
        ));
    }
    if key == "file_path" && path.ends_with(std::path::MAIN_SEPARATOR) {
        return Err(format!(
            "metadata.file_path {path:?} ends with {:?}, so it names a directory; pass the \
             file's path without it, or use workspace_indexing for a directory",
            std::path::MAIN_SEPARATOR
        ));
    }
    Ok(())
}

/// Names the JSON type of `value` for error messages ("an object", "a number"). Messages name
/// the type and never echo the value, which may contain a secret.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Returns the string value of a metadata key, or a failure naming the key.
pub fn required_string<'m>(metadata: &'m Map<String, Value>, key: &str) -> Result<&'m str, String> {
    match metadata.get(key) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text),
        Some(Value::String(_)) => Err(format!("metadata.{key} is empty; pass a path")),
        Some(other) => Err(format!(
            "metadata.{key} must be a string, got {}",
            json_type_name(other)
        )),
        None => Err(format!("metadata.{key} is missing")),
    }
}

/// Removes one file's chunks and record from the collection (`file_removal`).
/// The file itself need not exist; removing a file that was never indexed
/// completes with `chunks_removed: 0`.
pub fn run_removal_job(
    ctx: &PipelineContext,
    metadata: &Map<String, Value>,
) -> Result<JobOutput, JobStop> {
    let started = std::time::Instant::now();
    let invalid = |message: String| {
        JobStop::Failed(JobError::new(
            "INVALID_METADATA",
            message,
            json!({"key": "file_path"}),
        ))
    };
    let given = required_string(metadata, "file_path").map_err(invalid)?;
    check_path("file_path", given).map_err(invalid)?;
    let display = resolve(given).display().to_string();
    ctx.check_stop()?;
    let removed = ctx
        .index
        .remove_file(&ctx.collection, &display, ctx.source_version)?;
    let mut output = Totals::default().into_output(display, ctx.collection.clone(), started);
    output.result.chunks_removed = Some(removed);
    Ok(output)
}

/// Indexes one file (`file_processing`), from disk or from `metadata.content`.
pub fn run_file_job(
    ctx: &PipelineContext,
    metadata: &Map<String, Value>,
) -> Result<JobOutput, JobStop> {
    let started = std::time::Instant::now();
    let given = required_string(metadata, "file_path").map_err(|message| {
        JobStop::Failed(JobError::new(
            "INVALID_METADATA",
            message,
            json!({"key": "file_path"}),
        ))
    })?;
    check_path("file_path", given).map_err(|message| {
        JobStop::Failed(JobError::new(
            "INVALID_METADATA",
            message,
            json!({"key": "file_path"}),
        ))
    })?;
    let path = resolve(given);
    let display = path.display().to_string();

    let outcome = match metadata.get("content") {
        Some(Value::String(content)) => {
            code::decode_bytes(&display, content.as_bytes(), &ctx.read_limits)
        }
        Some(other) => {
            return Err(JobStop::Failed(JobError::new(
                "INVALID_METADATA",
                format!(
                    "metadata.content must be a string with the file's text, got {}",
                    json_type_name(other)
                ),
                json!({"key": "content"}),
            )));
        }
        None => code::read_path(&path, &ctx.read_limits).map_err(|error| {
            let code = match error {
                code::ReadError::NotFound { .. } => "FILE_NOT_FOUND",
                code::ReadError::NotAFile { .. } => "NOT_A_FILE",
                _ => "READ_FAILED",
            };
            JobStop::Failed(JobError::new(
                code,
                error.to_string(),
                json!({"file_path": display}),
            ))
        })?,
    };

    let mut totals = Totals::default();
    totals.progress.files_total = 1;
    let mut language = None;
    match outcome {
        ReadOutcome::Source(source) => {
            language = Some(source.language.name().to_string());
            index_source(ctx, &source, &mut totals)?;
        }
        ReadOutcome::Skipped { reason, .. } => {
            // The file is unusable, so any chunks from an earlier version are stale.
            ctx.index
                .remove_file(&ctx.collection, &display, ctx.source_version)?;
            totals.warnings.push(reason);
            totals.progress.files_skipped += 1;
        }
    }
    (ctx.on_progress)(&totals.progress);
    let mut output = totals.into_output(display, ctx.collection.clone(), started);
    output.result.language = language;
    Ok(output)
}

/// Indexes every indexable file under `metadata.workspace_path`
/// (`workspace_indexing`), honouring `.gitignore`, `.ignore` and hidden files.
pub fn run_workspace_job(
    ctx: &PipelineContext,
    metadata: &Map<String, Value>,
) -> Result<JobOutput, JobStop> {
    let started = std::time::Instant::now();
    let given = required_string(metadata, "workspace_path").map_err(|message| {
        JobStop::Failed(JobError::new(
            "INVALID_METADATA",
            message,
            json!({"key": "workspace_path"}),
        ))
    })?;
    check_path("workspace_path", given).map_err(|message| {
        JobStop::Failed(JobError::new(
            "INVALID_METADATA",
            message,
            json!({"key": "workspace_path"}),
        ))
    })?;
    let root = resolve(given);
    let display = root.display().to_string();
    if !root.exists() {
        return Err(JobStop::Failed(JobError::new(
            "DIRECTORY_NOT_FOUND",
            format!("workspace_path {display} does not exist"),
            json!({"workspace_path": display}),
        )));
    }
    if !root.is_dir() {
        return Err(JobStop::Failed(JobError::new(
            "NOT_A_DIRECTORY",
            format!(
                "workspace_path {display} is not a directory; use file_processing for one file"
            ),
            json!({"workspace_path": display}),
        )));
    }

    // The walker reports an unreadable root as one warning and yields no files, which would
    // end the job `completed` with nothing indexed and remove every file indexed before.
    if let Err(error) = std::fs::read_dir(&root) {
        return Err(JobStop::Failed(JobError::new(
            "READ_FAILED",
            format!("workspace_path {display} cannot be read: {error}; check its permissions"),
            json!({"workspace_path": display}),
        )));
    }

    let mut totals = Totals::default();
    let files = collect_files(&root, &mut totals.warnings);
    totals.progress.files_total = files.len();
    (ctx.on_progress)(&totals.progress);

    // Files indexed by earlier runs, to skip unchanged ones and drop deleted ones.
    let prefix = format!("{}/", display.trim_end_matches('/'));
    let mut known: HashMap<String, FileRecord> = ctx
        .index
        .files_under(&ctx.collection, &prefix)?
        .into_iter()
        .map(|record| (record.path.clone(), record))
        .collect();
    let mut seen = HashSet::new();

    for path in files {
        ctx.check_stop()?;
        seen.insert(path.display().to_string());
        match code::read_path(&path, &ctx.read_limits) {
            Ok(ReadOutcome::Source(source)) => {
                let previous = known.remove(&source.path);
                match previous {
                    Some(record) if record.content_hash == source.content_hash => {
                        totals.add_unchanged(&record);
                    }
                    _ => index_source(ctx, &source, &mut totals)?,
                }
            }
            Ok(ReadOutcome::Skipped { reason, path }) => {
                ctx.index
                    .remove_file(&ctx.collection, &path, ctx.source_version)?;
                known.remove(&path);
                totals.warnings.push(reason);
                totals.progress.files_skipped += 1;
            }
            Err(error) => {
                totals
                    .warnings
                    .push(format!("skipped {}: {error}", path.display()));
                totals.progress.files_skipped += 1;
            }
        }
        (ctx.on_progress)(&totals.progress);
    }

    // Whatever is left in `known` was indexed before and is gone or ignored now.
    for path in known.keys().filter(|path| !seen.contains(*path)) {
        ctx.index
            .remove_file(&ctx.collection, path, ctx.source_version)?;
        totals.files_removed += 1;
    }

    let progress = totals.progress.clone();
    let files_removed = totals.files_removed;
    let mut output = totals.into_output(display, ctx.collection.clone(), started);
    output.result.files_processed = Some(progress.files_processed);
    output.result.files_skipped = Some(progress.files_skipped);
    output.result.files_unchanged = Some(progress.files_unchanged);
    output.result.files_removed = Some(files_removed);
    Ok(output)
}

/// Walks `root` and returns the indexable files in path order.
fn collect_files(root: &Path, warnings: &mut Vec<String>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_path(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        match entry {
            Ok(entry) => {
                let is_file = entry.file_type().is_some_and(|kind| kind.is_file());
                if is_file && code::Language::from_path(entry.path()).is_some() {
                    files.push(entry.into_path());
                }
            }
            Err(error) => warnings.push(format!("skipped part of the workspace: {error}")),
        }
    }
    files
}

/// Chunks, analyses, embeds and stores one decoded file, replacing its old chunks.
fn index_source(
    ctx: &PipelineContext,
    source: &SourceText,
    totals: &mut Totals,
) -> Result<(), JobStop> {
    ctx.check_stop()?;
    let parsed = code::parse_source(source, &ctx.chunk_limits);
    debug!(path = %source.path, chunks = parsed.chunks.len(), "parsed file");

    let texts: Vec<String> = parsed
        .chunks
        .iter()
        .map(|chunk| chunk_embedding_text(&source.path, chunk.symbol.as_deref(), &chunk.text))
        .collect();
    let mut vectors = Vec::with_capacity(texts.len());
    // Slices keep a slow embedder (a remote server) from delaying cancellation.
    for slice in texts.chunks(EMBED_SLICE) {
        ctx.check_stop()?;
        let refs: Vec<&str> = slice.iter().map(String::as_str).collect();
        match ctx.embedder.embed(&refs, InputKind::Document) {
            Ok(slice_vectors) => vectors.extend(slice_vectors),
            Err(EmbedError::Rejected { reason, .. })
                if !rejects_any_text(ctx.embedder.as_ref()) =>
            {
                warn!(path = %source.path, %reason, "embedding server rejected the file; skipped");
                totals.warnings.push(format!(
                    "skipped {}: the embedding server rejected its text: {reason}",
                    source.path
                ));
                totals.progress.files_skipped += 1;
                return Ok(());
            }
            Err(error) => {
                return Err(JobStop::Failed(JobError::new(
                    "EMBEDDING_FAILED",
                    format!("embedding {} failed: {error}", source.path),
                    json!({"path": source.path, "embedder": ctx.embedder.name()}),
                )));
            }
        }
    }

    ctx.check_stop()?;
    let language = source.language.name().to_string();
    let new_chunks: Vec<NewChunk> = parsed
        .chunks
        .into_iter()
        .zip(vectors)
        .map(|(chunk, vector)| NewChunk {
            symbol: chunk.symbol,
            kind: chunk.kind.as_str().to_string(),
            start_line: chunk.start_line,
            end_line: chunk.end_line,
            start_byte: chunk.start_byte,
            end_byte: chunk.end_byte,
            text: chunk.text,
            vector,
        })
        .collect();
    let analysis = &parsed.analysis;
    let record = FileRecord {
        path: source.path.clone(),
        content_hash: source.content_hash.clone(),
        language,
        size_bytes: source.size_bytes,
        chunk_count: new_chunks.len(),
        functions_found: analysis.functions_found,
        classes_found: analysis.classes_found,
        complexity_sum: analysis.complexity_score * analysis.functions_found as f64,
        source_version: ctx.source_version,
    };
    let Some(ids) = ctx
        .index
        .replace_file(&ctx.collection, &record, new_chunks)?
    else {
        debug!(path = %source.path, "a newer submission is stored; this version was not");
        totals.warnings.push(format!(
            "a newer submission of {} was indexed first; this version was not stored",
            source.path
        ));
        totals.progress.files_processed += 1;
        return Ok(());
    };

    totals.progress.files_processed += 1;
    totals.progress.chunks_processed += ids.len();
    totals.vector_ids.extend(ids);
    totals.add_analysis(&record);
    totals.warnings.extend(source.warnings.iter().cloned());
    totals.warnings.extend(parsed.warnings);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_lexically_table() {
        let cases = [
            ("/a/b/../c", "/a/c"),
            ("/a/./b/", "/a/b"),
            ("/a/b/../../..", "/"),
            ("/../x.py", "/x.py"),
            ("/a//b.py", "/a/b.py"),
        ];
        for (path, expected) in cases {
            assert_eq!(
                normalize_lexically(Path::new(path)),
                PathBuf::from(expected),
                "path {path}"
            );
        }
    }

    #[test]
    fn check_path_table() {
        let cases = [
            ("file_path", "/w/a.py", true),
            ("file_path", "/w/a.py/", false),
            ("file_path", "/w/a\0.py", false),
            ("workspace_path", "/w/", true),
            ("workspace_path", "/w\0", false),
        ];
        for (key, path, valid) in cases {
            assert_eq!(check_path(key, path).is_ok(), valid, "{key} {path:?}");
        }
    }
}
