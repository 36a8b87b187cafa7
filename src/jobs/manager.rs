//! The job manager: validates submissions, queues jobs, runs them on a bounded
//! set of workers, supports cancellation and hands finished jobs to the notifier.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info, info_span, warn};

use super::model::{Job, JobError, JobId, JobStatus, JobType, Progress};
use super::pipeline::{self, JobOutput, JobStop, PipelineContext};
use super::progress_events::ProgressEvents;
use crate::code::{ChunkLimits, ReadLimits};
use crate::embed::Embedder;
use crate::index::{CodeIndex, collection_name};
use crate::store::{JobStore, OutboxMessage, StoreError, WebhookStore};
use crate::webhook::address::{AddressPolicy, check_url};
use crate::webhook::endpoints::{Webhook, event_for_status, message_id_for};
use crate::webhook::notifier::unix_ms;
use crate::webhook::{Notifier, build_payload, url_check::parse_webhook_url};

/// Limits for running jobs.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// Jobs processed at the same time; further jobs wait in the queue.
    pub max_concurrent_jobs: usize,
    pub read_limits: ReadLimits,
    pub chunk_limits: ChunkLimits,
    /// Receiver addresses a submitted `webhook_url` may name.
    pub webhook_address_policy: AddressPolicy,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            max_concurrent_jobs: 2,
            read_limits: ReadLimits::default(),
            chunk_limits: ChunkLimits::default(),
            webhook_address_policy: AddressPolicy::Default,
        }
    }
}

/// A rejected submission, with a message for the client.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SubmitError(pub String);

impl From<StoreError> for SubmitError {
    fn from(error: StoreError) -> Self {
        SubmitError(format!("the job could not be stored: {error}"))
    }
}

/// Result of a cancellation request.
#[derive(Debug, Clone)]
pub enum CancelOutcome {
    /// The job was queued or running and is now cancelled (or stopping).
    Cancelled(JobStatus),
    /// The job had already ended with this status.
    AlreadyFinished(JobStatus),
    NotFound,
}

/// Shared state of the job system.
pub struct JobManager {
    store: Arc<dyn JobStore>,
    index: Arc<dyn CodeIndex>,
    embedder: Arc<dyn Embedder>,
    webhooks: Arc<WebhookStore>,
    notifier: Notifier,
    config: JobsConfig,
    queue: mpsc::UnboundedSender<JobId>,
    /// Cancellation tokens of queued and running jobs.
    cancels: Mutex<HashMap<JobId, CancellationToken>>,
    /// Cancelled when the shutdown grace period ends, to stop running jobs.
    interrupt: CancellationToken,
}

/// Maximum length of a `user_id`, which becomes part of a collection name.
pub const MAX_USER_ID_LEN: usize = 64;

/// Checks a `user_id`: 1 to 64 ASCII letters, digits, `_` or `-`.
pub fn validate_user_id(user_id: &str) -> Result<(), String> {
    if user_id.is_empty() {
        return Err("user_id is empty; pass an id such as \"user_123\"".to_string());
    }
    // Characters are checked first, so a long id of disallowed characters is reported for
    // its characters and not for a byte length the caller never typed.
    if let Some(bad) = user_id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "invalid user_id {user_id:?}: character {bad:?} is not allowed; use ASCII letters, digits, '_' and '-'"
        ));
    }
    let length = user_id.chars().count();
    if length > MAX_USER_ID_LEN {
        return Err(format!(
            "user_id is {length} characters long; the maximum is {MAX_USER_ID_LEN}"
        ));
    }
    Ok(())
}

