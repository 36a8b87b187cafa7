//! [`JobStore`] on SQLite: one row per job with the full record as JSON, and
//! the webhook outbox.

use std::sync::Arc;

use rusqlite::{OptionalExtension, Transaction, params};

use super::{Database, JobFilter, JobStore, OutboxMessage, OutboxNext, StoreError};
use crate::jobs::model::{DeliveryRecord, Job, JobId, JobStatus};
use crate::webhook::endpoints::TEST_EVENT;

/// Jobs and outbox in the shared database.
pub struct SqliteJobStore {
    db: Arc<Database>,
}

impl SqliteJobStore {
    pub fn new(db: Arc<Database>) -> Self {
        Self { db }
    }
}

fn to_json(job: &Job) -> rusqlite::Result<String> {
    serde_json::to_string(job)
        .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))
}

fn from_json(text: &str) -> rusqlite::Result<Job> {
    serde_json::from_str(text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(error))
    })
}

fn load(tx: &Transaction, id: &JobId) -> rusqlite::Result<Option<Job>> {
    tx.query_row(
        "SELECT record FROM jobs WHERE id = ?1",
        [id.to_string()],
        |row| row.get::<_, String>(0),
    )
    .optional()?
    .map(|text| from_json(&text))
    .transpose()
}

fn save(tx: &Transaction, job: &Job) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE jobs SET status = ?2, record = ?3 WHERE id = ?1",
        params![job.id.to_string(), job.status.as_str(), to_json(job)?],
    )?;
    Ok(())
}

const MESSAGE_COLUMNS: &str =
    "message_id, job_id, url, body, attempts, next_attempt_ms, webhook_id, event";

fn insert_message(tx: &Transaction, message: &OutboxMessage) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO outbox
           (message_id, job_id, url, body, state, attempts, next_attempt_ms, created_seq,
            webhook_id, event)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6,
           (SELECT COALESCE(MAX(created_seq), 0) + 1 FROM outbox), ?7, ?8)",
        params![
            message.message_id,
            message.job_id.to_string(),
            message.url,
            message.body,
            message.attempts,
            message.next_attempt_ms,
            message.webhook_id,
            message.event
        ],
    )?;
    Ok(())
}

fn read_message(row: &rusqlite::Row) -> rusqlite::Result<OutboxMessage> {
    let job_id: String = row.get(1)?;
    Ok(OutboxMessage {
        message_id: row.get(0)?,
        job_id: job_id.parse().map_err(|error| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                Box::new(error),
            )
        })?,
        url: row.get(2)?,
        body: row.get(3)?,
        attempts: row.get(4)?,
        next_attempt_ms: row.get(5)?,
        webhook_id: row.get(6)?,
        event: row.get(7)?,
    })
}

impl JobStore for SqliteJobStore {
    fn insert(&self, job: &Job) -> Result<(), StoreError> {
        self.db.write(|tx| {
            tx.execute(
                "INSERT INTO jobs (id, user_id, status, record) VALUES (?1, ?2, ?3, ?4)",
                params![
                    job.id.to_string(),
                    job.user_id,
                    job.status.as_str(),
                    to_json(job)?
                ],
            )?;
            Ok(())
        })
    }

    fn get(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        self.db.write(|tx| load(tx, id))
    }

    fn update(
        &self,
        id: &JobId,
        change: &mut dyn FnMut(&mut Job),
    ) -> Result<Option<Job>, StoreError> {
        self.update_with_outbox(id, change, &|_| Vec::new())
    }

    fn update_with_outbox(
        &self,
        id: &JobId,
        change: &mut dyn FnMut(&mut Job),
        messages: &dyn Fn(&Job) -> Vec<OutboxMessage>,
    ) -> Result<Option<Job>, StoreError> {
        self.db.write(|tx| {
            let Some(mut job) = load(tx, id)? else {
                return Ok(None);
            };
            change(&mut job);
            save(tx, &job)?;
            for message in messages(&job) {
                insert_message(tx, &message)?;
            }
            Ok(Some(job))
        })
    }

