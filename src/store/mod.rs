//! Durable state in one SQLite database: jobs, the webhook outbox, files and
//! chunks. [`JobStore`] is the interface the job system uses.

pub mod data_dir;
pub mod db;
mod jobs;
pub mod webhooks;

use std::path::PathBuf;

pub use data_dir::{DataDir, DataDirError};
pub use db::Database;
pub use jobs::SqliteJobStore;
pub use webhooks::{DeliveryFilter, DeliveryLogEntry, WebhookStore};

use crate::jobs::model::{DeliveryRecord, Job, JobId, JobStatus};

/// A failure of the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "database {path} has schema version {found}, newer than the {supported} this build knows; \
         upgrade mcp-code-index or pass another --data-dir"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: usize,
        supported: usize,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("stored {what} is unreadable: {detail}")]
    Corrupt { what: String, detail: String },
}

/// Filter for `list`.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub user_id: Option<String>,
    pub status: Option<JobStatus>,
    /// Maximum number of jobs, newest first.
    pub limit: usize,
}

/// A webhook message waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    /// Stable id, sent as `webhook-id` on every attempt.
    pub message_id: String,
    pub job_id: JobId,
    pub url: String,
    /// Serialized payload, identical on every attempt.
    pub body: Vec<u8>,
    /// Attempts made so far.
    pub attempts: u32,
    /// Earliest time of the next attempt, Unix milliseconds.
    pub next_attempt_ms: i64,
    /// Registered webhook this message goes to; `None` for the job's own
    /// `metadata.webhook_url`, which is signed with the server's secrets.
    pub webhook_id: Option<String>,
    /// Event type, e.g. `job.completed` or `webhook.test`.
    pub event: String,
}

/// Next state of an outbox message after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OutboxNext {
    Delivered,
    /// Give up on this message.
    Failed,
    /// Try again at this Unix millisecond.
    RetryAt(i64),
}

/// Persistence of jobs and their webhook outbox.
pub trait JobStore: Send + Sync {
    fn insert(&self, job: &Job) -> Result<(), StoreError>;

    fn get(&self, id: &JobId) -> Result<Option<Job>, StoreError>;

    /// Applies `change` to the stored job and returns the updated copy, or
    /// `None` if no such job exists.
    fn update(
        &self,
        id: &JobId,
        change: &mut dyn FnMut(&mut Job),
    ) -> Result<Option<Job>, StoreError>;

    /// Applies `change` and, in the same transaction, queues the outbox
    /// messages that `messages` builds from the updated job. A crash can
    /// therefore never leave a finished job without its webhook.
    fn update_with_outbox(
        &self,
        id: &JobId,
        change: &mut dyn FnMut(&mut Job),
        messages: &dyn Fn(&Job) -> Vec<OutboxMessage>,
    ) -> Result<Option<Job>, StoreError>;

    /// Returns matching jobs, newest first.
    fn list(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError>;

    /// Returns queued and running jobs, oldest first, to resume after a restart.
    fn unfinished(&self) -> Result<Vec<Job>, StoreError>;

    /// Returns pending outbox messages due at or before `now_ms`, oldest first.
    fn due_messages(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxMessage>, StoreError>;

    /// Returns the earliest `next_attempt_ms` of any pending message.
    fn next_due_ms(&self) -> Result<Option<i64>, StoreError>;

    /// Records an attempt in the delivery log (with the start of the response
    /// body), appends it to the job's deliveries for a job's own webhook URL,
    /// and moves the message to its next state, in one transaction.
    fn record_attempt(
        &self,
        message: &OutboxMessage,
        record: &DeliveryRecord,
        response_body: Option<&str>,
        next: OutboxNext,
    ) -> Result<(), StoreError>;

    /// Queues messages that belong to no job's end, such as a test event.
    fn enqueue(&self, messages: &[OutboxMessage]) -> Result<(), StoreError>;

    /// Returns the pending messages of a registered webhook, oldest first, so
    /// that a batch can take them all.
    fn pending_for_webhook(&self, webhook_id: &str) -> Result<Vec<OutboxMessage>, StoreError>;
}