impl JobManager {
    /// Creates the manager and starts its dispatcher. The dispatcher stops when
    /// `shutdown` is cancelled; [`JobManager::drain`] then waits for running jobs.
    pub fn start(
        store: Arc<dyn JobStore>,
        index: Arc<dyn CodeIndex>,
        embedder: Arc<dyn Embedder>,
        webhooks: Arc<WebhookStore>,
        notifier: Notifier,
        config: JobsConfig,
        shutdown: CancellationToken,
    ) -> (Arc<Self>, tokio::task::JoinHandle<()>) {
        let (queue, receiver) = mpsc::unbounded_channel();
        let manager = Arc::new(Self {
            store,
            index,
            embedder,
            webhooks,
            notifier,
            config,
            queue,
            cancels: Mutex::new(HashMap::new()),
            interrupt: CancellationToken::new(),
        });
        if let Err(error) = manager.resume() {
            error!(%error, "resuming unfinished jobs failed");
        }
        let dispatcher = tokio::spawn(dispatch(manager.clone(), receiver, shutdown));
        (manager, dispatcher)
    }

    /// Queues again the jobs that were queued or running when the previous
    /// process stopped. They start from the beginning of their work; files
    /// already indexed are skipped by their content hash.
    fn resume(&self) -> Result<(), StoreError> {
        for job in self.store.unfinished()? {
            let was_running = job.status == JobStatus::Running;
            self.store.update(&job.id, &mut |job| {
                job.status = JobStatus::Queued;
                if was_running {
                    job.warnings.push(
                        "the server stopped while this job ran; it was restarted".to_string(),
                    );
                }
            })?;
            self.lock_cancels().insert(job.id, CancellationToken::new());
            let _ = self.queue.send(job.id);
            info!(job_id = %job.id, was_running, "job resumed after restart");
        }
        Ok(())
    }

    pub fn store(&self) -> &Arc<dyn JobStore> {
        &self.store
    }

    pub fn webhooks(&self) -> &Arc<WebhookStore> {
        &self.webhooks
    }

    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    pub fn config(&self) -> &JobsConfig {
        &self.config
    }

    /// Validates and queues a job. Returns the queued job.
    pub fn submit(
        &self,
        job_type: &str,
        user_id: &str,
        metadata: Map<String, Value>,
    ) -> Result<Job, SubmitError> {
        let job_type = JobType::parse(job_type).map_err(SubmitError)?;
        validate_user_id(user_id).map_err(SubmitError)?;
        let path_key = match job_type {
            JobType::FileProcessing | JobType::FileRemoval => "file_path",
            JobType::WorkspaceIndexing => "workspace_path",
        };
        let path = pipeline::required_string(&metadata, path_key).map_err(|message| {
            SubmitError(format!("{message}; {} jobs need it", job_type.as_str()))
        })?;
        pipeline::check_path(path_key, path).map_err(SubmitError)?;
        if let Some(url) = metadata.get("webhook_url") {
            match url {
                Value::Null => {}
                Value::String(text) if text.trim().is_empty() => {}
                Value::String(text) => {
                    let url = parse_webhook_url(text).map_err(SubmitError)?;
                    check_url(self.config.webhook_address_policy, &url).map_err(SubmitError)?;
                }
                other => {
                    return Err(SubmitError(format!(
                        "metadata.webhook_url must be a string, got {}",
                        pipeline::json_type_name(other)
                    )));
                }
            }
        }

        let job = Job::new(job_type, user_id.to_string(), metadata);
        let id = job.id;
        self.store.insert(&job)?;
        self.lock_cancels().insert(id, CancellationToken::new());
        if self.queue.send(id).is_err() {
            // The job stays queued in the store and runs after the next start.
            self.lock_cancels().remove(&id);
            return Err(SubmitError(
                "the server is shutting down; the job was stored and runs after the next start"
                    .to_string(),
            ));
        }
        info!(job_id = %id, job_type = job_type.as_str(), user_id, "job queued");
        Ok(job)
    }

