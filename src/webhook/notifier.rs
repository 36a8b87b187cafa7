//! The notifier task: delivers outbox messages to webhook receivers without
//! ever blocking job workers or changing a job's status.
//!
//! Job workers write a message to the SQLite outbox in the transaction that
//! finishes the job, then wake the notifier. The notifier sends every due
//! message in its own task, bounded by a concurrency limit so that one slow
//! receiver does not delay the others, and records each attempt. Messages still
//! pending at exit are sent after the next start.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::address::{AddressPolicy, check_before_send};
use super::resolver::{PolicyResolver, ResolveError};
use super::retry::{RetryHints, RetryPolicy, next_step};
use super::signing::{SigningSecret, signature_header};
use crate::jobs::model::DeliveryRecord;
use crate::store::{JobStore, OutboxMessage, OutboxNext};
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
}

impl Default for NotifierConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_concurrent: 32,
            secrets: Vec::new(),
            retry: RetryPolicy::default(),
            address_policy: AddressPolicy::Default,
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
            in_flight: Arc::new(Mutex::new(HashSet::new())),
        };
        let task = tokio::spawn(worker.run(wake.clone(), shutdown));
        (Self { wake }, task)
    }

    /// Tells the notifier that new messages are due. Never blocks.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Longest sleep between outbox scans when nothing is due, so that messages
/// written by other paths are picked up too.
const IDLE_SCAN: Duration = Duration::from_secs(30);
/// Messages read from the outbox per scan.
const SCAN_BATCH: usize = 256;

struct Worker {
    config: Arc<NotifierConfig>,
    client: reqwest::Client,
    store: Arc<dyn JobStore>,
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
            match self.store.due_messages(unix_ms(), SCAN_BATCH) {
                Ok(messages) => {
                    for message in messages {
                        if !self.lock_in_flight().insert(message.message_id.clone()) {
                            continue;
                        }
                        let permit = limit
                            .clone()
                            .acquire_owned()
                            .await
                            .expect("semaphore is never closed");
                        let attempt = self.attempt_task(message);
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

    fn attempt_task(
        &self,
        message: OutboxMessage,
    ) -> impl std::future::Future<Output = ()> + use<> {
        let client = self.client.clone();
        let config = self.config.clone();
        let store = self.store.clone();
        let in_flight = self.in_flight.clone();
        async move {
            let (record, hints) = deliver(&client, &config, &message).await;
            let next = next_step(&config.retry, &message, &record, hints, unix_ms());
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
            if let Err(error) = store.record_attempt(&message, &record, next) {
                error!(%error, message_id = %message.message_id, "recording a webhook attempt failed");
            }
            in_flight
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&message.message_id);
        }
    }
}

/// Returns the current time in Unix milliseconds.
pub fn unix_ms() -> i64 {
    (now().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Sends one POST and describes the outcome, with the facts that decide a
/// retry. Only a 2xx status counts as delivered. If the address policy rejects
/// the receiver, the attempt fails before connecting and is not retried.
async fn deliver(
    client: &reqwest::Client,
    config: &NotifierConfig,
    message: &OutboxMessage,
) -> (DeliveryRecord, RetryHints) {
    if let Err(reason) = check_message_url(config.address_policy, &message.url) {
        warn!(job_id = %message.job_id, url = %message.url, error = %reason, "webhook attempt rejected before connecting");
        let record = delivery_record(message, "failed", None, Some(reason), 0);
        let hints = RetryHints {
            retry_after: None,
            permanent: true,
        };
        return (record, hints);
    }

    let secrets = &config.secrets;
    let started = Instant::now();
    let timestamp = now().unix_timestamp();
    let mut post = client
        .post(&message.url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(
            USER_AGENT,
            concat!("mcp-code-index/", env!("CARGO_PKG_VERSION")),
        )
        .header("webhook-id", &message.message_id)
        .header("webhook-timestamp", timestamp.to_string());
    if !secrets.is_empty() {
        let signature = signature_header(secrets, &message.message_id, timestamp, &message.body);
        post = post.header("webhook-signature", signature);
    }
    let response = post.body(message.body.clone()).send().await;
    let duration_ms = started.elapsed().as_millis() as u64;

    let mut hints = RetryHints::default();
    let (outcome, status_code, error) = match response {
        Ok(response) if response.status().is_success() => {
            ("delivered", Some(response.status().as_u16()), None)
        }
        Ok(response) => {
            let status = response.status();
            hints.retry_after = super::retry::parse_retry_after(response.headers());
            let mut text = format!("receiver returned HTTP {status}");
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("");
                text.push_str(&format!(
                    "; redirects are not followed (Location: {location})"
                ));
            }
            ("failed", Some(status.as_u16()), Some(text))
        }
        Err(error) if error.is_timeout() => (
            "timed_out",
            None,
            Some(format!("no response within {duration_ms} ms")),
        ),
        Err(error) => {
            hints.permanent = is_policy_rejection(&error);
            ("failed", None, Some(describe_error(&error)))
        }
    };

    let record = delivery_record(message, outcome, status_code, error, duration_ms);
    if outcome == "delivered" {
        info!(job_id = %message.job_id, url = %message.url, status = ?status_code, duration_ms, "webhook delivered");
    } else {
        warn!(job_id = %message.job_id, url = %message.url, outcome, error = ?record.error, duration_ms, "webhook attempt failed");
    }
    (record, hints)
}

/// Applies the address policy to a message's URL before an attempt. The
/// resolver checks host names when the client connects, but the client does
/// not resolve IP addresses, so this check covers them.
fn check_message_url(policy: AddressPolicy, text: &str) -> Result<(), String> {
    let url = Url::parse(text)
        .map_err(|error| format!("webhook not sent: invalid URL {text:?}: {error}"))?;
    check_before_send(policy, &url)
}

fn delivery_record(
    message: &OutboxMessage,
    outcome: &str,
    status_code: Option<u16>,
    error: Option<String>,
    duration_ms: u64,
) -> DeliveryRecord {
    DeliveryRecord {
        message_id: message.message_id.clone(),
        url: message.url.clone(),
        outcome: outcome.to_string(),
        status_code,
        error,
        duration_ms,
        attempted_at: rfc3339_millis(now()),
    }
}

/// Returns true if the request failed because the address policy rejected
/// every address of the receiver's host.
fn is_policy_rejection(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if cause
            .downcast_ref::<ResolveError>()
            .is_some_and(ResolveError::is_policy_rejection)
        {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Formats a transport error with its causes, e.g. `connection refused`.
fn describe_error(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
