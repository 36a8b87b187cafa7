//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256>` over
//! `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the decoded part of a
//! `whsec_<base64>` secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET_PREFIX: &str = "whsec_";
/// Shortest accepted key, in bytes after base64 decoding.
const MIN_KEY_BYTES: usize = 16;

/// A decoded signing key. Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct SigningSecret {
    key: Vec<u8>,
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(****)")
    }
}

impl SigningSecret {
    /// Parses a `whsec_<base64>` secret. The error message never contains the secret.
    pub fn parse(text: &str) -> Result<Self, String> {
        let encoded = text.trim().strip_prefix(SECRET_PREFIX).ok_or_else(|| {
            "invalid webhook secret: expected the form whsec_<base64>".to_string()
        })?;
        let key = STANDARD.decode(encoded).map_err(|_| {
            "invalid webhook secret: the part after whsec_ is not valid base64".to_string()
        })?;
        if key.len() < MIN_KEY_BYTES {
            return Err(format!(
                "invalid webhook secret: the key is {} bytes; use at least {MIN_KEY_BYTES} random bytes",
                key.len()
            ));
        }
        Ok(Self { key })
    }

    /// Returns the `v1,<base64>` signature of one message.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(message_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// Returns the `webhook-signature` header value: one signature per secret,
/// space-separated, so receivers holding an old or a new secret both verify.
pub fn signature_header(
    secrets: &[SigningSecret],
    message_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(message_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    // A fixed key and message, checked against an independent computation:
    // python3 -c 'import hmac,hashlib,base64;
    //   print(base64.b64encode(hmac.new(base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    //   b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}", hashlib.sha256).digest()))'
    #[test]
    fn signature_matches_independent_hmac() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secret_parse_table() {
        let cases = [
            ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true),
            ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false),
            ("whsec_not base64!", false),
            ("whsec_c2hvcnQ=", false),
            ("", false),
        ];
        for (text, valid) in cases {
            assert_eq!(SigningSecret::parse(text).is_ok(), valid, "secret {text:?}");
        }
    }

    #[test]
    fn rotation_sends_one_signature_per_secret() {
        let old = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let new = SigningSecret::parse("whsec_dGhpcy1pcy1hLW5ldy1zZWNyZXQta2V5").unwrap();
        let header = signature_header(&[new, old], "msg_1", 1, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.split(' ').all(|part| part.starts_with("v1,")));
    }

    #[test]
    fn debug_hides_key() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(format!("{secret:?}"), "SigningSecret(****)");
    }
}
