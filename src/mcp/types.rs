//! Argument and result types of the MCP tools, with the JSON schemas that
//! clients see.
//!
//! Every tool but `submit_job` rejects unknown arguments, so that a misspelt
//! one (`path_prefx`, `usr`) is not silently ignored. `submit_job` accepts
//! them, as the released integration guide's clients may send more.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::jobs::model::{DeliveryRecord, JobError, JobStatus, Metrics, Progress, ResultData};

/// Tool arguments of type `T` whose type errors name the argument: `limit:
/// invalid type: string "5", expected usize` rather than the error alone. The
/// JSON schema is the one of `T`.
#[derive(Debug)]
pub struct Named<T>(pub T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        serde_path_to_error::deserialize(value)
            .map(Named)
            .map_err(|error| {
                let path = error.path().to_string();
                match path.as_str() {
                    "." => D::Error::custom(error.into_inner()),
                    _ => D::Error::custom(format!("{path}: {}", error.into_inner())),
                }
            })
    }
}

impl<T: JsonSchema> JsonSchema for Named<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// Reads a string, or a number as its decimal text. The MCP Inspector CLI
/// sends `--tool-arg query=404` as the number 404.
fn text_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(text),
        Value::Number(number) => Ok(number.to_string()),
        other => Err(D::Error::custom(format!(
            "invalid type: {}, expected a string",
            json_type(&other)
        ))),
    }
}

/// Returns the JSON type name of `value`, as error messages use it.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SubmitJobArgs {
    /// Kind of job: `file_processing` (one file in `metadata.file_path`, optional unsaved
    /// text in `metadata.content`), `workspace_indexing` (the directory in
    /// `metadata.workspace_path`, honouring .gitignore) or `file_removal` (drop the
    /// chunks of `metadata.file_path` from the collection).
    #[schemars(extend("enum" = ["file_processing", "workspace_indexing", "file_removal"]))]
    pub job_type: String,
    /// Owner of the collection the chunks go to (`{user_id}_code`): 1 to 64 ASCII
    /// letters, digits, `_` or `-`.
    pub user_id: String,
    /// Free-form job metadata, echoed back verbatim (secrets redacted) in the job
    /// status and webhook payload. Recognised keys: `file_path`, `content`,
    /// `workspace_path`, `webhook_url` (http or https; POSTed the result when the
    /// job ends).
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SubmitJobResult {
    /// Id of the new job (UUID v4).
    pub job_id: String,
    /// Always `queued`: processing happens in the background.
    pub status: JobStatus,
    pub job_type: String,
    pub user_id: String,
    /// Collection the job writes to.
    pub collection_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobIdArgs {
    /// Id returned by `submit_job`.
    pub job_id: String,
}

/// Webhook target of a job and every delivery attempt made so far.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WebhookView {
    pub url: String,
    pub deliveries: Vec<DeliveryRecord>,
}

/// Full state of one job.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JobView {
    pub job_id: String,
    pub job_type: String,
    pub user_id: String,
    pub status: JobStatus,
    /// True for completed jobs, false for failed or cancelled ones, absent while running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// RFC 3339 UTC timestamps with milliseconds.
    pub created_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub duration_seconds: Option<f64>,
    pub progress: Progress,
    /// Result of a completed job, as in the webhook payload.
    pub result_data: Option<ResultData>,
    pub metrics: Option<Metrics>,
    pub error: Option<JobError>,
    pub warnings: Vec<String>,
    /// Submitted metadata with secret values redacted.
    pub metadata: Map<String, Value>,
    /// Present when the job has a `metadata.webhook_url`.
    pub webhook: Option<WebhookView>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListJobsArgs {
    /// Only jobs of this user.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Only jobs in this status.
    #[serde(default)]
    pub status: Option<JobStatus>,
    /// Maximum number of jobs, newest first (default 50, at most 500).
    #[serde(default)]
    #[schemars(range(min = 1, max = 500))]
    pub limit: Option<usize>,
}

/// One line of `list_jobs`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JobSummary {
    pub job_id: String,
    pub job_type: String,
    pub user_id: String,
    pub status: JobStatus,
    pub created_at: String,
    pub completed_at: Option<String>,
    pub progress: Progress,
    /// Error code of a failed job.
    pub error_code: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListJobsResult {
    pub jobs: Vec<JobSummary>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CancelJobResult {
    pub job_id: String,
    /// Status after the request. A running job reports `running` until it
    /// reaches its next file boundary and becomes `cancelled`.
    pub status: JobStatus,
    /// False if the job had already ended.
    pub cancelled: bool,
    pub message: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchCodeArgs {
    /// User whose collection to search.
    pub user_id: String,
    /// Natural-language description or identifiers to look for, at most
    /// 10,000 bytes. Words in backticks weigh twice in keyword ranking. A query that is one
    /// identifier (`rmtree`, `shutil.rmtree`, `Regex::new`) puts the chunks
    /// with that name first in keyword and hybrid mode. Case and underscores
    /// do not matter.
    #[serde(deserialize_with = "text_or_number")]
    pub query: String,
    /// Maximum number of results (default 10, at most 100).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<usize>,
    /// `hybrid` (default: keyword and semantic rankings fused), `semantic`
    /// (embedding similarity) or `keyword` (BM25 over identifier-split words).
    #[serde(default)]
    pub mode: Option<crate::index::SearchMode>,
    /// Only chunks of this language, e.g. `python`, `rust`, `tsx`.
    #[serde(default)]
    pub language: Option<String>,
    /// Only chunks of this kind, e.g. `function`, `method`, `class`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Only files whose absolute path starts with this, e.g. `/work/app/src/`.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Only files whose absolute path matches this glob (`*` matches `/` too),
    /// e.g. `*/tests/*.py`.
    #[serde(default)]
    pub path_glob: Option<String>,
}

/// One search result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchResultItem {
    pub path: String,
    /// First line, 1-based.
    pub start_line: usize,
    /// Last line, 1-based and inclusive.
    pub end_line: usize,
    /// Name of the function, method or type, if the chunk has one.
    pub symbol: Option<String>,
    /// Chunk kind: function, method, class, struct, block, window, ...
    pub kind: String,
    pub language: String,
    /// Higher is closer. Semantic: cosine similarity (-1 to 1). Keyword: BM25
    /// (0 or more). Hybrid: reciprocal-rank-fusion sum (at most 1/3). A chunk
    /// named by a one-identifier query is raised above every other result, so
    /// its keyword or hybrid score is higher than these ranges.
    pub score: f32,
    /// The first lines of the chunk.
    pub snippet: String,
    pub vector_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchCodeResult {
    pub collection_name: String,
    pub results: Vec<SearchResultItem>,
    /// Searchable chunks in the collection.
    pub total_chunks: usize,
    /// Mode the results were ranked by.
    pub mode: crate::index::SearchMode,
    /// True while a job of this user is queued or running, or while chunks are
    /// re-embedded after an embedder change, so results may be incomplete.
    pub indexing_in_progress: bool,
    /// Note on the results when something limits them: the query has no
    /// searchable words, semantic ranking is unavailable and only keyword
    /// results are shown, or chunks are still being re-embedded. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserArgs {
    /// Owner of the collection.
    pub user_id: String,
}
