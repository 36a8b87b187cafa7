//! The retry schedule: what happens to a message after a failed attempt.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::jobs::model::DeliveryRecord;
use crate::store::{OutboxMessage, OutboxNext};

/// Default delays between attempts: the first attempt is immediate, then
/// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, eight attempts in all.
pub const DEFAULT_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";

/// When to retry a failed delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Delay before attempt `n + 2` after attempt `n + 1` failed. Its length is
    /// the number of retries.
    pub delays: Vec<Duration>,
    /// Spread of each delay, as a fraction: 0.2 means anywhere from 80 % to 120 %.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            delays: parse_schedule(DEFAULT_SCHEDULE).expect("the default schedule parses"),
            jitter: 0.2,
        }
    }
}

/// Parses a comma-separated list of delays such as `5s,5m,2h`; `none` or an
/// empty string means no retries. Units: `ms`, `s`, `m`, `h`.
pub fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|part| parse_delay(part.trim()))
        .collect()
}

fn parse_delay(part: &str) -> Result<Duration, String> {
    let digits = part
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(part.len());
    let (number, unit) = part.split_at(digits);
    let value: u64 = number.parse().map_err(|_| {
        format!("invalid retry delay {part:?}: expected a number and a unit, e.g. 30s")
    })?;
    let millis = match unit {
        "ms" => value,
        "s" => value * 1_000,
        "m" => value * 60_000,
        "h" => value * 3_600_000,
        _ => {
            return Err(format!(
                "invalid retry delay {part:?}: unit must be ms, s, m or h"
            ));
        }
    };
    Ok(Duration::from_millis(millis))
}

/// Reads `Retry-After` as seconds or an HTTP date. Returns `None` if absent
/// or unreadable.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let seconds = (at - crate::time_fmt::now()).whole_seconds();
    Some(Duration::from_secs(seconds.max(0) as u64))
}

/// Facts about a failed attempt, besides its delivery record, that decide
/// whether and when to retry it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryHints {
    /// Delay the receiver requested in a `Retry-After` header.
    pub retry_after: Option<Duration>,
    /// The attempt cannot succeed on a retry, for example because the address
    /// policy rejected the receiver's address before connecting.
    pub permanent: bool,
}

/// Decides the message's next state after an attempt whose outcome is `record`.
///
/// A 2xx status means delivered. 410 Gone and permanent failures stop
/// delivery. Any other failure is retried after the scheduled delay with
/// jitter until the schedule runs out. On 429 and 503, a `Retry-After` delay
/// is honoured but clamped to between 1x and 2x the scheduled delay, so a
/// receiver can neither hammer itself nor park a message for days.
pub fn next_step(
    policy: &RetryPolicy,
    message: &OutboxMessage,
    record: &DeliveryRecord,
    hints: RetryHints,
    now_ms: i64,
) -> OutboxNext {
    if record.outcome == "delivered" {
        return OutboxNext::Delivered;
    }
    if hints.permanent || record.status_code == Some(410) {
        return OutboxNext::Failed;
    }
    let attempt = message.attempts as usize;
    let Some(&scheduled) = policy.delays.get(attempt) else {
        return OutboxNext::Failed;
    };
    let mut delay = jittered(scheduled, policy.jitter, &message.message_id, attempt);
    if let (Some(asked), Some(429 | 503)) = (hints.retry_after, record.status_code) {
        delay = asked.clamp(scheduled, scheduled * 2);
    }
    OutboxNext::RetryAt(now_ms + delay.as_millis() as i64)
}

