//! Job model: ids, types, statuses, progress, results and errors.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

/// Identifier of a job: a UUID v4, shown in its hyphenated lowercase form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(Uuid);

impl JobId {
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for JobId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for JobId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s.trim()).map(Self)
    }
}

/// Kind of work a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    /// Index one file: `metadata.file_path`, with optional `metadata.content`.
    FileProcessing,
    /// Remove one file's chunks from the collection: `metadata.file_path`.
    FileRemoval,
    /// Index a directory tree: `metadata.workspace_path`, honouring .gitignore.
    WorkspaceIndexing,
}

impl JobType {
    pub const ALL: [JobType; 3] = [
        JobType::FileProcessing,
        JobType::WorkspaceIndexing,
        JobType::FileRemoval,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobType::FileProcessing => "file_processing",
            JobType::FileRemoval => "file_removal",
            JobType::WorkspaceIndexing => "workspace_indexing",
        }
    }

    /// Parses a wire name. The error lists the valid names.
    pub fn parse(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| {
                let valid: Vec<&str> = Self::ALL.iter().map(|kind| kind.as_str()).collect();
                format!(
                    "unknown job_type {name:?}; valid job types are: {}",
                    valid.join(", ")
                )
            })
    }
}

/// Lifecycle state of a job. `completed`, `failed` and `cancelled` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Counters updated while a job runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Progress {
    /// Files the job will look at; known once the workspace walk finishes.
    pub files_total: usize,
    /// Files read, chunked, embedded and stored.
    pub files_processed: usize,
    /// Files skipped with a warning (binary, too large, unreadable).
    pub files_skipped: usize,
    /// Files whose content hash matched the stored one, so nothing was re-embedded.
    pub files_unchanged: usize,
    /// Chunks stored so far.
    pub chunks_processed: usize,
}

/// Storage summary of a job's vectors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VectorStorage {
    /// Collection the chunks were stored in, `{user_id}_code`.
    pub collection_name: String,
    pub embeddings_generated: usize,
    pub storage_success: bool,
    /// Ids of the stored vectors, `vec_<n>`.
    pub vector_ids: Vec<String>,
}

/// Per-job code analysis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AnalysisResult {
    /// Function, method and constructor definitions.
    pub functions_found: usize,
    /// Class-like definitions: classes, structs, enums, interfaces, traits.
    pub classes_found: usize,
    /// Mean McCabe cyclomatic complexity over all functions found, rounded to
    /// two decimals; 0 when there are no functions.
    pub complexity_score: f64,
}

/// Result of a completed job, as sent in the webhook's `result_data`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResultData {
    pub chunks_processed: usize,
    /// The processed file, or the workspace directory for `workspace_indexing`.
    pub file_path: String,
    pub vector_storage: VectorStorage,
    pub analysis_result: AnalysisResult,
    /// Language of the file (`file_processing` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Files indexed (`workspace_indexing` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_processed: Option<usize>,
    /// Files skipped with a warning (`workspace_indexing` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_skipped: Option<usize>,
    /// Files left as they were because their content did not change since the
    /// last run (`workspace_indexing` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_unchanged: Option<usize>,
    /// Files indexed by an earlier run that no longer exist or are now ignored,
    /// whose chunks were removed (`workspace_indexing` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_removed: Option<usize>,
    /// Chunks removed from the collection (`file_removal` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks_removed: Option<usize>,
}

/// Size and timing figures of a finished job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Metrics {
    pub processing_time_ms: u64,
    pub chunks_count: usize,
    /// Bytes of source read (all files for `workspace_indexing`).
    pub file_size_bytes: u64,
}

/// Error of a failed job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobError {
    /// Stable machine-readable code, e.g. `FILE_NOT_FOUND`.
    pub code: String,
    pub message: String,
    /// Extra context such as the path involved.
    pub details: Value,
}

impl JobError {
    pub fn new(code: &str, message: impl Into<String>, details: Value) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
            details,
        }
    }
}

/// Outcome of one webhook delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeliveryRecord {
    /// Message id sent as `webhook-id`; the same on every attempt of one message.
    pub message_id: String,
    pub url: String,
    /// `delivered`, `failed` or `timed_out`.
    pub outcome: String,
    /// HTTP status of the response, if one arrived.
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    /// When the attempt ended, RFC 3339 UTC.
    pub attempted_at: String,
}

/// Everything known about one job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub job_type: JobType,
    pub user_id: String,
    /// Metadata exactly as submitted, secrets included. Redact before showing.
    pub metadata: Map<String, Value>,
    pub status: JobStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    pub progress: Progress,
    pub result: Option<ResultData>,
    pub metrics: Option<Metrics>,
    pub error: Option<JobError>,
    pub warnings: Vec<String>,
    pub deliveries: Vec<DeliveryRecord>,
}

impl Job {
    pub fn new(job_type: JobType, user_id: String, metadata: Map<String, Value>) -> Self {
        Self {
            id: JobId::new(),
            job_type,
            user_id,
            metadata,
            status: JobStatus::Queued,
            created_at: crate::time_fmt::now(),
            started_at: None,
            finished_at: None,
            progress: Progress::default(),
            result: None,
            metrics: None,
            error: None,
            warnings: Vec::new(),
            deliveries: Vec::new(),
        }
    }

    /// Returns the job's `metadata.webhook_url`, if it is a non-empty string.
    pub fn webhook_url(&self) -> Option<&str> {
        self.metadata
            .get("webhook_url")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|url| !url.is_empty())
    }

    /// Seconds from start (or creation, if it never started) to the end.
    pub fn duration_seconds(&self) -> f64 {
        let begin = self.started_at.unwrap_or(self.created_at);
        let end = self.finished_at.unwrap_or_else(crate::time_fmt::now);
        ((end - begin).as_seconds_f64() * 1000.0).round() / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_type_parse_lists_valid_types() {
        assert_eq!(
            JobType::parse("file_processing"),
            Ok(JobType::FileProcessing)
        );
        let error = JobType::parse("bogus").unwrap_err();
        assert!(error.contains("\"bogus\""), "{error}");
        assert!(
            error.contains("file_processing, workspace_indexing, file_removal"),
            "{error}"
        );
    }

    #[test]
    fn job_id_round_trips() {
        let id = JobId::new();
        assert_eq!(id.to_string().parse::<JobId>().unwrap(), id);
        assert!("not-a-uuid".parse::<JobId>().is_err());
    }
}
