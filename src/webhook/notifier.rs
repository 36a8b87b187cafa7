//! The notifier task: delivers job-end payloads to webhook receivers without
//! ever blocking job workers or changing a job's status.
//!
//! Workers hand over a [`DeliveryRequest`] through an unbounded channel and go
//! on. The notifier runs each delivery in its own task, bounded by a
//! concurrency limit, so one slow receiver does not delay the others. Every
//! outcome is logged and appended to the job's delivery records.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tracing::{info, warn};

use super::signing::{SigningSecret, signature_header};
use crate::jobs::model::{DeliveryRecord, JobId};
use crate::store::JobStore;
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
}

impl Default for NotifierConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_concurrent: 32,
            secrets: Vec::new(),
        }
    }
}

/// One payload for one receiver.
#[derive(Debug, Clone)]
pub struct DeliveryRequest {
    pub job_id: JobId,
    pub url: String,
    /// Stable id of this message, sent as `webhook-id`.
    pub message_id: String,
    /// Serialized payload, identical on every attempt.
    pub body: Arc<Vec<u8>>,
}

/// Handle for queueing deliveries.
#[derive(Clone)]
pub struct Notifier {
    sender: mpsc::UnboundedSender<DeliveryRequest>,
}

impl Notifier {
    /// Starts the notifier task. It ends after every handle is dropped and the
    /// queued and in-flight deliveries have finished.
    pub fn spawn(
        config: NotifierConfig,
        store: Arc<dyn JobStore>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            // Receivers are often on loopback, where a proxy from the
            // environment would break delivery, so no proxy is used.
            .no_proxy()
            .build()
            .expect("the HTTP client configuration is valid");
        let task = tokio::spawn(run(config, client, store, receiver));
        (Self { sender }, task)
    }

    /// Queues a delivery. Never blocks. Returns false if the notifier has stopped.
    pub fn enqueue(&self, request: DeliveryRequest) -> bool {
        self.sender.send(request).is_ok()
    }
}

async fn run(
    config: NotifierConfig,
    client: reqwest::Client,
    store: Arc<dyn JobStore>,
    mut receiver: mpsc::UnboundedReceiver<DeliveryRequest>,
) {
    let limit = Arc::new(Semaphore::new(config.max_concurrent.max(1)));
    let mut in_flight = JoinSet::new();
    while let Some(request) = receiver.recv().await {
        let permit = limit
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore is never closed");
        let client = client.clone();
        let store = store.clone();
        let secrets = config.secrets.clone();
        in_flight.spawn(async move {
            let record = deliver(&client, &secrets, &request).await;
            store.update(&request.job_id, &mut |job| {
                job.deliveries.push(record.clone())
            });
            drop(permit);
        });
        // Reap finished deliveries so the set does not grow without bound.
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}

/// Sends one POST and describes the outcome. Only a 2xx status is success.
async fn deliver(
    client: &reqwest::Client,
    secrets: &[SigningSecret],
    request: &DeliveryRequest,
) -> DeliveryRecord {
    let started = Instant::now();
    let timestamp = now().unix_timestamp();
    let mut post = client
        .post(&request.url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(
            USER_AGENT,
            concat!("mcp-code-index/", env!("CARGO_PKG_VERSION")),
        )
        .header("webhook-id", &request.message_id)
        .header("webhook-timestamp", timestamp.to_string());
    if !secrets.is_empty() {
        let signature = signature_header(secrets, &request.message_id, timestamp, &request.body);
        post = post.header("webhook-signature", signature);
    }
    let response = post.body(request.body.as_ref().clone()).send().await;
    let duration_ms = started.elapsed().as_millis() as u64;

    let (outcome, status_code, error) = match response {
        Ok(response) if response.status().is_success() => {
            ("delivered", Some(response.status().as_u16()), None)
        }
        Ok(response) => {
            let status = response.status();
            let mut message = format!("receiver returned HTTP {status}");
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("");
                message.push_str(&format!(
                    "; redirects are not followed (Location: {location})"
                ));
            }
            ("failed", Some(status.as_u16()), Some(message))
        }
        Err(error) if error.is_timeout() => (
            "timed_out",
            None,
            Some(format!("no response within {} ms", duration_ms)),
        ),
        Err(error) => ("failed", None, Some(describe_error(&error))),
    };

    let record = DeliveryRecord {
        message_id: request.message_id.clone(),
        url: request.url.clone(),
        outcome: outcome.to_string(),
        status_code,
        error,
        duration_ms,
        attempted_at: rfc3339_millis(now()),
    };
    if outcome == "delivered" {
        info!(job_id = %request.job_id, url = %request.url, status = ?status_code, duration_ms, "webhook delivered");
    } else {
        warn!(job_id = %request.job_id, url = %request.url, outcome, error = ?record.error, duration_ms, "webhook delivery failed");
    }
    record
}

/// Formats a transport error with its causes, e.g. `connection refused`.
fn describe_error(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