/// Spreads `delay` by up to `jitter` in either direction. The spread comes from
/// a hash of the message id and attempt, so it is stable for one message and
/// differs between messages.
fn jittered(delay: Duration, jitter: f64, message_id: &str, attempt: usize) -> Duration {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in message_id.bytes().chain(attempt.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let unit = (hash >> 11) as f64 / (1u64 << 53) as f64; // in [0, 1)
    let factor = 1.0 + jitter * (2.0 * unit - 1.0);
    delay.mul_f64(factor.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::model::JobId;

    fn message(attempts: u32) -> OutboxMessage {
        OutboxMessage {
            message_id: "msg_abc".to_string(),
            job_id: JobId::new(),
            url: "http://127.0.0.1:1/".to_string(),
            body: Vec::new(),
            attempts,
            next_attempt_ms: 0,
            webhook_id: None,
            event: "job.completed".to_string(),
        }
    }

    fn record(outcome: &str, status: Option<u16>) -> DeliveryRecord {
        DeliveryRecord {
            message_id: "msg_abc".to_string(),
            url: String::new(),
            outcome: outcome.to_string(),
            status_code: status,
            error: None,
            duration_ms: 1,
            attempted_at: String::new(),
        }
    }

    #[test]
    fn schedule_parse_table() {
        let cases: &[(&str, Option<Vec<u64>>)] = &[
            ("5s,5m,2h", Some(vec![5_000, 300_000, 7_200_000])),
            ("250ms", Some(vec![250])),
            ("none", Some(vec![])),
            ("", Some(vec![])),
            ("5x", None),
            ("s", None),
            ("-5s", None),
        ];
        for (text, expected) in cases {
            let parsed = parse_schedule(text).ok().map(|delays| {
                delays
                    .iter()
                    .map(|d| d.as_millis() as u64)
                    .collect::<Vec<_>>()
            });
            assert_eq!(&parsed, expected, "schedule {text:?}");
        }
    }

    #[test]
    fn default_schedule_has_seven_retries() {
        assert_eq!(RetryPolicy::default().delays.len(), 7);
    }

    #[test]
    fn next_step_table() {
        let policy = RetryPolicy {
            delays: vec![Duration::from_secs(5), Duration::from_secs(60)],
            jitter: 0.0,
        };
        let cases = [
            (
                0,
                record("delivered", Some(200)),
                None,
                OutboxNext::Delivered,
            ),
            (0, record("failed", Some(410)), None, OutboxNext::Failed),
            (
                0,
                record("failed", Some(500)),
                None,
                OutboxNext::RetryAt(5_000),
            ),
            (
                1,
                record("timed_out", None),
                None,
                OutboxNext::RetryAt(60_000),
            ),
            (2, record("failed", Some(500)), None, OutboxNext::Failed),
            (
                0,
                record("failed", Some(429)),
                Some(1),
                OutboxNext::RetryAt(5_000),
            ),
            (
                0,
                record("failed", Some(429)),
                Some(7),
                OutboxNext::RetryAt(7_000),
            ),
            (
                0,
                record("failed", Some(503)),
                Some(3600),
                OutboxNext::RetryAt(10_000),
            ),
            (
                0,
                record("failed", Some(500)),
                Some(7),
                OutboxNext::RetryAt(5_000),
            ),
        ];
        for (attempts, outcome, retry_after, expected) in cases {
            let hints = RetryHints {
                retry_after: retry_after.map(Duration::from_secs),
                permanent: false,
            };
            let got = next_step(&policy, &message(attempts), &outcome, hints, 0);
            assert_eq!(
                got, expected,
                "attempts {attempts}, {outcome:?}, retry-after {retry_after:?}"
            );
        }
    }

    #[test]
    fn permanent_failure_is_not_retried() {
        let policy = RetryPolicy {
            delays: vec![Duration::from_secs(5)],
            jitter: 0.0,
        };
        let permanent = RetryHints {
            retry_after: None,
            permanent: true,
        };
        let rejected = next_step(&policy, &message(0), &record("failed", None), permanent, 0);
        assert_eq!(rejected, OutboxNext::Failed);

        let transient = next_step(
            &policy,
            &message(0),
            &record("failed", None),
            RetryHints::default(),
            0,
        );
        assert_eq!(transient, OutboxNext::RetryAt(5_000));
    }

    #[test]
    fn jitter_stays_within_bounds() {
        for attempt in 0..50 {
            let delay = jittered(
                Duration::from_secs(100),
                0.2,
                &format!("msg_{attempt}"),
                attempt,
            );
            assert!(
                delay >= Duration::from_secs(80) && delay <= Duration::from_secs(120),
                "{delay:?}"
            );
        }
    }
}
