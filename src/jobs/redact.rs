//! Redaction of secrets in client-supplied metadata before it is echoed back.

use serde_json::{Map, Value};

/// Replacement for a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// Key fragments (compared case-insensitively) that mark a value as secret.
const SECRET_KEY_PARTS: &[&str] = &[
    "secret",
    "token",
    "password",
    "passwd",
    "authorization",
    "api_key",
    "apikey",
    "api-key",
    "cookie",
    "credential",
    "private_key",
];

/// Returns true if a metadata key names a secret, e.g. `webhook_secret`,
/// `Authorization` or `accessToken`.
pub fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    SECRET_KEY_PARTS.iter().any(|part| lower.contains(part))
}

/// Returns a copy of `metadata` with the value of every secret key replaced
/// by [`REDACTED`], at any nesting depth. Other keys and values are kept verbatim.
pub fn redact_metadata(metadata: &Map<String, Value>) -> Map<String, Value> {
    let mut copy = Value::Object(metadata.clone());
    // An explicit stack instead of recursion: nesting depth is client-controlled.
    let mut pending: Vec<&mut Value> = vec![&mut copy];
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    if is_secret_key(key) {
                        *item = Value::String(REDACTED.to_string());
                    } else {
                        pending.push(item);
                    }
                }
            }
            Value::Array(items) => pending.extend(items.iter_mut()),
            _ => {}
        }
    }
    match copy {
        Value::Object(map) => map,
        _ => unreachable!("the copy starts as an object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_keys_table() {
        let cases = [
            ("webhook_secret", true),
            ("Authorization", true),
            ("accessToken", true),
            ("API_KEY", true),
            ("db_password", true),
            ("file_path", false),
            ("source", false),
            ("webhook_url", false),
        ];
        for (key, expected) in cases {
            assert_eq!(is_secret_key(key), expected, "key {key}");
        }
    }

    #[test]
    fn redacts_nested_secrets_only() {
        let metadata = json!({
            "file_path": "/w/a.py",
            "auth_token": "abc",
            "extra": {"headers": [{"Authorization": "Bearer x", "accept": "json"}]}
        });
        let redacted = redact_metadata(metadata.as_object().unwrap());
        assert_eq!(
            Value::Object(redacted),
            json!({
                "file_path": "/w/a.py",
                "auth_token": REDACTED,
                "extra": {"headers": [{"Authorization": REDACTED, "accept": "json"}]}
            })
        );
    }
}
