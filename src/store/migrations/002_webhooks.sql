-- Webhooks registered by users through the MCP tools.
CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,           -- wh_<32 hex digits>
    user_id         TEXT NOT NULL,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    events          TEXT NOT NULL,              -- JSON array of event types
    headers         TEXT NOT NULL,              -- JSON object of custom headers
    secrets         TEXT NOT NULL,              -- JSON array of {secret, expires_ms}
    batch_window_ms INTEGER,                    -- NULL: one POST per event
    disabled_reason TEXT,                       -- NULL while enabled
    failing_since_ms INTEGER,                   -- first failure since the last success
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX webhooks_by_user ON webhooks (user_id);

-- Every delivery attempt, for list_deliveries and redeliver.
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id    TEXT NOT NULL,
    job_id        TEXT,
    webhook_id    TEXT,
    event         TEXT NOT NULL,
    url           TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    outcome       TEXT NOT NULL,
    status_code   INTEGER,
    error         TEXT,
    duration_ms   INTEGER NOT NULL,
    attempted_at  TEXT NOT NULL,
    response_body TEXT                          -- first 4 KiB, lossily decoded
);
CREATE INDEX deliveries_by_job ON deliveries (job_id, id);
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_by_message ON deliveries (message_id, id);

-- Outbox messages know their event and, for registered webhooks, their webhook.
ALTER TABLE outbox ADD COLUMN webhook_id TEXT;
ALTER TABLE outbox ADD COLUMN event TEXT NOT NULL DEFAULT 'job.completed';

-- Creation time (Unix nanoseconds) of the job that stored each file's chunks, so an older
-- submission that finishes later does not overwrite a newer one. 0 for earlier rows.
ALTER TABLE files ADD COLUMN source_version INTEGER NOT NULL DEFAULT 0;
