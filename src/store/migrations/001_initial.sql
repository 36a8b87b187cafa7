-- Jobs: indexed columns for listing, the full record as JSON in `record`.
CREATE TABLE jobs (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    user_id     TEXT NOT NULL,
    status      TEXT NOT NULL,
    record      TEXT NOT NULL
);
CREATE INDEX jobs_by_user ON jobs (user_id, seq);
CREATE INDEX jobs_by_status ON jobs (status, seq);

-- Webhook messages waiting for delivery. A row is written in the same
-- transaction that marks its job finished, so no finished job loses its webhook.
CREATE TABLE outbox (
    message_id      TEXT PRIMARY KEY,
    job_id          TEXT NOT NULL,
    url             TEXT NOT NULL,
    body            BLOB NOT NULL,
    state           TEXT NOT NULL,          -- pending, delivered, failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,       -- Unix milliseconds
    created_seq     INTEGER NOT NULL
);
CREATE INDEX outbox_pending ON outbox (state, next_attempt_ms);

-- Collections: which embedder built them and the next point id to assign.
CREATE TABLE collections (
    name          TEXT PRIMARY KEY,
    embedder      TEXT NOT NULL,
    dimension     INTEGER NOT NULL,
    next_point_id INTEGER NOT NULL,
    -- Incremented on every change, so a persisted graph can tell it is stale.
    generation    INTEGER NOT NULL DEFAULT 0
);

-- Indexed files with the hash of their content, for incremental re-indexing.
CREATE TABLE files (
    collection   TEXT NOT NULL REFERENCES collections (name) ON DELETE CASCADE,
    path         TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    language     TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    chunk_count  INTEGER NOT NULL,
    -- Analysis of the file, so workspace totals include unchanged files.
    functions_found INTEGER NOT NULL,
    classes_found   INTEGER NOT NULL,
    complexity_sum  REAL NOT NULL,
    PRIMARY KEY (collection, path)
);

-- Live chunks with their vectors (little-endian f32), from which the HNSW
-- graph of a collection can always be rebuilt.
CREATE TABLE chunks (
    collection  TEXT NOT NULL,
    point_id    INTEGER NOT NULL,
    path        TEXT NOT NULL,
    language    TEXT NOT NULL,
    symbol      TEXT,
    kind        TEXT NOT NULL,
    start_line  INTEGER NOT NULL,
    end_line    INTEGER NOT NULL,
    start_byte  INTEGER NOT NULL,
    end_byte    INTEGER NOT NULL,
    text        TEXT NOT NULL,
    vector      BLOB NOT NULL,
    PRIMARY KEY (collection, point_id),
    FOREIGN KEY (collection, path) REFERENCES files (collection, path) ON DELETE CASCADE
);
CREATE INDEX chunks_by_path ON chunks (collection, path);
