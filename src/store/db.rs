//! The SQLite database in the data directory: opening, pragmas and versioned
//! migrations.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, Transaction};

use super::StoreError;

/// Schema versions in order. Version N is `MIGRATIONS[N - 1]`; the applied
/// version is kept in `PRAGMA user_version`. Never edit a released entry:
/// append a new one.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_initial.sql"),
    include_str!("migrations/002_webhooks.sql"),
    include_str!("migrations/003_keyword.sql"),
    include_str!("migrations/004_outbox_order.sql"),
    include_str!("migrations/005_chunk_embedder.sql"),
    include_str!("migrations/006_keyword_columns.sql"),
    include_str!("migrations/007_snowball_stems.sql"),
];

/// One connection to the database, shared behind a mutex. SQLite serialises
/// writers anyway, and every statement here is short.
pub struct Database {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Database {
    /// Opens or creates the database at `path`, enables WAL mode and applies
    /// pending migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let context = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(context)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(context)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(context)?;
        // NORMAL is durable in WAL mode except for the last transactions
        // before a power loss; a process crash loses nothing.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(context)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(context)?;
        let version: usize = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(context)?;
        if version > MIGRATIONS.len() {
            return Err(StoreError::SchemaTooNew {
                path: path.to_path_buf(),
                found: version,
                supported: MIGRATIONS.len(),
            });
        }
        migrate(&mut conn, version).map_err(context)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` on the connection.
    pub fn read<T>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        work(&self.lock()).map_err(StoreError::Sql)
    }

    /// Runs `work` in a transaction that commits only if `work` succeeds.
    pub fn write<T>(
        &self,
        work: impl FnOnce(&Transaction) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(StoreError::Sql)?;
        let value = work(&tx).map_err(StoreError::Sql)?;
        tx.commit().map_err(StoreError::Sql)?;
        Ok(value)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Applies the migrations after version `current`, each in its own transaction.
fn migrate(conn: &mut Connection, current: usize) -> rusqlite::Result<()> {
    for (offset, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", offset + 1)?;
        tx.commit()?;
        tracing::info!(version = offset + 1, "applied database migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_applies_migrations_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.db");
        drop(Database::open(&path).unwrap());
        let db = Database::open(&path).unwrap();
        let version: usize = db
            .read(|conn| conn.pragma_query_value(None, "user_version", |row| row.get(0)))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
    }

    /// Reopens, after `setup` ran on a database at schema `version`, and
    /// returns the number of keyword rows left.
    fn keyword_rows_after_upgrade(version: usize, setup: &str) -> i64 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.db");
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, 0).unwrap();
        conn.pragma_update(None, "user_version", version).unwrap();
        conn.execute_batch(setup).unwrap();
        drop(conn);

        let db = Database::open(&path).unwrap();
        db.read(|conn| {
            conn.execute(
                "INSERT INTO chunks_fts (rowid, name, body) VALUES (99, 'a', 'b')",
                [],
            )
        })
        .expect("the keyword table has the current columns");
        db.read(|conn| {
            conn.query_row(
                "SELECT count(*) FROM chunks_fts WHERE rowid <> 99",
                [],
                |row| row.get(0),
            )
        })
        .unwrap()
    }

    /// Migration 6 replaces the one-column keyword table, whose words are no
    /// longer in the stored form, with an empty two-column one. Opening a
    /// collection then adds its rows again.
    #[test]
    fn keyword_table_is_emptied_by_migration_6() {
        let rows = keyword_rows_after_upgrade(
            5,
            "DROP TABLE chunks_fts;
             CREATE VIRTUAL TABLE chunks_fts USING fts5(tokens, tokenize = 'unicode61');
             INSERT INTO chunks_fts (rowid, tokens) VALUES (1, 'parse config');",
        );
        assert_eq!(rows, 0);
    }

    /// Migration 7 drops the keyword rows stemmed by the original Porter
    /// algorithm, so that opening a collection adds them again.
    #[test]
    fn keyword_rows_are_dropped_by_migration_7() {
        let rows = keyword_rows_after_upgrade(
            6,
            "INSERT INTO chunks_fts (rowid, name, body) VALUES (1, 'pars', 'configur');",
        );
        assert_eq!(rows, 0);
    }

    #[test]
    fn newer_schema_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        drop(conn);
        let error = Database::open(&path).err().unwrap().to_string();
        assert!(error.contains("schema version 999"), "{error}");
    }
}
