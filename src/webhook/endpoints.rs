//! Registered webhooks: the model, event types, and validation of what users
//! send when they register or update one.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::jobs::model::{JobId, JobStatus};

/// Events a registered webhook can subscribe to.
pub const EVENT_TYPES: [&str; 4] = [
    "job.completed",
    "job.failed",
    "job.cancelled",
    PROGRESS_EVENT,
];
/// Events a webhook gets when it names none: every job end, but no progress.
pub const DEFAULT_EVENTS: [&str; 3] = ["job.completed", "job.failed", "job.cancelled"];
/// Event sent while a job runs, to webhooks that opt in, at most every
/// [`PROGRESS_EVENT_INTERVAL_MS`] per job.
pub const PROGRESS_EVENT: &str = "job.progress";
/// Shortest time between two progress events of one job, in milliseconds.
pub const PROGRESS_EVENT_INTERVAL_MS: i64 = 2000;
/// Event of the message that `send_test_webhook` queues.
pub const TEST_EVENT: &str = "webhook.test";
/// Most custom headers one webhook may carry.
const MAX_HEADERS: usize = 20;
/// Maximum custom header value length, in bytes.
const MAX_HEADER_VALUE: usize = 1024;
/// Longest accepted batching window, in seconds.
pub const MAX_BATCH_WINDOW_SECS: u64 = 3600;
/// Headers the server sets itself, which a custom header must not replace.
const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "transfer-encoding",
    "connection",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

/// One signing secret of a webhook. During rotation the old secret keeps
/// signing until `expires_ms`, so receivers can switch over at their pace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSecret {
    /// `whsec_<base64>`.
    pub secret: String,
    /// Unix milliseconds after which this secret no longer signs; `None` for
    /// the current secret.
    pub expires_ms: Option<i64>,
}

/// A webhook registered by a user.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// `wh_<32 hex digits>`.
    pub id: String,
    pub user_id: String,
    pub url: String,
    pub description: String,
    /// Subscribed event types, a subset of [`EVENT_TYPES`].
    pub events: Vec<String>,
    /// Extra request headers, validated by [`validate_headers`].
    pub headers: BTreeMap<String, String>,
    /// Newest first. Only secrets that have not expired sign requests.
    pub secrets: Vec<StoredSecret>,
    /// Collect events for this long and send them as one batch; `None` sends
    /// one POST per event.
    pub batch_window_ms: Option<u64>,
    /// Reason delivery to this webhook stopped, or `None` while it is enabled.
    pub disabled_reason: Option<String>,
    /// Unix milliseconds of the first failed attempt since the last success.
    pub failing_since_ms: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

impl Webhook {
    /// Returns the secrets that still sign at `now_ms`, newest first.
    pub fn active_secrets(&self, now_ms: i64) -> Vec<&str> {
        self.secrets
            .iter()
            .filter(|stored| stored.expires_ms.is_none_or(|expires| expires > now_ms))
            .map(|stored| stored.secret.as_str())
            .collect()
    }

    pub fn subscribes_to(&self, event: &str) -> bool {
        self.disabled_reason.is_none() && self.events.iter().any(|subscribed| subscribed == event)
    }
}

/// Event type of a job that ended with `status`, or `None` while it runs.
pub fn event_for_status(status: JobStatus) -> Option<&'static str> {
    match status {
        JobStatus::Completed => Some("job.completed"),
        JobStatus::Failed => Some("job.failed"),
        JobStatus::Cancelled => Some("job.cancelled"),
        JobStatus::Queued | JobStatus::Running => None,
    }
}

/// Returns a new webhook id, `wh_<32 hex digits>`.
pub fn new_webhook_id() -> String {
    format!("wh_{}", uuid::Uuid::new_v4().simple())
}

/// Returns a new random secret, `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut key = Vec::with_capacity(32);
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    format!("whsec_{}", STANDARD.encode(key))
}

/// Returns the stable message id of `job_id`'s event for a registered webhook:
/// the same on every attempt and after a restart, different for each webhook.
pub fn message_id_for(job_id: &JobId, webhook_id: &str) -> String {
    let digest = Sha256::digest(format!("{job_id}/{webhook_id}"));
    format!("msg_{}", hex::encode(&digest[..16]))
}

/// Checks a list of event types. An empty list is rejected.
pub fn validate_events(events: &[String]) -> Result<Vec<String>, String> {
    if events.is_empty() {
        return Err(format!(
            "events is empty; subscribe to at least one of: {}",
            EVENT_TYPES.join(", ")
        ));
    }
    let mut valid = Vec::new();
    for event in events {
        if !EVENT_TYPES.contains(&event.as_str()) {
            return Err(format!(
                "unknown event type {event:?}; valid event types are: {}",
                EVENT_TYPES.join(", ")
            ));
        }
        if !valid.contains(event) {
            valid.push(event.clone());
        }
    }
    Ok(valid)
}

/// Checks custom headers: valid HTTP names, no CR, LF or NUL in values, and
/// none of the headers the server sets itself.
pub fn validate_headers(headers: &BTreeMap<String, String>) -> Result<(), String> {
    if headers.len() > MAX_HEADERS {
        return Err(format!(
            "{} custom headers given; the maximum is {MAX_HEADERS}",
            headers.len()
        ));
    }
    for (name, value) in headers {
        let is_token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !is_token {
            return Err(format!(
                "invalid header name {name:?}: use letters, digits and - (HTTP token characters)"
            ));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "header {name:?} is set by the server and cannot be overridden"
            ));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(format!(
                "invalid value for header {name:?}: CR, LF and NUL are not allowed"
            ));
        }
        if value.len() > MAX_HEADER_VALUE {
            return Err(format!(
                "value of header {name:?} is {} bytes; the maximum is {MAX_HEADER_VALUE}",
                value.len()
            ));
        }
        if !value.is_ascii() || reqwest::header::HeaderValue::from_str(value).is_err() {
            return Err(format!(
                "invalid value for header {name:?}: use visible ASCII characters"
            ));
        }
    }
    Ok(())
}

