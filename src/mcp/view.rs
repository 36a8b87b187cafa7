//! Conversion of stored jobs into the shapes the tools return.

use super::types::{JobSummary, JobView, WebhookView};
use crate::jobs::model::{Job, JobStatus};
use crate::jobs::redact::redact_metadata;
use crate::time_fmt::rfc3339_millis;

/// Builds the full `get_job_status` view of a job, with secrets redacted.
pub fn job_view(job: &Job) -> JobView {
    let finished = job.status.is_final();
    JobView {
        job_id: job.id.to_string(),
        job_type: job.job_type.as_str().to_string(),
        user_id: job.user_id.clone(),
        status: job.status,
        success: finished.then_some(job.status == JobStatus::Completed),
        created_at: rfc3339_millis(job.created_at),
        started_at: job.started_at.map(rfc3339_millis),
        completed_at: job.finished_at.map(rfc3339_millis),
        duration_seconds: finished.then(|| job.duration_seconds()),
        progress: job.progress.clone(),
        result_data: job.result.clone(),
        metrics: job.metrics.clone(),
        error: job.error.clone(),
        warnings: job.warnings.clone(),
        metadata: redact_metadata(&job.metadata),
        webhook: job.webhook_url().map(|url| WebhookView {
            url: url.to_string(),
            deliveries: job.deliveries.clone(),
        }),
    }
}

/// Builds the short `list_jobs` line of a job.
pub fn job_summary(job: &Job) -> JobSummary {
    JobSummary {
        job_id: job.id.to_string(),
        job_type: job.job_type.as_str().to_string(),
        user_id: job.user_id.clone(),
        status: job.status,
        created_at: rfc3339_millis(job.created_at),
        completed_at: job.finished_at.map(rfc3339_millis),
        progress: job.progress.clone(),
        error_code: job.error.as_ref().map(|error| error.code.clone()),
    }
}
