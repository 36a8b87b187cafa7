//! MCP tools for registered webhooks and the delivery log.

use std::collections::BTreeMap;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::server::{CodeIndexServer, internal};
use super::types::Named;
use crate::jobs::manager::validate_user_id;
use crate::jobs::model::JobId;
use crate::store::{DeliveryFilter, DeliveryLogEntry, OutboxMessage};
use crate::time_fmt::{now, rfc3339_millis};
use crate::webhook::address::check_url;
use crate::webhook::endpoints::{
    DEFAULT_EVENTS, StoredSecret, TEST_EVENT, Webhook, WebhookView, new_secret, new_webhook_id,
    validate_batch_window, validate_events, validate_headers,
};
use crate::webhook::notifier::unix_ms;
use crate::webhook::url_check::parse_webhook_url;

/// Default time an old secret keeps signing after a rotation: one day.
const DEFAULT_ROTATION_GRACE_SECS: u64 = 86_400;
/// Maximum rotation grace period: one week.
const MAX_ROTATION_GRACE_SECS: u64 = 7 * 86_400;
const DEFAULT_DELIVERY_LIMIT: usize = 50;
const MAX_DELIVERY_LIMIT: usize = 500;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterWebhookArgs {
    /// Owner of the webhook; it receives events of this user's jobs.
    pub user_id: String,
    /// http or https URL that receives a signed POST per event.
    pub url: String,
    /// Event types to receive: job.completed, job.failed, job.cancelled
    /// (the default: all three) and job.progress (opt-in, at most every 2 s
    /// per running job).
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Extra request headers, e.g. {"X-Api-Key": "..."}. The webhook-* headers,
    /// Content-Type, User-Agent and Host cannot be set.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Collect events for this many seconds (1 to 3600) and POST them as one
    /// batch; 0 or absent sends one POST per event.
    #[serde(default)]
    pub batch_window_seconds: Option<u64>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RegisteredWebhook {
    pub webhook: WebhookView,
    /// Signing secret (`whsec_...`). It is shown only here and by
    /// rotate_webhook_secret, so store it now.
    pub secret: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIdArgs {
    /// Id returned by register_webhook (`wh_...`).
    pub webhook_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookArgs {
    pub webhook_id: String,
    /// New URL; absent keeps the current one.
    #[serde(default)]
    pub url: Option<String>,
    /// New event types; absent keeps the current ones.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// New custom headers, replacing all current ones; absent keeps them.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// New batching window in seconds; 0 turns batching off.
    #[serde(default)]
    pub batch_window_seconds: Option<u64>,
    #[serde(default)]
    pub description: Option<String>,
    /// false stops deliveries; true re-enables a webhook disabled by the user
    /// or by repeated failures.
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeletedWebhook {
    pub webhook_id: String,
    pub deleted: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretArgs {
    pub webhook_id: String,
    /// Seconds the old secret keeps signing next to the new one (default 86400,
    /// at most 604800); 0 drops it at once.
    #[serde(default)]
    pub grace_seconds: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RotatedSecret {
    pub webhook_id: String,
    /// The new signing secret; shown only here.
    pub secret: String,
    /// When the previous secret stops signing, RFC 3339 UTC.
    pub previous_secret_expires_at: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct QueuedMessage {
    /// Id of the queued message, sent as the `webhook-id` header.
    pub message_id: String,
    pub webhook_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListDeliveriesArgs {
    /// Only attempts for this job.
    #[serde(default)]
    pub job_id: Option<String>,
    /// Only attempts for this registered webhook.
    #[serde(default)]
    pub webhook_id: Option<String>,
    /// Only attempts with this outcome: delivered, failed or timed_out.
    #[serde(default)]
    pub outcome: Option<String>,
    /// Maximum number of attempts, newest first (default 50, at most 500).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryLogEntry>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverArgs {
    /// Message id from list_deliveries or the `webhook-id` header.
    pub message_id: String,
}

impl CodeIndexServer {
    fn load_webhook(&self, id: &str) -> Result<Webhook, String> {
        self.jobs()
            .webhooks()
            .get(id)
            .map_err(internal)?
            .ok_or_else(|| {
                format!("webhook {id:?} not found; list_webhooks shows the user's webhooks")
            })
    }

    fn checked_url(&self, text: &str) -> Result<String, String> {
        // The shared check names the job's `webhook_url`; this tool's field is `url`.
        let url =
            parse_webhook_url(text).map_err(|error| error.replacen("webhook_url", "url", 1))?;
        check_url(self.jobs().config().webhook_address_policy, &url)
            .map_err(|error| error.replacen("webhook_url", "url", 1))?;
        Ok(url.to_string())
    }
}

#[tool_router(router = webhook_router, vis = "pub(super)")]
impl CodeIndexServer {
    /// Registers a webhook for a user's job events and returns its secret once.
    #[tool(
        description = "Register a webhook that receives a user's job events (job.completed, \
        job.failed, job.cancelled) as Standard Webhooks signed POSTs, with optional custom \
        headers and batching. Returns the signing secret once.",
        annotations(
            title = "Register webhook",
            read_only_hint = false,
            destructive_hint = false,
            open_world_hint = true
        )
    )]
    async fn register_webhook(
        &self,
        Parameters(Named(args)): Parameters<Named<RegisterWebhookArgs>>,
    ) -> Result<Json<RegisteredWebhook>, String> {
        validate_user_id(&args.user_id)?;
        let url = self.checked_url(&args.url)?;
        let default_events: Vec<String> = DEFAULT_EVENTS
            .iter()
            .map(|event| event.to_string())
            .collect();
        let events = validate_events(args.events.as_deref().unwrap_or(&default_events))?;
        validate_headers(&args.headers)?;
        let batch_window_ms = validate_batch_window(args.batch_window_seconds)?;
        let secret = new_secret();
        let stamp = rfc3339_millis(now());
        let webhook = Webhook {
            id: new_webhook_id(),
            user_id: args.user_id,
            url,
            description: args.description,
            events,
            headers: args.headers,
            secrets: vec![StoredSecret {
                secret: secret.clone(),
                expires_ms: None,
            }],
            batch_window_ms,
            disabled_reason: None,
            failing_since_ms: None,
            created_at: stamp.clone(),
            updated_at: stamp,
        };
        self.jobs().webhooks().save(&webhook).map_err(internal)?;
        tracing::info!(webhook_id = %webhook.id, user_id = %webhook.user_id, "webhook registered");
        Ok(Json(RegisteredWebhook {
            webhook: WebhookView::new(&webhook, unix_ms()),
            secret,
        }))
    }

    /// Lists a user's webhooks without their secrets.
    #[tool(
        description = "List a user's registered webhooks (secrets are never shown).",
        annotations(
            title = "List webhooks",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_webhooks(
        &self,
        Parameters(Named(args)): Parameters<Named<super::types::UserArgs>>,
    ) -> Result<Json<WebhookList>, String> {
        validate_user_id(&args.user_id)?;
        let now_ms = unix_ms();
        let webhooks = self
            .jobs()
            .webhooks()
            .list(&args.user_id)
            .map_err(internal)?;
        Ok(Json(WebhookList {
            webhooks: webhooks
                .iter()
                .map(|webhook| WebhookView::new(webhook, now_ms))
                .collect(),
        }))
    }

    /// Changes a webhook's URL, events, headers, batching or enabled state.
    #[tool(
        description = "Update a registered webhook: url, events, headers (replaced as a whole), \
        batch_window_seconds, description, or enabled (true re-enables a webhook disabled \
        after repeated failures). Absent fields stay as they are.",
        annotations(
            title = "Update webhook",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn update_webhook(
        &self,
        Parameters(Named(args)): Parameters<Named<UpdateWebhookArgs>>,
    ) -> Result<Json<WebhookView>, String> {
        let mut webhook = self.load_webhook(&args.webhook_id)?;
        if let Some(url) = &args.url {
            webhook.url = self.checked_url(url)?;
        }
        if let Some(events) = &args.events {
            webhook.events = validate_events(events)?;
        }
        if let Some(headers) = args.headers {
            validate_headers(&headers)?;
            webhook.headers = headers;
        }
        let window_changed = args.batch_window_seconds.is_some();
        if window_changed {
            webhook.batch_window_ms = validate_batch_window(args.batch_window_seconds)?;
        }
        if let Some(description) = args.description {
            webhook.description = description;
        }
        match args.enabled {
            Some(true) => {
                webhook.disabled_reason = None;
                webhook.failing_since_ms = None;
            }
            Some(false) => webhook.disabled_reason = Some("disabled by update_webhook".to_string()),
            None => {}
        }
        webhook.updated_at = rfc3339_millis(now());
        self.jobs().webhooks().save(&webhook).map_err(internal)?;
        if window_changed {
            // Messages waiting out the old window are due by the end of the new one.
            let due_ms = unix_ms() + webhook.batch_window_ms.unwrap_or(0) as i64;
            self.jobs()
                .webhooks()
                .bring_forward(&webhook.id, due_ms)
                .map_err(internal)?;
            self.jobs().notifier().wake();
        }
        Ok(Json(WebhookView::new(&webhook, unix_ms())))
    }

    /// Deletes a webhook; its undelivered messages are dropped.
    #[tool(
        description = "Delete a registered webhook. Its undelivered messages are dropped; the \
        delivery log keeps its past attempts.",
        annotations(
            title = "Delete webhook",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn delete_webhook(
        &self,
        Parameters(Named(args)): Parameters<Named<WebhookIdArgs>>,
    ) -> Result<Json<DeletedWebhook>, String> {
        let deleted = self
            .jobs()
            .webhooks()
            .delete(&args.webhook_id)
            .map_err(internal)?;
        if !deleted {
            return Err(format!(
                "webhook {:?} not found; list_webhooks shows the user's webhooks",
                args.webhook_id
            ));
        }
        tracing::info!(webhook_id = %args.webhook_id, "webhook deleted");
        Ok(Json(DeletedWebhook {
            webhook_id: args.webhook_id,
            deleted,
        }))
    }

    /// Replaces a webhook's secret; the old one keeps signing for a grace period.
    #[tool(
        description = "Rotate a webhook's signing secret. Until the grace period ends, requests \
        carry signatures for both the new and the previous secret, so the receiver can switch \
        without dropping events. Returns the new secret once.",
        annotations(
            title = "Rotate webhook secret",
            read_only_hint = false,
            destructive_hint = false,
            open_world_hint = false
        )
    )]
    async fn rotate_webhook_secret(
        &self,
        Parameters(Named(args)): Parameters<Named<RotateSecretArgs>>,
    ) -> Result<Json<RotatedSecret>, String> {
        let grace = args.grace_seconds.unwrap_or(DEFAULT_ROTATION_GRACE_SECS);
        if grace > MAX_ROTATION_GRACE_SECS {
            return Err(format!(
                "invalid grace_seconds {grace}: use 0 to {MAX_ROTATION_GRACE_SECS}"
            ));
        }
        let mut webhook = self.load_webhook(&args.webhook_id)?;
        let now_ms = unix_ms();
        let expires_ms = now_ms + (grace * 1000) as i64;
        // Older secrets keep their own expiry; the current one gets the grace period.
        for stored in &mut webhook.secrets {
            if stored.expires_ms.is_none() {
                stored.expires_ms = Some(expires_ms);
            }
        }
        webhook
            .secrets
            .retain(|stored| stored.expires_ms.is_none_or(|at| at > now_ms));
        let secret = new_secret();
        webhook.secrets.insert(
            0,
            StoredSecret {
                secret: secret.clone(),
                expires_ms: None,
            },
        );
        webhook.updated_at = rfc3339_millis(now());
        self.jobs().webhooks().save(&webhook).map_err(internal)?;
        tracing::info!(webhook_id = %webhook.id, grace_seconds = grace, "webhook secret rotated");
        let expires_at =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(expires_ms) * 1_000_000)
                .map_or_else(|_| String::new(), rfc3339_millis);
        Ok(Json(RotatedSecret {
            webhook_id: webhook.id,
            secret,
            previous_secret_expires_at: expires_at,
        }))
    }

    /// Queues a signed test event to a webhook.
    #[tool(
        description = "Send a signed webhook.test event to a registered webhook now. The attempt \
        appears in list_deliveries.",
        annotations(
            title = "Send test webhook",
            read_only_hint = false,
            destructive_hint = false,
            open_world_hint = true
        )
    )]
    async fn send_test_webhook(
        &self,
        Parameters(Named(args)): Parameters<Named<WebhookIdArgs>>,
    ) -> Result<Json<QueuedMessage>, String> {
        let webhook = self.load_webhook(&args.webhook_id)?;
        let message_id = format!("msg_test_{}", uuid::Uuid::new_v4().simple());
        let body = serde_json::json!({
            "type": TEST_EVENT,
            "webhook_id": webhook.id,
            "user_id": webhook.user_id,
            "sent_at": rfc3339_millis(now()),
        });
        let message = OutboxMessage {
            message_id: message_id.clone(),
            job_id: JobId::new(),
            url: webhook.url.clone(),
            body: serde_json::to_vec(&body).expect("a JSON value always serializes"),
            attempts: 0,
            next_attempt_ms: unix_ms(),
            webhook_id: Some(webhook.id.clone()),
            event: TEST_EVENT.to_string(),
        };
        self.jobs().store().enqueue(&[message]).map_err(internal)?;
        self.jobs().notifier().wake();
        Ok(Json(QueuedMessage {
            message_id,
            webhook_id: Some(webhook.id),
        }))
    }

    /// Lists delivery attempts, newest first.
    #[tool(
        description = "List webhook delivery attempts, newest first, filtered by job_id, \
        webhook_id or outcome (delivered, failed, timed_out). Each has the status \
        code, duration, error and the first 4 KiB of the response body.",
        annotations(
            title = "List deliveries",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_deliveries(
        &self,
        Parameters(Named(args)): Parameters<Named<ListDeliveriesArgs>>,
    ) -> Result<Json<DeliveryList>, String> {
        if let Some(outcome) = &args.outcome
            && !["delivered", "failed", "timed_out"].contains(&outcome.as_str())
        {
            return Err(format!(
                "invalid outcome {outcome:?}: use delivered, failed or timed_out"
            ));
        }
        let limit = args.limit.unwrap_or(DEFAULT_DELIVERY_LIMIT);
        if limit == 0 || limit > MAX_DELIVERY_LIMIT {
            return Err(format!(
                "invalid limit {limit}: use 1 to {MAX_DELIVERY_LIMIT}"
            ));
        }
        if let Some(job_id) = &args.job_id {
            job_id.parse::<JobId>().map_err(|_| {
                format!("invalid job_id {job_id:?}: expected the UUID returned by submit_job")
            })?;
        }
        let filter = DeliveryFilter {
            job_id: args.job_id,
            webhook_id: args.webhook_id,
            outcome: args.outcome,
            limit,
        };
        let deliveries = self
            .jobs()
            .webhooks()
            .deliveries(&filter)
            .map_err(internal)?;
        Ok(Json(DeliveryList { deliveries }))
    }

    /// Sends a message again now, with its original id and body.
    #[tool(
        description = "Queue a webhook message for delivery again now, with the same webhook-id \
        and body and a fresh retry schedule, whether its earlier attempts failed or succeeded.",
        annotations(
            title = "Redeliver",
            read_only_hint = false,
            destructive_hint = false,
            open_world_hint = true
        )
    )]
    async fn redeliver(
        &self,
        Parameters(Named(args)): Parameters<Named<RedeliverArgs>>,
    ) -> Result<Json<QueuedMessage>, String> {
        let queued = self
            .jobs()
            .webhooks()
            .redeliver(&args.message_id, unix_ms())
            .map_err(internal)?;
        if !queued {
            return Err(format!(
                "message {:?} not found; list_deliveries shows message ids",
                args.message_id
            ));
        }
        self.jobs().notifier().wake();
        Ok(Json(QueuedMessage {
            message_id: args.message_id,
            webhook_id: None,
        }))
    }
}
