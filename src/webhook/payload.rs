//! The webhook payload sent when a job ends. Field names and nesting are a
//! public contract that editor extensions parse: add fields, never rename.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::jobs::model::{Job, JobError, Metrics, ResultData};
use crate::jobs::redact::redact_metadata;
use crate::time_fmt::rfc3339_millis;

/// Body of a job-end webhook.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookPayload {
    pub job_id: String,
    /// `completed`, `failed` or `cancelled`.
    pub status: String,
    /// True only for `completed`.
    pub success: bool,
    /// When the job ended, RFC 3339 UTC with milliseconds.
    pub completed_at: String,
    pub duration_seconds: f64,
    /// Present for completed jobs, `null` otherwise.
    pub result_data: Option<ResultData>,
    pub metrics: Metrics,
    /// The submitted metadata with secret values redacted.
    pub metadata: Map<String, Value>,
    /// Present only for failed jobs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
    /// Non-fatal problems, such as skipped files. Empty when there were none.
    pub warnings: Vec<String>,
    /// Additive field: the job's type.
    pub job_type: String,
    /// Additive field: the user whose collection the job wrote to.
    pub user_id: String,
}

/// Builds the payload for a job in a final state.
pub fn build_payload(job: &Job) -> WebhookPayload {
    let completed_at = job.finished_at.unwrap_or_else(crate::time_fmt::now);
    WebhookPayload {
        job_id: job.id.to_string(),
        status: job.status.as_str().to_string(),
        success: job.status == crate::jobs::model::JobStatus::Completed,
        completed_at: rfc3339_millis(completed_at),
        duration_seconds: job.duration_seconds(),
        result_data: job.result.clone(),
        metrics: job.metrics.clone().unwrap_or_default(),
        metadata: redact_metadata(&job.metadata),
        error: job.error.clone(),
        warnings: job.warnings.clone(),
        job_type: job.job_type.as_str().to_string(),
        user_id: job.user_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::model::{JobStatus, JobType};
    use serde_json::json;

    fn finished_job(status: JobStatus) -> Job {
        let metadata = json!({"file_path": "/w/a.py", "source": "vscode", "api_token": "t"});
        let mut job = Job::new(
            JobType::FileProcessing,
            "user_123".to_string(),
            metadata.as_object().unwrap().clone(),
        );
        job.status = status;
        job.started_at = Some(job.created_at);
        job.finished_at = Some(job.created_at + time::Duration::milliseconds(1500));
        job
    }

    #[test]
    fn completed_payload_has_contract_fields() {
        let mut job = finished_job(JobStatus::Completed);
        job.result = Some(ResultData {
            chunks_processed: 2,
            file_path: "/w/a.py".to_string(),
            ..ResultData::default()
        });
        let value = serde_json::to_value(build_payload(&job)).unwrap();
        for key in [
            "job_id",
            "status",
            "success",
            "completed_at",
            "duration_seconds",
            "result_data",
            "metrics",
            "metadata",
            "warnings",
        ] {
            assert!(value.get(key).is_some(), "missing {key}");
        }
        assert_eq!(value["success"], json!(true));
        assert_eq!(value["duration_seconds"], json!(1.5));
        assert!(value.get("error").is_none());
        assert_eq!(value["metadata"]["source"], json!("vscode"));
        assert_eq!(value["metadata"]["api_token"], json!("[REDACTED]"));
        let vector_storage = &value["result_data"]["vector_storage"];
        assert!(vector_storage["vector_ids"].is_array());
    }

    #[test]
    fn failed_payload_has_error_and_null_result() {
        let mut job = finished_job(JobStatus::Failed);
        job.error = Some(JobError::new("FILE_NOT_FOUND", "no such file", json!({})));
        let value = serde_json::to_value(build_payload(&job)).unwrap();
        assert_eq!(value["status"], json!("failed"));
        assert_eq!(value["success"], json!(false));
        assert_eq!(value["error"]["code"], json!("FILE_NOT_FOUND"));
        assert_eq!(value["result_data"], Value::Null);
        assert_eq!(value["warnings"], json!([]));
    }
}
