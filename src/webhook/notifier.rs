//! The notifier task: delivers outbox messages to webhook receivers without
//! ever blocking job workers or changing a job's status.
//!
//! Job workers write a message to the SQLite outbox in the transaction that
//! finishes the job, then wake the notifier. The notifier sends every due
//! message in its own task, bounded by a concurrency limit so that one slow
//! receiver does not delay the others, and records each attempt. Messages still
//! pending at exit are sent after the next start.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

use super::address::AddressPolicy;
use super::attempt::{Outcome, Request, send};
use super::resolver::PolicyResolver;
use super::retry::{RetryHints, RetryPolicy, next_step};
use super::signing::SigningSecret;
use crate::jobs::model::DeliveryRecord;
use crate::store::{JobStore, OutboxMessage, OutboxNext, WebhookStore};
use crate::time_fmt::{now, rfc3339_millis};

/// Settings of the notifier.
#[derive(Debug, Clone)]
pub struct NotifierConfig {
    /// Total time allowed for one attempt: connect, send, and receive the
    /// response status.
    pub timeout: Duration,
    /// Deliveries in flight at once.
    pub max_concurrent: usize,
    /// Keys that sign each request, newest first. Empty: requests go unsigned.
    pub secrets: Vec<SigningSecret>,
    pub retry: RetryPolicy,
    /// Receiver addresses that deliveries may connect to, checked before each
    /// attempt and on every address that DNS returns.
    pub address_policy: AddressPolicy,
    /// A registered webhook whose every attempt failed for longer than this
    /// is disabled.
    pub disable_after: Duration,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_concurrent: 32,
            secrets: Vec::new(),
            retry: RetryPolicy::default(),
            address_policy: AddressPolicy::Default,
            disable_after: Duration::from_secs(5 * 24 * 3600),
        }
    }
}

/// Handle for waking the notifier after new messages were written.
#[derive(Clone)]
pub struct Notifier {
    wake: Arc<Notify>,
}

impl Notifier {
    /// Starts the notifier task. It stops when `shutdown` is cancelled, after
    /// in-flight attempts end; pending messages stay in the outbox.
    pub fn spawn(
        config: NotifierConfig,
        store: Arc<dyn JobStore>,
        webhooks: Arc<WebhookStore>,
        shutdown: CancellationToken,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let wake = Arc::new(Notify::new());
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            // Receivers are often on loopback, where a proxy from the
            // environment would break delivery, so no proxy is used.
            .no_proxy()
            .dns_resolver(PolicyResolver::new(config.address_policy))
            .build()
            .expect("the HTTP client configuration is valid");
        let worker = Worker {
            config: Arc::new(config),
            client,
            store,
            webhooks,
            in_flight: Arc::new(Mutex::new(HashSet::new())),
        };
        let task = tokio::spawn(worker.run(wake.clone(), shutdown));
        (Self { wake }, task)
    }

    /// Tells the notifier that new messages are due. It only sets a flag, so it
    /// does not block.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Maximum sleep between outbox scans when nothing is due, so that messages
/// written by other paths are picked up too.
const IDLE_SCAN: Duration = Duration::from_secs(30);
/// Messages read from the outbox per scan.
const SCAN_BATCH: usize = 256;

struct Worker {
    config: Arc<NotifierConfig>,
    client: reqwest::Client,
    store: Arc<dyn JobStore>,
    webhooks: Arc<WebhookStore>,
    /// Ids of messages being sent, so a scan does not send them twice.
    in_flight: Arc<Mutex<HashSet<String>>>,
}

impl Worker {
    async fn run(self, wake: Arc<Notify>, shutdown: CancellationToken) {
        let limit = Arc::new(Semaphore::new(self.config.max_concurrent.max(1)));
        let mut tasks = JoinSet::new();
        // After shutdown begins, one last scan sends the messages already due,
        // such as the webhook of a job that ended during the grace period.
        let mut final_pass = false;
        loop {
            match self.scan_due() {
                Ok(groups) => {
                    for group in groups {
                        let permit = limit
                            .clone()
                            .acquire_owned()
                            .await
                            .expect("semaphore is never closed");
                        let attempt = self.attempt_task(group);
                        tasks.spawn(async move {
                            attempt.await;
                            drop(permit);
                        });
                    }
                }
                Err(error) => error!(%error, "reading the webhook outbox failed"),
            }
            while tasks.try_join_next().is_some() {}
            if final_pass {
                break;
            }

            let sleep = match self.store.next_due_ms() {
                Ok(Some(due)) => Duration::from_millis(due.saturating_sub(unix_ms()).max(0) as u64),
                _ => IDLE_SCAN,
            }
            .min(IDLE_SCAN);
            tokio::select! {
                _ = shutdown.cancelled() => final_pass = true,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(sleep.max(Duration::from_millis(20))) => {}
            }
        }
        while tasks.join_next().await.is_some() {}
    }

    fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the due messages, marks them in flight and groups them: one group per
    /// registered webhook, so a batching webhook sends all its due messages in
    /// one POST, and one group per message sent to a job's own webhook URL.
    ///
    /// The in-flight lock is taken before the outbox is read and held until the
    /// messages are claimed. A delivery task removes its id only after it has
    /// recorded the attempt, so a row read here can never be one whose attempt
    /// ended in between, which would send it twice.
    fn scan_due(&self) -> Result<Vec<Vec<OutboxMessage>>, crate::store::StoreError> {
        let mut in_flight = self.lock_in_flight();
        let messages = self.store.due_messages(unix_ms(), SCAN_BATCH)?;
        let mut groups: Vec<Vec<OutboxMessage>> = Vec::new();
        let mut group_of_webhook: HashMap<String, usize> = HashMap::new();
        for message in messages {
            if !in_flight.insert(message.message_id.clone()) {
                continue;
            }
            match &message.webhook_id {
                Some(webhook_id) => {
                    let index = *group_of_webhook
                        .entry(webhook_id.clone())
                        .or_insert_with(|| {
                            groups.push(Vec::new());
                            groups.len() - 1
                        });
                    groups[index].push(message);
                }
                None => groups.push(vec![message]),
            }
        }
        Ok(groups)
    }

    fn attempt_task(
        &self,
        group: Vec<OutboxMessage>,
    ) -> impl std::future::Future<Output = ()> + use<> {
        let client = self.client.clone();
        let config = self.config.clone();
        let store = self.store.clone();
        let webhooks = self.webhooks.clone();
        let in_flight = self.in_flight.clone();
        async move {
            let sent = match group.first().and_then(|first| first.webhook_id.clone()) {
                None => {
                    let mut sent = Vec::new();
                    for message in &group {
                        let request = Request {
                            id: &message.message_id,
                            url: &message.url,
                            body: &message.body,
                            secrets: &config.secrets,
                            headers: &BTreeMap::new(),
                        };
                        let outcome = send(&client, config.address_policy, &request).await;
                        sent.push((message.clone(), outcome));
                    }
                    sent
                }
                Some(webhook_id) => {
                    send_to_webhook(
                        &client,
                        &config,
                        store.as_ref(),
                        &webhooks,
                        &in_flight,
                        &group,
                        &webhook_id,
                    )
                    .await
                }
            };
            let mut claimed = Vec::new();
            for (sent_message, outcome) in sent {
                record(&config, store.as_ref(), &sent_message, &outcome);
                claimed.push(sent_message.message_id);
            }
            let mut in_flight = in_flight.lock().unwrap_or_else(|e| e.into_inner());
            for id in claimed
                .iter()
                .chain(group.iter().map(|message| &message.message_id))
            {
                in_flight.remove(id);
            }
        }
    }
}

/// Sends a message (or, for a batching webhook, every pending message of that
/// webhook in one POST) with the webhook's current URL, headers and secrets,
/// and updates the webhook's health. Returns each message with its outcome.
async fn send_to_webhook(
    client: &reqwest::Client,
    config: &NotifierConfig,
    store: &dyn JobStore,
    webhooks: &WebhookStore,
    in_flight: &Mutex<HashSet<String>>,
    group: &[OutboxMessage],
    webhook_id: &str,
) -> Vec<(OutboxMessage, Outcome)> {
    let each = |outcome: Outcome| -> Vec<(OutboxMessage, Outcome)> {
        group
            .iter()
            .map(|message| (message.clone(), outcome.clone()))
            .collect()
    };
    let webhook = match webhooks.get(webhook_id) {
        Ok(Some(webhook)) if webhook.disabled_reason.is_none() => webhook,
        Ok(found) => {
            let reason = match found.and_then(|webhook| webhook.disabled_reason) {
                Some(reason) => format!("webhook {webhook_id} is disabled: {reason}"),
                None => format!("webhook {webhook_id} was deleted"),
            };
            return each(permanent_failure(reason));
        }
        Err(error) => {
            error!(%error, webhook_id, "reading a registered webhook failed; the message stays queued");
            let mut outcome =
                permanent_failure(format!("reading webhook {webhook_id} failed: {error}"));
            outcome.hints.permanent = false;
            return each(outcome);
        }
    };
    let now_ms = unix_ms();
    let secrets: Vec<SigningSecret> = webhook
        .active_secrets(now_ms)
        .into_iter()
        .filter_map(|secret| SigningSecret::parse(secret).ok())
        .collect();

    if webhook.batch_window_ms.is_none() {
        // Without batching, the webhook's messages go out one by one.
        let mut sent = Vec::new();
        for message in group {
            let request = Request {
                id: &message.message_id,
                url: &webhook.url,
                body: &message.body,
                secrets: &secrets,
                headers: &webhook.headers,
            };
            let outcome = send(client, config.address_policy, &request).await;
            update_health(webhooks, &webhook.id, &outcome, config.disable_after);
            sent.push((message.clone(), outcome));
        }
        return sent;
    }

    // A batch takes the due group and every other pending message of the webhook.
    let mut batch = group.to_vec();
    {
        // Locked before the read for the same reason as in `scan_due`.
        let mut claimed = in_flight.lock().unwrap_or_else(|e| e.into_inner());
        match store.pending_for_webhook(webhook_id) {
            Ok(pending) => {
                for other in pending {
                    if claimed.insert(other.message_id.clone()) {
                        batch.push(other);
                    }
                }
            }
            Err(error) => {
                warn!(%error, webhook_id, "reading pending messages failed; sending the due ones")
            }
        }
    }
    let (id, body) = batch_body(&webhook.id, &batch);
    let request = Request {
        id: &id,
        url: &webhook.url,
        body: &body,
        secrets: &secrets,
        headers: &webhook.headers,
    };
    let outcome = send(client, config.address_policy, &request).await;
    update_health(webhooks, &webhook.id, &outcome, config.disable_after);
    batch
        .into_iter()
        .map(|sent| (sent, outcome.clone()))
        .collect()
}

/// Builds the id and body of a batch: `{"type": "batch", "webhook_id": ...,
/// "events": [payload, ...]}`. The id is derived from the message ids, so a
/// retry of the same batch keeps it.
fn batch_body(webhook_id: &str, messages: &[OutboxMessage]) -> (String, Vec<u8>) {
    let mut ids: Vec<&str> = messages
        .iter()
        .map(|message| message.message_id.as_str())
        .collect();
    ids.sort_unstable();
    let digest = Sha256::digest(ids.join(",").as_bytes());
    let mut body = format!(
        "{{\"type\":\"batch\",\"webhook_id\":{},\"events\":[",
        serde_json::Value::from(webhook_id)
    )
    .into_bytes();
    for (index, message) in messages.iter().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&message.body);
    }
    body.extend_from_slice(b"]}");
    (format!("batch_{}", hex::encode(&digest[..16])), body)
}

