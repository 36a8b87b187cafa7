//! Completion webhooks: the payload contract and the notifier task that
//! delivers it.

pub mod notifier;
pub mod payload;
pub mod signing;
pub mod url_check;

pub use notifier::{DeliveryRequest, Notifier, NotifierConfig};
pub use payload::{WebhookPayload, build_payload};
