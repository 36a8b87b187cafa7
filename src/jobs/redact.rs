//! Redaction of secrets in client-supplied metadata before it is echoed back.

use serde_json::{Map, Value};

/// Replacement for a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// Fragments that mark a key as secret when the key contains them, compared after
/// lowercasing the key and removing `-` and `_` (so `private_key`, `privateKey` and
/// `private-key` all match `privatekey`).
const SECRET_KEY_PARTS: &[&str] = &[
    "secret",
    "token",
    "password",
    "passwd",
    "passphrase",
    "authorization",
    "apikey",
    "accesskey",
    "privatekey",
    "bearer",
    "cookie",
    "credential",
];

/// Normalized keys that are secret only as a whole word: `pwd`, `session` and
/// `session_id` are, but `session_timeout` is not.
const SECRET_KEYS: &[&str] = &["pwd", "session", "sessionid", "auth"];

/// Returns true if a metadata key names a secret, e.g. `webhook_secret`,
/// `Authorization`, `accessToken`, `private-key`, `basic_auth` or `pwd`.
///
/// Keys ending in `_auth`, `-auth` or camel-case `Auth` are secret, and `author` is not.
pub fn is_secret_key(key: &str) -> bool {
    let normalized: String = key
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if SECRET_KEY_PARTS
        .iter()
        .any(|part| normalized.contains(part))
    {
        return true;
    }
    if SECRET_KEYS.contains(&normalized.as_str()) {
        return true;
    }
    let lower = key.to_ascii_lowercase();
    lower.ends_with("_auth") || lower.ends_with("-auth") || key.ends_with("Auth")
}

/// Returns the value's slot of a name-value pair whose name is a secret key:
/// `["Authorization", "Bearer x"]`, or an object such as
/// `{"name": "Authorization", "value": "Bearer x"}` (`key` works in place of `name`).
fn secret_pair_value(value: &mut Value) -> Option<&mut Value> {
    match value {
        Value::Array(items) if items.len() == 2 => match &items[0] {
            Value::String(name) if is_secret_key(name) => items.get_mut(1),
            _ => None,
        },
        Value::Object(map) => {
            let name = map
                .get("name")
                .or_else(|| map.get("key"))
                .and_then(Value::as_str)?;
            if is_secret_key(name) {
                map.get_mut("value")
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Returns a copy of `metadata` with the value of every secret key, and of every
/// name-value pair named by a secret key, replaced by [`REDACTED`], at any
/// nesting depth. Other keys and values are kept verbatim.
pub fn redact_metadata(metadata: &Map<String, Value>) -> Map<String, Value> {
    let mut copy = Value::Object(metadata.clone());
    // An explicit stack instead of recursion: nesting depth is client-controlled.
    let mut pending: Vec<&mut Value> = vec![&mut copy];
    while let Some(value) = pending.pop() {
        if let Some(secret) = secret_pair_value(value) {
            *secret = Value::String(REDACTED.to_string());
        }
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
            ("privateKey", true),
            ("private-key", true),
            ("PRIVATE_KEY", true),
            ("access_key", true),
            ("accessKey", true),
            ("bearer", true),
            ("passphrase", true),
            ("pwd", true),
            ("session", true),
            ("session_id", true),
            ("sessionId", true),
            ("sessionToken", true),
            ("cookie", true),
            ("Set-Cookie", true),
            ("credentials", true),
            ("auth", true),
            ("basic_auth", true),
            ("proxy-auth", true),
            ("basicAuth", true),
            ("author", false),
            ("authors", false),
            ("session_timeout", false),
            ("password_hint_url", true),
            ("language", false),
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

    #[test]
    fn redacts_secret_pairs() {
        let cases = [
            (
                json!([["Authorization", "Bearer x"], ["Accept", "json"]]),
                json!([["Authorization", REDACTED], ["Accept", "json"]]),
            ),
            (
                json!([{"name": "Authorization", "value": "Bearer x"}]),
                json!([{"name": "Authorization", "value": REDACTED}]),
            ),
            (
                json!([{"key": "X-Api-Key", "value": "k"}]),
                json!([{"key": "X-Api-Key", "value": REDACTED}]),
            ),
            (
                json!([{"name": "Accept", "value": "json"}]),
                json!([{"name": "Accept", "value": "json"}]),
            ),
            (json!(["session", "s1"]), json!(["session", REDACTED])),
            (json!(["author", "Ada"]), json!(["author", "Ada"])),
        ];
        for (headers, expected) in cases {
            let metadata = json!({"headers": headers.clone()});
            let redacted = redact_metadata(metadata.as_object().unwrap());
            assert_eq!(
                Value::Object(redacted),
                json!({"headers": expected}),
                "headers {headers}"
            );
        }
    }
}
