//! Completion webhooks: the payload contract, signing, retries and the
//! notifier task that delivers messages from the outbox.

pub mod address;
pub mod attempt;
pub mod endpoints;
pub mod notifier;
pub mod payload;
pub mod resolver;
pub mod retry;
pub mod signing;
pub mod url_check;

pub use address::AddressPolicy;
pub use notifier::{Notifier, NotifierConfig};
pub use payload::{WebhookPayload, build_payload};