/// Records a webhook's failure streak: a success clears it, a 410 Gone
/// disables the webhook at once, and failures for longer than `disable_after`
/// disable it with the reason visible in list_webhooks.
fn update_health(webhooks: &WebhookStore, id: &str, outcome: &Outcome, disable_after: Duration) {
    let now_ms = unix_ms();
    let result = webhooks.update(id, &mut |webhook| {
        if outcome.is_delivered() {
            webhook.failing_since_ms = None;
            return;
        }
        let since = *webhook.failing_since_ms.get_or_insert(now_ms);
        if outcome.status_code == Some(410) {
            webhook.disabled_reason = Some("the receiver returned 410 Gone".to_string());
        } else if now_ms - since > disable_after.as_millis() as i64 {
            webhook.disabled_reason = Some(format!(
                "every attempt failed for more than {} hours; last error: {}",
                disable_after.as_secs() / 3600,
                outcome.error.as_deref().unwrap_or("unknown")
            ));
        }
        if let Some(reason) = &webhook.disabled_reason {
            warn!(webhook_id = %webhook.id, %reason, "webhook disabled");
        }
    });
    if let Err(error) = result {
        error!(%error, webhook_id = id, "updating webhook health failed");
    }
}

fn permanent_failure(reason: String) -> Outcome {
    let mut outcome = Outcome {
        outcome: "failed",
        status_code: None,
        error: Some(reason),
        duration_ms: 0,
        attempted_at: rfc3339_millis(now()),
        response_body: None,
        hints: RetryHints::default(),
    };
    outcome.hints.permanent = true;
    outcome
}

/// Decides and stores what follows an attempt, and logs it.
fn record(
    config: &NotifierConfig,
    store: &dyn JobStore,
    message: &OutboxMessage,
    outcome: &Outcome,
) {
    let delivery = DeliveryRecord {
        message_id: message.message_id.clone(),
        url: message.url.clone(),
        outcome: outcome.outcome.to_string(),
        status_code: outcome.status_code,
        error: outcome.error.clone(),
        duration_ms: outcome.duration_ms,
        attempted_at: outcome.attempted_at.clone(),
    };
    let next = next_step(&config.retry, message, &delivery, outcome.hints, unix_ms());
    match next {
        OutboxNext::Delivered => {}
        OutboxNext::RetryAt(at) => warn!(
            job_id = %message.job_id,
            message_id = %message.message_id,
            attempt = message.attempts + 1,
            retry_in_ms = at - unix_ms(),
            "webhook attempt failed; will retry"
        ),
        OutboxNext::Failed => warn!(
            job_id = %message.job_id,
            message_id = %message.message_id,
            attempts = message.attempts + 1,
            "webhook delivery failed permanently"
        ),
    }
    if let Err(error) =
        store.record_attempt(message, &delivery, outcome.response_body.as_deref(), next)
    {
        error!(%error, message_id = %message.message_id, "recording a webhook attempt failed");
    }
}

/// Returns the current time in Unix milliseconds.
pub fn unix_ms() -> i64 {
    (now().unix_timestamp_nanos() / 1_000_000) as i64
}