    /// Cancels a queued or running job. A running job stops at its next file or
    /// chunk boundary.
    pub fn cancel(&self, id: &JobId) -> Result<CancelOutcome, StoreError> {
        let Some(job) = self.store.get(id)? else {
            return Ok(CancelOutcome::NotFound);
        };
        if job.status.is_final() {
            return Ok(CancelOutcome::AlreadyFinished(job.status));
        }
        // `finish` removes the token and writes the final status under this lock, so a token
        // cancelled here is always seen by `finish`, and a missing token means the final
        // status is already stored.
        let cancels = self.lock_cancels();
        match cancels.get(id) {
            Some(token) => token.cancel(),
            None => {
                drop(cancels);
                let status = self.store.get(id)?.map_or(job.status, |job| job.status);
                if status.is_final() {
                    return Ok(CancelOutcome::AlreadyFinished(status));
                }
                // NOTE: only a job interrupted by shutdown has no token and no final status.
                // It resumes after the next start, and this request does not cancel it.
                return Ok(CancelOutcome::Cancelled(status));
            }
        }
        drop(cancels);
        if job.status == JobStatus::Queued {
            // A queued job never reaches a worker's run loop, so finish it here.
            self.finish(id, Err(JobStop::Cancelled));
            return Ok(CancelOutcome::Cancelled(JobStatus::Cancelled));
        }
        Ok(CancelOutcome::Cancelled(job.status))
    }

    /// Returns the registered webhooks of the job's user. A failure to read
    /// them is logged and leaves only the job's own webhook URL.
    fn registered_webhooks(&self, id: &JobId) -> Vec<Webhook> {
        let user_id = match self.store.get(id) {
            Ok(Some(job)) => job.user_id,
            _ => return Vec::new(),
        };
        self.webhooks.list(&user_id).unwrap_or_else(|error| {
            error!(%error, job_id = %id, "reading registered webhooks failed; only the job's webhook_url is notified");
            Vec::new()
        })
    }

