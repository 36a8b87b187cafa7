//! Registered webhooks and the delivery log in SQLite.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{Database, StoreError};
use crate::webhook::endpoints::{StoredSecret, Webhook};

/// One recorded delivery attempt.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DeliveryLogEntry {
    pub message_id: String,
    pub job_id: Option<String>,
    /// Registered webhook the message went to; absent for a job's own `webhook_url`.
    pub webhook_id: Option<String>,
    pub event: String,
    pub url: String,
    /// 1 for the first attempt of the message.
    pub attempt: u32,
    /// `delivered`, `failed` or `timed_out`.
    pub outcome: String,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    /// When the attempt ended, RFC 3339 UTC.
    pub attempted_at: String,
    /// The first 4 KiB of the response body, decoded as UTF-8 with replacement.
    pub response_body: Option<String>,
}

/// Filter for `list_deliveries`.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub job_id: Option<String>,
    pub webhook_id: Option<String>,
    pub outcome: Option<String>,
    pub limit: usize,
}

/// Webhooks and deliveries in the shared database.
pub struct WebhookStore {
    db: Arc<Database>,
}

fn json_column<T: serde::de::DeserializeOwned>(text: &str, index: usize) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            Box::new(error),
        )
    })
}

fn to_json<T: Serialize>(value: &T) -> rusqlite::Result<String> {
    serde_json::to_string(value)
        .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))
}

const COLUMNS: &str = "id, user_id, url, description, events, headers, secrets, batch_window_ms, \
                       disabled_reason, failing_since_ms, created_at, updated_at";

fn read_webhook(row: &rusqlite::Row) -> rusqlite::Result<Webhook> {
    Ok(Webhook {
        id: row.get(0)?,
        user_id: row.get(1)?,
        url: row.get(2)?,
        description: row.get(3)?,
        events: json_column(&row.get::<_, String>(4)?, 4)?,
        headers: json_column(&row.get::<_, String>(5)?, 5)?,
        secrets: json_column::<Vec<StoredSecret>>(&row.get::<_, String>(6)?, 6)?,
        batch_window_ms: row.get::<_, Option<i64>>(7)?.map(|ms| ms as u64),
        disabled_reason: row.get(8)?,
        failing_since_ms: row.get(9)?,
        created_at: row.get(10)?,
        updated_at: row.get(11)?,
    })
}

fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Webhook>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM webhooks WHERE id = ?1"),
        [id],
        read_webhook,
    )
    .optional()
}

impl WebhookStore {
    pub fn new(db: Arc<Database>) -> Self {
        Self { db }
    }

    /// Inserts or replaces a webhook.
    pub fn save(&self, webhook: &Webhook) -> Result<(), StoreError> {
        self.db.write(|tx| {
            tx.execute(
                &format!("INSERT OR REPLACE INTO webhooks ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
                params![
                    webhook.id,
                    webhook.user_id,
                    webhook.url,
                    webhook.description,
                    to_json(&webhook.events)?,
                    to_json(&webhook.headers)?,
                    to_json(&webhook.secrets)?,
                    webhook.batch_window_ms.map(|ms| ms as i64),
                    webhook.disabled_reason,
                    webhook.failing_since_ms,
                    webhook.created_at,
                    webhook.updated_at
                ],
            )?;
            Ok(())
        })
    }

    pub fn get(&self, id: &str) -> Result<Option<Webhook>, StoreError> {
        self.db.read(|conn| get(conn, id))
    }

    /// Returns a user's webhooks, oldest first.
    pub fn list(&self, user_id: &str) -> Result<Vec<Webhook>, StoreError> {
        self.db.read(|conn| {
            let mut statement = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM webhooks WHERE user_id = ?1 ORDER BY created_at, id"
            ))?;
            statement.query_map([user_id], read_webhook)?.collect()
        })
    }

    /// Deletes a webhook and its pending messages. Returns false if it did not exist.
    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        self.db.write(|tx| {
            tx.execute(
                "UPDATE outbox SET state = 'failed' WHERE webhook_id = ?1 AND state = 'pending'",
                [id],
            )?;
            Ok(tx.execute("DELETE FROM webhooks WHERE id = ?1", [id])? > 0)
        })
    }

    /// Applies `change` to a stored webhook and returns the new version.
    pub fn update(
        &self,
        id: &str,
        change: &mut dyn FnMut(&mut Webhook),
    ) -> Result<Option<Webhook>, StoreError> {
        let Some(mut webhook) = self.get(id)? else {
            return Ok(None);
        };
        change(&mut webhook);
        self.save(&webhook)?;
        Ok(Some(webhook))
    }

    /// Returns the attempts matching `filter`, newest first.
    pub fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<DeliveryLogEntry>, StoreError> {
        self.db.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT message_id, job_id, webhook_id, event, url, attempt, outcome, status_code, error,
                        duration_ms, attempted_at, response_body
                 FROM deliveries
                 WHERE (?1 IS NULL OR job_id = ?1) AND (?2 IS NULL OR webhook_id = ?2)
                   AND (?3 IS NULL OR outcome = ?3)
                 ORDER BY id DESC LIMIT ?4",
            )?;
            let rows = statement.query_map(
                params![filter.job_id, filter.webhook_id, filter.outcome, filter.limit as i64],
                |row| {
                    Ok(DeliveryLogEntry {
                        message_id: row.get(0)?,
                        job_id: row.get(1)?,
                        webhook_id: row.get(2)?,
                        event: row.get(3)?,
                        url: row.get(4)?,
                        attempt: row.get(5)?,
                        outcome: row.get(6)?,
                        status_code: row.get(7)?,
                        error: row.get(8)?,
                        duration_ms: row.get::<_, i64>(9)? as u64,
                        attempted_at: row.get(10)?,
                        response_body: row.get(11)?,
                    })
                },
            )?;
            rows.collect()
        })
    }

    /// Makes the webhook's pending messages due no later than `due_ms`.
    pub fn bring_forward(&self, webhook_id: &str, due_ms: i64) -> Result<(), StoreError> {
        self.db.write(|tx| {
            tx.execute(
                "UPDATE outbox SET next_attempt_ms = MIN(next_attempt_ms, ?2)
                 WHERE webhook_id = ?1 AND state = 'pending'",
                params![webhook_id, due_ms],
            )?;
            Ok(())
        })
    }

    /// Queues a message again for immediate delivery, whatever its state, with
    /// a fresh retry schedule. Returns false if no such message exists.
    pub fn redeliver(&self, message_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.db.write(|tx| {
            Ok(tx.execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_ms = ?2
                 WHERE message_id = ?1",
                params![message_id, now_ms],
            )? > 0)
        })
    }
}
