//! `job.progress` events: progress counters of a running job, sent to the
//! registered webhooks that subscribe to them, at most every
//! [`PROGRESS_EVENT_INTERVAL_MS`] per job.

use std::sync::{Arc, Mutex};

use serde_json::json;
use sha2::{Digest, Sha256};
use tracing::warn;

use super::model::{Job, JobId, Progress};
use crate::store::{JobStore, OutboxMessage};
use crate::time_fmt::{now, rfc3339_millis};
use crate::webhook::Notifier;
use crate::webhook::endpoints::{PROGRESS_EVENT, PROGRESS_EVENT_INTERVAL_MS, Webhook};
use crate::webhook::notifier::unix_ms;

/// Sends the progress events of one job.
pub struct ProgressEvents {
    store: Arc<dyn JobStore>,
    notifier: Notifier,
    job_id: JobId,
    job_type: &'static str,
    user_id: String,
    /// Webhooks of the job's user that subscribe to `job.progress`.
    webhooks: Vec<Webhook>,
    /// Unix milliseconds of the last event, and how many were sent.
    state: Mutex<(i64, u64)>,
}

impl ProgressEvents {
    /// Returns `None` when no webhook of the user subscribes to progress.
    pub fn new(
        store: Arc<dyn JobStore>,
        notifier: Notifier,
        job: &Job,
        webhooks: Vec<Webhook>,
    ) -> Option<Self> {
        let webhooks: Vec<Webhook> = webhooks
            .into_iter()
            .filter(|webhook| webhook.subscribes_to(PROGRESS_EVENT))
            .collect();
        if webhooks.is_empty() {
            return None;
        }
        Some(Self {
            store,
            notifier,
            job_id: job.id,
            job_type: job.job_type.as_str(),
            user_id: job.user_id.clone(),
            webhooks,
            state: Mutex::new((i64::MIN, 0)),
        })
    }

    /// Queues a progress event unless one was sent within the interval.
    pub fn report(&self, progress: &Progress) {
        let now_ms = unix_ms();
        let sequence = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if now_ms.saturating_sub(state.0) < PROGRESS_EVENT_INTERVAL_MS {
                return;
            }
            state.0 = now_ms;
            state.1 += 1;
            state.1
        };
        let body = json!({
            "type": PROGRESS_EVENT,
            "job_id": self.job_id.to_string(),
            "job_type": self.job_type,
            "user_id": self.user_id,
            "status": "running",
            "progress": progress,
            "sent_at": rfc3339_millis(now()),
        });
        let body = serde_json::to_vec(&body).expect("a JSON value always serializes");
        let messages: Vec<OutboxMessage> = self
            .webhooks
            .iter()
            .map(|webhook| OutboxMessage {
                message_id: progress_message_id(&self.job_id, &webhook.id, sequence),
                job_id: self.job_id,
                url: webhook.url.clone(),
                body: body.clone(),
                attempts: 0,
                next_attempt_ms: now_ms + webhook.batch_window_ms.unwrap_or(0) as i64,
                webhook_id: Some(webhook.id.clone()),
                event: PROGRESS_EVENT.to_string(),
            })
            .collect();
        match self.store.enqueue(&messages) {
            Ok(()) => self.notifier.wake(),
            Err(error) => warn!(%error, job_id = %self.job_id, "queueing a progress event failed"),
        }
    }
}

/// Stable id of the `sequence`-th progress event of a job for one webhook.
fn progress_message_id(job_id: &JobId, webhook_id: &str, sequence: u64) -> String {
    let digest = Sha256::digest(format!("{job_id}/{webhook_id}/progress/{sequence}"));
    format!("msg_{}", hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_ids_differ_per_event() {
        let job = JobId::new();
        assert_ne!(
            progress_message_id(&job, "wh_a", 1),
            progress_message_id(&job, "wh_a", 2)
        );
        assert_eq!(
            progress_message_id(&job, "wh_a", 1),
            progress_message_id(&job, "wh_a", 1)
        );
    }
}