    fn lock_cancels(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, CancellationToken>> {
        self.cancels.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn run(self: Arc<Self>, id: JobId) {
        let Some(token) = self.lock_cancels().get(&id).cloned() else {
            return;
        };
        let started = self.store.update(&id, &mut |job| {
            if job.status == JobStatus::Queued {
                job.status = JobStatus::Running;
                job.started_at = Some(crate::time_fmt::now());
            }
        });
        let job = match started {
            Ok(Some(job)) if job.status == JobStatus::Running => job,
            Ok(_) => return,
            Err(error) => {
                error!(%error, "marking the job running failed; it stays queued for the next start");
                return;
            }
        };
        info!("job started");

        let manager = self.clone();
        let outcome = tokio::task::spawn_blocking(move || manager.run_blocking(&job, token)).await;
        let outcome = outcome.unwrap_or_else(|panic| {
            error!(%panic, "job panicked");
            Err(JobStop::Failed(JobError::new(
                "INTERNAL_ERROR",
                "the job failed because of an internal error; see the server log",
                json!({}),
            )))
        });
        if let Err(JobStop::Interrupted) = outcome {
            self.lock_cancels().remove(&id);
            info!("job interrupted by shutdown; it resumes after the next start");
            return;
        }
        self.finish(&id, outcome);
    }

    fn run_blocking(&self, job: &Job, cancel: CancellationToken) -> Result<JobOutput, JobStop> {
        let store = self.store.clone();
        let id = job.id;
        let progress_events = ProgressEvents::new(
            self.store.clone(),
            self.notifier.clone(),
            job,
            self.registered_webhooks(&id),
        );
        let on_progress = move |progress: &Progress| {
            if let Err(error) = store.update(&id, &mut |job| job.progress = progress.clone()) {
                warn!(%error, job_id = %id, "recording progress failed");
            }
            if let Some(events) = &progress_events {
                events.report(progress);
            }
        };
        let ctx = PipelineContext {
            index: self.index.clone(),
            embedder: self.embedder.clone(),
            read_limits: self.config.read_limits.clone(),
            chunk_limits: self.config.chunk_limits.clone(),
            collection: collection_name(&job.user_id),
            source_version: source_version(job),
            cancel,
            interrupt: self.interrupt.clone(),
            on_progress: &on_progress,
        };
        match job.job_type {
            JobType::FileProcessing => pipeline::run_file_job(&ctx, &job.metadata),
            JobType::FileRemoval => pipeline::run_removal_job(&ctx, &job.metadata),
            JobType::WorkspaceIndexing => pipeline::run_workspace_job(&ctx, &job.metadata),
        }
    }

    /// Records the final state of a job and, in the same transaction, queues
    /// its webhook message in the outbox.
    ///
    /// A job whose cancel token was cancelled before this point ends `cancelled`, even if its
    /// work completed or failed, because `cancel_job` already reported it cancelled. Chunks
    /// it stored stay stored.
    fn finish(&self, id: &JobId, outcome: Result<JobOutput, JobStop>) {
        // Read before the transaction below, which locks the database.
        let webhooks = self.registered_webhooks(id);
        // Held until the final status is written, so `cancel` cannot cancel the token between
        // the check below and the write.
        let mut cancels = self.lock_cancels();
        let cancel_requested = cancels.remove(id).is_some_and(|token| token.is_cancelled());
        let stopped_early = matches!(outcome, Err(JobStop::Cancelled | JobStop::Interrupted));
        let outcome = if cancel_requested && !stopped_early {
            info!(job_id = %id, "cancel_job arrived after the job's work ended; recording it as cancelled");
            Err(JobStop::Cancelled)
        } else {
            outcome
        };
        let mut apply = |job: &mut Job| {
            if job.status.is_final() {
                return;
            }
            job.finished_at = Some(crate::time_fmt::now());
            match &outcome {
                Ok(output) => {
                    job.status = JobStatus::Completed;
                    job.result = Some(output.result.clone());
                    job.metrics = Some(output.metrics.clone());
                    job.warnings.extend(output.warnings.iter().cloned());
                }
                Err(JobStop::Cancelled | JobStop::Interrupted) => job.status = JobStatus::Cancelled,
                Err(JobStop::Failed(error)) => {
                    job.status = JobStatus::Failed;
                    job.error = Some(error.clone());
                }
            }
            if job.metrics.is_none() {
                // A failed or cancelled job may have stored chunks before it stopped.
                job.metrics = Some(crate::jobs::model::Metrics {
                    processing_time_ms: (job.duration_seconds() * 1000.0) as u64,
                    chunks_count: job.progress.chunks_processed,
                    file_size_bytes: 0,
                });
            }
        };
        let job = match self
            .store
            .update_with_outbox(id, &mut apply, &|job| outbox_messages(job, &webhooks))
        {
            Ok(Some(job)) => job,
            Ok(None) => return,
            Err(error) => {
                error!(%error, job_id = %id, "recording the end of the job failed; it runs again after the next start");
                return;
            }
        };
        drop(cancels);
        match &job.error {
            Some(error) => {
                warn!(job_id = %id, code = %error.code, message = %error.message, "job failed")
            }
            None => {
                info!(job_id = %id, status = job.status.as_str(), chunks = job.progress.chunks_processed, "job ended")
            }
        }
        self.notifier.wake();
    }
}

/// Returns the job's creation time in Unix nanoseconds, which orders submissions of one file.
///
/// NOTE: this follows the system clock, so a clock set back between two submissions can let
/// the older one win.
fn source_version(job: &Job) -> i64 {
    i64::try_from(job.created_at.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

/// Builds the webhook messages of a job that has just ended: one for its
/// `metadata.webhook_url`, if set, and one for each of the user's registered
/// webhooks subscribed to the event. Message ids are derived from the job id
/// (and webhook id), so they stay the same on every attempt and after a restart.
/// A webhook with a batching window gets its message due when the window ends.
fn outbox_messages(job: &Job, webhooks: &[Webhook]) -> Vec<OutboxMessage> {
    let Some(event) = event_for_status(job.status) else {
        return Vec::new();
    };
    let now = unix_ms();
    let body = serde_json::to_vec(&build_payload(job)).expect("the payload always serializes");
    let mut messages = Vec::new();
    if let Some(url) = job.webhook_url() {
        messages.push(OutboxMessage {
            message_id: format!("msg_{}", job.id.to_string().replace('-', "")),
            job_id: job.id,
            url: url.to_string(),
            body: body.clone(),
            attempts: 0,
            next_attempt_ms: now,
            webhook_id: None,
            event: event.to_string(),
        });
    }
    for webhook in webhooks
        .iter()
        .filter(|webhook| webhook.subscribes_to(event))
    {
        messages.push(OutboxMessage {
            message_id: message_id_for(&job.id, &webhook.id),
            job_id: job.id,
            url: webhook.url.clone(),
            body: body.clone(),
            attempts: 0,
            next_attempt_ms: now + webhook.batch_window_ms.unwrap_or(0) as i64,
            webhook_id: Some(webhook.id.clone()),
            event: event.to_string(),
        });
    }
    messages
}

/// Takes queued job ids and runs each on a worker once a slot is free.
async fn dispatch(
    manager: Arc<JobManager>,
    mut receiver: mpsc::UnboundedReceiver<JobId>,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(manager.config.max_concurrent_jobs.max(1)));
    let mut running = JoinSet::new();
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = slots.clone().acquire_owned() => permit.expect("semaphore is never closed"),
        };
        let id = tokio::select! {
            _ = shutdown.cancelled() => break,
            id = receiver.recv() => match id {
                Some(id) => id,
                None => break,
            },
        };
        let span = info_span!("job", job_id = %id);
        let worker = manager.clone();
        running.spawn(
            async move {
                worker.run(id).await;
                drop(permit);
            }
            .instrument(span),
        );
        while running.try_join_next().is_some() {}
    }
    let waiting = manager.lock_cancels().len().saturating_sub(running.len());
    if waiting > 0 {
        info!(
            queued = waiting,
            "shutting down; queued jobs were not started"
        );
    }
    while running.join_next().await.is_some() {}
}

/// Waits up to `grace` for `dispatcher` to finish its running jobs, then
/// interrupts the ones still running. Interrupted jobs stay `running` in the
/// store and start again after the next start.
pub async fn drain(
    manager: &JobManager,
    mut dispatcher: tokio::task::JoinHandle<()>,
    grace: Duration,
) {
    if tokio::time::timeout(grace, &mut dispatcher).await.is_ok() {
        return;
    }
    warn!(
        grace_ms = grace.as_millis() as u64,
        "running jobs did not finish in time; interrupting them"
    );
    manager.interrupt.cancel();
    if tokio::time::timeout(INTERRUPT_WAIT, dispatcher)
        .await
        .is_err()
    {
        warn!("interrupted jobs did not stop in time");
    }
}

/// Time allowed for interrupted jobs to reach their next file boundary.
const INTERRUPT_WAIT: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_table() {
        let cases = [
            ("user_123", true),
            ("a-b_C9", true),
            ("", false),
            ("has space", false),
            ("../etc", false),
            ("user/1", false),
            ("ユーザー", false),
        ];
        for (user_id, valid) in cases {
            assert_eq!(
                validate_user_id(user_id).is_ok(),
                valid,
                "user_id {user_id:?}"
            );
        }
        assert!(validate_user_id(&"x".repeat(65)).is_err());
        assert!(validate_user_id(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn user_id_message_names_problem() {
        let non_ascii = validate_user_id(&"é".repeat(40)).unwrap_err();
        assert!(non_ascii.contains("is not allowed"), "{non_ascii}");
        assert!(!non_ascii.contains("characters long"), "{non_ascii}");

        let long = validate_user_id(&"x".repeat(70)).unwrap_err();
        assert!(long.contains("70 characters long"), "{long}");
    }
}