    fn list(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        self.db.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT record FROM jobs
                 WHERE (?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR status = ?2)
                 ORDER BY seq DESC LIMIT ?3",
            )?;
            let rows = statement.query_map(
                params![
                    filter.user_id,
                    filter.status.map(JobStatus::as_str),
                    filter.limit as i64
                ],
                |row| row.get::<_, String>(0),
            )?;
            rows.map(|text| from_json(&text?)).collect()
        })
    }

    fn unfinished(&self) -> Result<Vec<Job>, StoreError> {
        self.db.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT record FROM jobs WHERE status IN ('queued', 'running') ORDER BY seq",
            )?;
            let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
            rows.map(|text| from_json(&text?)).collect()
        })
    }

    fn due_messages(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        self.db.read(|conn| {
            let mut statement = conn.prepare(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM outbox
                 WHERE state = 'pending' AND next_attempt_ms <= ?1
                 ORDER BY next_attempt_ms, created_seq LIMIT ?2"
            ))?;
            let rows = statement.query_map(params![now_ms, limit as i64], read_message)?;
            rows.collect()
        })
    }

    fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        self.db.read(|conn| {
            conn.query_row(
                "SELECT MIN(next_attempt_ms) FROM outbox WHERE state = 'pending'",
                [],
                |row| row.get(0),
            )
        })
    }

    fn enqueue(&self, messages: &[OutboxMessage]) -> Result<(), StoreError> {
        self.db.write(|tx| {
            for message in messages {
                insert_message(tx, message)?;
            }
            Ok(())
        })
    }

    fn pending_for_webhook(&self, webhook_id: &str) -> Result<Vec<OutboxMessage>, StoreError> {
        self.db.read(|conn| {
            let mut statement = conn.prepare(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM outbox
                 WHERE state = 'pending' AND webhook_id = ?1 ORDER BY created_seq"
            ))?;
            let rows = statement.query_map([webhook_id], read_message)?;
            rows.collect()
        })
    }

    fn record_attempt(
        &self,
        message: &OutboxMessage,
        record: &DeliveryRecord,
        response_body: Option<&str>,
        next: OutboxNext,
    ) -> Result<(), StoreError> {
        self.db.write(|tx| {
            let (state, next_ms) = match next {
                OutboxNext::Delivered => ("delivered", message.next_attempt_ms),
                OutboxNext::Failed => ("failed", message.next_attempt_ms),
                OutboxNext::RetryAt(at) => ("pending", at),
            };
            tx.execute(
                "UPDATE outbox SET state = ?2, attempts = attempts + 1, next_attempt_ms = ?3
                 WHERE message_id = ?1",
                params![message.message_id, state, next_ms],
            )?;
            tx.execute(
                "INSERT INTO deliveries (message_id, job_id, webhook_id, event, url, attempt, outcome,
                                         status_code, error, duration_ms, attempted_at, response_body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    message.message_id,
                    (message.event != TEST_EVENT).then(|| message.job_id.to_string()),
                    message.webhook_id,
                    message.event,
                    message.url,
                    message.attempts + 1,
                    record.outcome,
                    record.status_code,
                    record.error,
                    record.duration_ms as i64,
                    record.attempted_at,
                    response_body
                ],
            )?;
            // A job's own webhook URL keeps its attempts on the job too.
            if message.webhook_id.is_none()
                && let Some(mut job) = load(tx, &message.job_id)?
            {
                job.deliveries.push(record.clone());
                save(tx, &job)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::model::JobType;
    use serde_json::json;

    fn store() -> (tempfile::TempDir, SqliteJobStore) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("index.db")).unwrap();
        (dir, SqliteJobStore::new(Arc::new(db)))
    }

    fn job(user: &str) -> Job {
        let metadata = json!({"file_path": "/w/a.py"});
        Job::new(
            JobType::FileProcessing,
            user.to_string(),
            metadata.as_object().unwrap().clone(),
        )
    }

    #[test]
    fn job_round_trips_through_json() {
        let (_dir, store) = store();
        let original = job("u1");
        store.insert(&original).unwrap();
        let loaded = store.get(&original.id).unwrap().unwrap();
        assert_eq!(loaded.id, original.id);
        assert_eq!(loaded.metadata, original.metadata);
        assert_eq!(loaded.created_at, original.created_at);
    }

    #[test]
    fn list_filters_and_orders_newest_first() {
        let (_dir, store) = store();
        let first = job("u1");
        let second = job("u1");
        let other = job("u2");
        for job in [&first, &second, &other] {
            store.insert(job).unwrap();
        }
        store
            .update(&first.id, &mut |job| job.status = JobStatus::Completed)
            .unwrap();

        let filter = JobFilter {
            user_id: Some("u1".to_string()),
            status: None,
            limit: 10,
        };
        let ids: Vec<JobId> = store
            .list(&filter)
            .unwrap()
            .iter()
            .map(|job| job.id)
            .collect();
        assert_eq!(ids, vec![second.id, first.id]);

        let completed = JobFilter {
            status: Some(JobStatus::Completed),
            limit: 10,
            ..JobFilter::default()
        };
        assert_eq!(store.list(&completed).unwrap().len(), 1);
        assert_eq!(store.unfinished().unwrap().len(), 2);
    }

    #[test]
    fn outbox_is_written_with_the_update() {
        let (_dir, store) = store();
        let job = job("u1");
        store.insert(&job).unwrap();
        let message = OutboxMessage {
            message_id: "msg_1".to_string(),
            job_id: job.id,
            url: "http://127.0.0.1:9/hook".to_string(),
            body: b"{}".to_vec(),
            attempts: 0,
            next_attempt_ms: 100,
            webhook_id: None,
            event: "job.completed".to_string(),
        };
        let queued = message.clone();
        store
            .update_with_outbox(
                &job.id,
                &mut |job| job.status = JobStatus::Completed,
                &|_| vec![queued.clone()],
            )
            .unwrap();
        assert!(store.due_messages(99, 10).unwrap().is_empty());
        assert_eq!(store.due_messages(100, 10).unwrap(), vec![message.clone()]);
        assert_eq!(store.next_due_ms().unwrap(), Some(100));

        let record = DeliveryRecord {
            message_id: "msg_1".to_string(),
            url: message.url.clone(),
            outcome: "delivered".to_string(),
            status_code: Some(200),
            error: None,
            duration_ms: 3,
            attempted_at: "2024-12-05T12:34:56.789Z".to_string(),
        };
        store
            .record_attempt(&message, &record, Some("ok"), OutboxNext::Delivered)
            .unwrap();
        assert!(store.due_messages(i64::MAX, 10).unwrap().is_empty());
        assert_eq!(
            store.get(&job.id).unwrap().unwrap().deliveries,
            vec![record]
        );
    }
}