/// Checks a batching window in seconds; `0` or absent means no batching.
pub fn validate_batch_window(seconds: Option<u64>) -> Result<Option<u64>, String> {
    match seconds {
        None | Some(0) => Ok(None),
        Some(seconds) if seconds <= MAX_BATCH_WINDOW_SECS => Ok(Some(seconds * 1000)),
        Some(seconds) => Err(format!(
            "invalid batch_window_seconds {seconds}: use 0 to {MAX_BATCH_WINDOW_SECS}"
        )),
    }
}

/// A webhook as the tools show it: everything except the secrets.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WebhookView {
    pub webhook_id: String,
    pub user_id: String,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    /// Names of the custom headers. Values are never shown, because any of
    /// them may carry a credential.
    pub headers: BTreeMap<String, String>,
    /// Seconds events are collected before one batched POST; absent when each
    /// event is sent on its own.
    pub batch_window_seconds: Option<u64>,
    pub enabled: bool,
    /// Reason delivery stopped, for a disabled webhook.
    pub disabled_reason: Option<String>,
    /// Secrets that still sign requests (2 during a rotation grace period).
    pub active_secrets: usize,
    pub created_at: String,
    pub updated_at: String,
}

impl WebhookView {
    pub fn new(webhook: &Webhook, now_ms: i64) -> Self {
        // Any header value may be a credential, whatever its name, so none is shown.
        let headers = webhook
            .headers
            .keys()
            .map(|name| (name.clone(), crate::jobs::redact::REDACTED.to_string()))
            .collect();
        Self {
            webhook_id: webhook.id.clone(),
            user_id: webhook.user_id.clone(),
            url: webhook.url.clone(),
            description: webhook.description.clone(),
            events: webhook.events.clone(),
            headers,
            batch_window_seconds: webhook.batch_window_ms.map(|ms| ms / 1000),
            enabled: webhook.disabled_reason.is_none(),
            disabled_reason: webhook.disabled_reason.clone(),
            active_secrets: webhook.active_secrets(now_ms).len(),
            created_at: webhook.created_at.clone(),
            updated_at: webhook.updated_at.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn header_validation_table() {
        let cases: &[(&[(&str, &str)], bool)] = &[
            (&[("X-Api-Key", "abc")], true),
            (&[("Authorization", "Bearer t")], true),
            (&[("X-Env", "staging")], true),
            (&[("Bad Name", "x")], false),
            (&[("", "x")], false),
            (&[("X-Inject", "a\r\nX-Evil: 1")], false),
            (&[("X-Newline", "a\nb")], false),
            (&[("X-Nul", "a\0b")], false),
            (&[("webhook-signature", "v1,forged")], false),
            (&[("Webhook-Id", "msg_x")], false),
            (&[("Content-Type", "text/plain")], false),
            (&[("Host", "evil.example")], false),
        ];
        for (pairs, valid) in cases {
            assert_eq!(
                validate_headers(&headers(pairs)).is_ok(),
                *valid,
                "headers {pairs:?}"
            );
        }
        let too_long = headers(&[("X-Long", &"a".repeat(MAX_HEADER_VALUE + 1))]);
        assert!(validate_headers(&too_long).is_err());
    }

    #[test]
    fn event_validation_lists_valid_types() {
        let error = validate_events(&["job.done".to_string()]).unwrap_err();
        assert!(
            error.contains("job.completed, job.failed, job.cancelled"),
            "{error}"
        );
        assert!(validate_events(&[]).is_err());
        let deduplicated =
            validate_events(&["job.failed".to_string(), "job.failed".to_string()]).unwrap();
        assert_eq!(deduplicated, vec!["job.failed"]);
    }

    #[test]
    fn new_secret_is_valid_signing_key() {
        let secret = new_secret();
        assert!(crate::webhook::signing::SigningSecret::parse(&secret).is_ok());
        assert_ne!(secret, new_secret());
    }

    #[test]
    fn message_ids_differ_per_webhook() {
        let job = JobId::new();
        assert_eq!(message_id_for(&job, "wh_a"), message_id_for(&job, "wh_a"));
        assert_ne!(message_id_for(&job, "wh_a"), message_id_for(&job, "wh_b"));
    }

    #[test]
    fn expired_secrets_do_not_sign() {
        let webhook = Webhook {
            id: "wh_1".to_string(),
            user_id: "u".to_string(),
            url: "http://127.0.0.1/".to_string(),
            description: String::new(),
            events: vec!["job.completed".to_string()],
            headers: BTreeMap::new(),
            secrets: vec![
                StoredSecret {
                    secret: "new".to_string(),
                    expires_ms: None,
                },
                StoredSecret {
                    secret: "old".to_string(),
                    expires_ms: Some(100),
                },
            ],
            batch_window_ms: None,
            disabled_reason: None,
            failing_since_ms: None,
            created_at: String::new(),
            updated_at: String::new(),
        };
        assert_eq!(webhook.active_secrets(50), vec!["new", "old"]);
        assert_eq!(webhook.active_secrets(100), vec!["new"]);
    }
}
