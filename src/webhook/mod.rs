//! Completion webhooks: the payload contract, signing, retries and the
//! notifier task that delivers messages from the outbox.

pub mod notifier;
pub mod payload;
pub mod retry;
pub mod signing;
pub mod url_check;

pub use notifier::{Notifier, NotifierConfig};
pub use payload::{WebhookPayload, build_payload};
