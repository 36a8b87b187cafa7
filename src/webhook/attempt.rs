//! One delivery attempt: a signed POST to one receiver, and a description of
//! how it went.

use std::collections::BTreeMap;
use std::time::Instant;

use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use tracing::{info, warn};

use super::address::{AddressPolicy, check_before_send};
use super::resolver::ResolveError;
use super::retry::RetryHints;
use super::signing::{SigningSecret, signature_header};
use crate::time_fmt::{now, rfc3339_millis};

/// Bytes of the response body kept in the delivery log. The rest is never read.
pub const RESPONSE_EXCERPT_BYTES: usize = 4096;

/// Request of one attempt.
pub struct Request<'a> {
    /// Sent as `webhook-id`: a message id, or a batch id for a batch.
    pub id: &'a str,
    pub url: &'a str,
    pub body: &'a [u8],
    /// Newest first; empty sends no signature.
    pub secrets: &'a [SigningSecret],
    /// Custom headers of a registered webhook, validated when it was saved.
    pub headers: &'a BTreeMap<String, String>,
}

/// Result of one attempt.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `delivered`, `failed` or `timed_out`.
    pub outcome: &'static str,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    /// When the attempt ended, RFC 3339 UTC.
    pub attempted_at: String,
    /// The first [`RESPONSE_EXCERPT_BYTES`] of the response body.
    pub response_body: Option<String>,
    pub hints: RetryHints,
}

impl Outcome {
    fn new(
        outcome: &'static str,
        status_code: Option<u16>,
        error: Option<String>,
        duration_ms: u64,
    ) -> Self {
        Self {
            outcome,
            status_code,
            error,
            duration_ms,
            attempted_at: rfc3339_millis(now()),
            response_body: None,
            hints: RetryHints::default(),
        }
    }

    pub fn is_delivered(&self) -> bool {
        self.outcome == "delivered"
    }
}

/// Sends one POST. Only a 2xx status counts as delivered. If the address
/// policy rejects the receiver, the attempt fails before connecting and is
/// marked permanent, so it is not retried.
pub async fn send(
    client: &reqwest::Client,
    policy: AddressPolicy,
    request: &Request<'_>,
) -> Outcome {
    if let Err(reason) = check_url_text(policy, request.url) {
        warn!(url = %request.url, error = %reason, "webhook attempt rejected before connecting");
        let mut outcome = Outcome::new("failed", None, Some(reason), 0);
        outcome.hints.permanent = true;
        return outcome;
    }

    let started = Instant::now();
    let timestamp = now().unix_timestamp();
    let mut post = client
        .post(request.url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(
            USER_AGENT,
            concat!("mcp-code-index/", env!("CARGO_PKG_VERSION")),
        )
        .header("webhook-id", request.id)
        .header("webhook-timestamp", timestamp.to_string());
    for (name, value) in request.headers {
        // Headers were validated when the webhook was saved; skip any that no
        // longer parse rather than failing the delivery.
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(value),
        ) {
            post = post.header(name, value);
        }
    }
    if !request.secrets.is_empty() {
        let signature = signature_header(request.secrets, request.id, timestamp, request.body);
        post = post.header("webhook-signature", signature);
    }

    let mut outcome = match post.body(request.body.to_vec()).send().await {
        Ok(response) => {
            let status = response.status();
            let mut outcome = if status.is_success() {
                Outcome::new("delivered", Some(status.as_u16()), None, 0)
            } else {
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
                let mut outcome = Outcome::new("failed", Some(status.as_u16()), Some(text), 0);
                outcome.hints.retry_after = super::retry::parse_retry_after(response.headers());
                outcome
            };
            outcome.response_body = read_excerpt(response).await;
            outcome
        }
        Err(error) if error.is_timeout() => Outcome::new(
            "timed_out",
            None,
            Some(format!(
                "no response within {} ms",
                started.elapsed().as_millis()
            )),
            0,
        ),
        Err(error) => {
            let mut outcome = Outcome::new("failed", None, Some(describe_error(&error)), 0);
            outcome.hints.permanent = is_policy_rejection(&error);
            outcome
        }
    };
    outcome.duration_ms = started.elapsed().as_millis() as u64;

    if outcome.is_delivered() {
        info!(message_id = %request.id, url = %request.url, status = ?outcome.status_code, duration_ms = outcome.duration_ms, "webhook delivered");
    } else {
        warn!(message_id = %request.id, url = %request.url, outcome = outcome.outcome, error = ?outcome.error, duration_ms = outcome.duration_ms, "webhook attempt failed");
    }
    outcome
}

/// Reads at most [`RESPONSE_EXCERPT_BYTES`] of the body and drops the rest
/// unread, so a huge or endless response costs nothing. A body cut off by the
/// receiver or the timeout keeps what arrived.
async fn read_excerpt(mut response: reqwest::Response) -> Option<String> {
    let mut excerpt = Vec::new();
    while excerpt.len() < RESPONSE_EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(bytes)) => {
                let room = RESPONSE_EXCERPT_BYTES - excerpt.len();
                excerpt.extend_from_slice(&bytes[..bytes.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    (!excerpt.is_empty()).then(|| String::from_utf8_lossy(&excerpt).into_owned())
}

/// Applies the address policy to a URL before an attempt. The resolver checks
/// host names when the client connects, but the client does not resolve IP
/// addresses, so this check covers them.
fn check_url_text(policy: AddressPolicy, text: &str) -> Result<(), String> {
    let url = Url::parse(text)
        .map_err(|error| format!("webhook not sent: invalid URL {text:?}: {error}"))?;
    check_before_send(policy, &url)
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
pub(crate) fn describe_error(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
