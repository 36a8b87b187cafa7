//! SQL for collections, files and chunks: the source of truth from which a
//! collection's graph can always be rebuilt.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::search::{self, KeywordTokens};
use super::{ChunkRecord, FileRecord, NewChunk, StaleChunk, vector_id};

/// A row of the `collections` table.
#[derive(Debug, Clone)]
pub struct CollectionRow {
    pub embedder: String,
    pub dimension: usize,
    pub generation: i64,
}

pub fn collection_row(conn: &Connection, name: &str) -> rusqlite::Result<Option<CollectionRow>> {
    conn.query_row(
        "SELECT embedder, dimension, generation FROM collections WHERE name = ?1",
        [name],
        |row| {
            Ok(CollectionRow {
                embedder: row.get(0)?,
                dimension: row.get::<_, i64>(1)? as usize,
                generation: row.get(2)?,
            })
        },
    )
    .optional()
}

/// Returns the names of all collections.
pub fn collection_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare("SELECT name FROM collections ORDER BY name")?;
    statement.query_map([], |row| row.get(0))?.collect()
}

/// Creates a collection, replacing (and so emptying) any earlier one of that name.
pub fn create_collection(
    tx: &Transaction,
    name: &str,
    embedder: &str,
    dimension: usize,
) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM chunks_fts WHERE rowid IN (SELECT rowid FROM chunks WHERE collection = ?1)",
        [name],
    )?;
    tx.execute("DELETE FROM chunks WHERE collection = ?1", [name])?;
    tx.execute("DELETE FROM files WHERE collection = ?1", [name])?;
    tx.execute("DELETE FROM collections WHERE name = ?1", [name])?;
    tx.execute(
        "INSERT INTO collections (name, embedder, dimension, next_point_id, generation)
         VALUES (?1, ?2, ?3, 1, 0)",
        params![name, embedder, dimension as i64],
    )?;
    Ok(())
}

/// Deletes a file's chunks and record. Returns the point ids removed.
pub fn remove_file(tx: &Transaction, collection: &str, path: &str) -> rusqlite::Result<Vec<usize>> {
    let mut statement =
        tx.prepare_cached("SELECT point_id FROM chunks WHERE collection = ?1 AND path = ?2")?;
    let ids = statement
        .query_map(params![collection, path], |row| {
            row.get::<_, i64>(0).map(|id| id as usize)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    tx.execute(
        "DELETE FROM chunks_fts WHERE rowid IN
           (SELECT rowid FROM chunks WHERE collection = ?1 AND path = ?2)",
        params![collection, path],
    )?;
    tx.execute(
        "DELETE FROM chunks WHERE collection = ?1 AND path = ?2",
        params![collection, path],
    )?;
    let removed_file = tx.execute(
        "DELETE FROM files WHERE collection = ?1 AND path = ?2",
        params![collection, path],
    )?;
    if removed_file > 0 || !ids.is_empty() {
        bump_generation(tx, collection)?;
    }
    Ok(ids)
}

/// Tells whether the stored record of `path` comes from a job newer than `source_version`.
pub fn has_newer_version(
    tx: &Transaction,
    collection: &str,
    path: &str,
    source_version: i64,
) -> rusqlite::Result<bool> {
    let stored: Option<i64> = tx
        .query_row(
            "SELECT source_version FROM files WHERE collection = ?1 AND path = ?2",
            params![collection, path],
            |row| row.get(0),
        )
        .optional()?;
    Ok(stored.is_some_and(|stored| stored > source_version))
}

/// Replaces a file's record and chunks; `tokens` holds the keyword words of each chunk.
/// Returns the removed and the new point ids, or `None` without writing when the stored
/// record has a newer `source_version`.
pub fn replace_file(
    tx: &Transaction,
    collection: &str,
    file: &FileRecord,
    chunks: &[NewChunk],
    tokens: &[KeywordTokens],
    embedder: &str,
) -> rusqlite::Result<Option<(Vec<usize>, Vec<usize>)>> {
    assert_eq!(chunks.len(), tokens.len(), "one keyword row per chunk");
    if has_newer_version(tx, collection, &file.path, file.source_version)? {
        return Ok(None);
    }
    let removed = remove_file(tx, collection, &file.path)?;
    tx.execute(
        "INSERT INTO files (collection, path, content_hash, language, size_bytes, chunk_count,
                            functions_found, classes_found, complexity_sum, source_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            collection,
            file.path,
            file.content_hash,
            file.language,
            file.size_bytes as i64,
            chunks.len() as i64,
            file.functions_found as i64,
            file.classes_found as i64,
            file.complexity_sum,
            file.source_version
        ],
    )?;
    let first: i64 = tx.query_row(
        "SELECT next_point_id FROM collections WHERE name = ?1",
        [collection],
        |row| row.get(0),
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO chunks (collection, point_id, path, language, symbol, kind, start_line, end_line,
                             start_byte, end_byte, text, vector, embedder)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    let mut added = Vec::with_capacity(chunks.len());
    for (offset, (chunk, tokens)) in chunks.iter().zip(tokens).enumerate() {
        let point_id = first + offset as i64;
        insert.execute(params![
            collection,
            point_id,
            file.path,
            file.language,
            chunk.symbol,
            chunk.kind,
            chunk.start_line as i64,
            chunk.end_line as i64,
            chunk.start_byte as i64,
            chunk.end_byte as i64,
            chunk.text,
            vector_to_blob(&chunk.vector),
            embedder,
        ])?;
        search::index_chunk(tx, tx.last_insert_rowid(), tokens)?;
        added.push(point_id as usize);
    }
    tx.execute(
        "UPDATE collections SET next_point_id = ?2, generation = generation + 1 WHERE name = ?1",
        params![collection, first + chunks.len() as i64],
    )?;
    Ok(Some((removed, added)))
}

fn bump_generation(tx: &Transaction, collection: &str) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE collections SET generation = generation + 1 WHERE name = ?1",
        [collection],
    )?;
    Ok(())
}

fn read_file_record(row: &rusqlite::Row) -> rusqlite::Result<FileRecord> {
    Ok(FileRecord {
        path: row.get(0)?,
        content_hash: row.get(1)?,
        language: row.get(2)?,
        size_bytes: row.get::<_, i64>(3)? as u64,
        chunk_count: row.get::<_, i64>(4)? as usize,
        functions_found: row.get::<_, i64>(5)? as usize,
        classes_found: row.get::<_, i64>(6)? as usize,
        complexity_sum: row.get(7)?,
        source_version: row.get(8)?,
    })
}

const FILE_COLUMNS: &str = "path, content_hash, language, size_bytes, chunk_count, functions_found, classes_found, complexity_sum, source_version";

pub fn file(
    conn: &Connection,
    collection: &str,
    path: &str,
) -> rusqlite::Result<Option<FileRecord>> {
    conn.query_row(
        &format!("SELECT {FILE_COLUMNS} FROM files WHERE collection = ?1 AND path = ?2"),
        params![collection, path],
        read_file_record,
    )
    .optional()
}

pub fn files_under(
    conn: &Connection,
    collection: &str,
    prefix: &str,
) -> rusqlite::Result<Vec<FileRecord>> {
    let mut statement = conn.prepare(&format!(
        "SELECT {FILE_COLUMNS} FROM files
         WHERE collection = ?1 AND substr(path, 1, length(?2)) = ?2 ORDER BY path"
    ))?;
    statement
        .query_map(params![collection, prefix], read_file_record)?
        .collect()
}

pub fn file_count(conn: &Connection, collection: &str) -> rusqlite::Result<usize> {
    conn.query_row(
        "SELECT COUNT(*) FROM files WHERE collection = ?1",
        [collection],
        |row| row.get::<_, i64>(0).map(|count| count as usize),
    )
}

/// Returns the point ids of the chunks whose vector comes from `embedder`.
pub fn live_ids(
    conn: &Connection,
    collection: &str,
    embedder: &str,
) -> rusqlite::Result<HashSet<usize>> {
    let mut statement =
        conn.prepare("SELECT point_id FROM chunks WHERE collection = ?1 AND embedder = ?2")?;
    statement
        .query_map(params![collection, embedder], |row| {
            row.get::<_, i64>(0).map(|id| id as usize)
        })?
        .collect()
}

/// Calls `each` with the point id and vector of every chunk embedded by `embedder`.
pub fn for_each_vector(
    conn: &Connection,
    collection: &str,
    embedder: &str,
    mut each: impl FnMut(usize, &[f32]),
) -> rusqlite::Result<()> {
    let mut statement = conn
        .prepare("SELECT point_id, vector FROM chunks WHERE collection = ?1 AND embedder = ?2")?;
    let mut rows = statement.query(params![collection, embedder])?;
    while let Some(row) = rows.next()? {
        let id = row.get::<_, i64>(0)? as usize;
        let blob = row.get_ref(1)?.as_blob()?;
        each(id, &blob_to_vector(blob));
    }
    Ok(())
}

/// Counts the chunks whose vector has another stamp than `embedder`.
pub fn stale_count(conn: &Connection, collection: &str, embedder: &str) -> rusqlite::Result<usize> {
    conn.query_row(
        "SELECT COUNT(*) FROM chunks WHERE collection = ?1 AND embedder != ?2",
        params![collection, embedder],
        |row| row.get::<_, i64>(0).map(|count| count as usize),
    )
}

/// Names of the collections recorded with another embedder or dimension
/// than the current ones, or holding chunks whose vector has another stamp.
pub fn stale_collections(
    conn: &Connection,
    embedder: &str,
    dimension: usize,
    stamp: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare(
        "SELECT name FROM collections
         WHERE embedder != ?1 OR dimension != ?2
            OR EXISTS (SELECT 1 FROM chunks
                       WHERE chunks.collection = collections.name AND chunks.embedder != ?3)
         ORDER BY name",
    )?;
    statement
        .query_map(params![embedder, dimension as i64, stamp], |row| row.get(0))?
        .collect()
}

/// Up to `limit` chunks whose vector comes from another embedder than
/// `embedder`, oldest first.
pub fn stale_chunks(
    conn: &Connection,
    collection: &str,
    embedder: &str,
    limit: usize,
) -> rusqlite::Result<Vec<StaleChunk>> {
    let mut statement = conn.prepare_cached(
        "SELECT point_id, path, symbol, text FROM chunks
         WHERE collection = ?1 AND embedder != ?2 ORDER BY point_id LIMIT ?3",
    )?;
    statement
        .query_map(params![collection, embedder, limit as i64], |row| {
            Ok(StaleChunk {
                point_id: row.get::<_, i64>(0)? as usize,
                path: row.get(1)?,
                symbol: row.get(2)?,
                text: row.get(3)?,
            })
        })?
        .collect()
}

/// Stores vectors computed by `embedder` for chunks that still hold another
/// embedder's vector. Chunks replaced or removed in the meantime are left
/// alone. Returns the point ids updated.
pub fn store_vectors(
    tx: &Transaction,
    collection: &str,
    embedder: &str,
    vectors: &[(usize, Vec<f32>)],
) -> rusqlite::Result<Vec<usize>> {
    let mut update = tx.prepare_cached(
        "UPDATE chunks SET vector = ?3, embedder = ?4
         WHERE collection = ?1 AND point_id = ?2 AND embedder != ?4",
    )?;
    let mut updated = Vec::with_capacity(vectors.len());
    for (id, vector) in vectors {
        if update.execute(params![
            collection,
            *id as i64,
            vector_to_blob(vector),
            embedder
        ])? > 0
        {
            updated.push(*id);
        }
    }
    if !updated.is_empty() {
        bump_generation(tx, collection)?;
    }
    Ok(updated)
}

/// Records `embedder` and `dimension` as the collection's current embedder.
/// Chunks keep their vectors until they are re-embedded.
pub fn switch_embedder(
    tx: &Transaction,
    collection: &str,
    embedder: &str,
    dimension: usize,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE collections SET embedder = ?2, dimension = ?3, generation = generation + 1
         WHERE name = ?1",
        params![collection, embedder, dimension as i64],
    )?;
    Ok(())
}

/// Calls `each` with the point id, keyword words and symbol of every live chunk.
pub fn for_each_keyword_row(
    conn: &Connection,
    collection: &str,
    mut each: impl FnMut(usize, &KeywordTokens, Option<&str>),
) -> rusqlite::Result<()> {
    let mut statement = conn.prepare(
        "SELECT c.point_id, f.name, f.body, c.symbol
         FROM chunks c JOIN chunks_fts f ON f.rowid = c.rowid
         WHERE c.collection = ?1",
    )?;
    let mut rows = statement.query([collection])?;
    while let Some(row) = rows.next()? {
        let tokens = KeywordTokens {
            name: row.get(1)?,
            body: row.get(2)?,
        };
        let symbol: Option<String> = row.get(3)?;
        each(row.get::<_, i64>(0)? as usize, &tokens, symbol.as_deref());
    }
    Ok(())
}

/// Returns the chunk records of the given point ids.
pub fn chunk_records(
    conn: &Connection,
    collection: &str,
    ids: &[usize],
) -> rusqlite::Result<HashMap<usize, ChunkRecord>> {
    let mut statement = conn.prepare_cached(
        "SELECT path, language, symbol, kind, start_line, end_line, start_byte, end_byte, text
         FROM chunks WHERE collection = ?1 AND point_id = ?2",
    )?;
    let mut records = HashMap::with_capacity(ids.len());
    for &id in ids {
        let record = statement
            .query_row(params![collection, id as i64], |row| {
                Ok(ChunkRecord {
                    vector_id: vector_id(id),
                    path: row.get(0)?,
                    language: row.get(1)?,
                    symbol: row.get(2)?,
                    kind: row.get(3)?,
                    start_line: row.get::<_, i64>(4)? as usize,
                    end_line: row.get::<_, i64>(5)? as usize,
                    start_byte: row.get::<_, i64>(6)? as usize,
                    end_byte: row.get::<_, i64>(7)? as usize,
                    text: row.get(8)?,
                })
            })
            .optional()?;
        if let Some(record) = record {
            records.insert(id, record);
        }
    }
    Ok(records)
}

/// Returns the symbol and path of each chunk among `ids` that has a symbol.
/// One statement reads up to 100 ids, which costs less than a lookup each.
pub fn chunk_names(
    conn: &Connection,
    collection: &str,
    ids: &[usize],
) -> rusqlite::Result<Vec<(usize, String, String)>> {
    const BATCH: usize = 100;
    let mut names = Vec::new();
    for batch in ids.chunks(BATCH) {
        let placeholders = vec!["?"; batch.len()].join(", ");
        let mut statement = conn.prepare_cached(&format!(
            "SELECT point_id, symbol, path FROM chunks
             WHERE collection = ? AND symbol IS NOT NULL AND point_id IN ({placeholders})"
        ))?;
        let values = std::iter::once(rusqlite::types::Value::from(collection.to_string())).chain(
            batch
                .iter()
                .map(|&id| rusqlite::types::Value::from(id as i64)),
        );
        let rows = statement.query_map(rusqlite::params_from_iter(values), |row| {
            Ok((
                row.get::<_, i64>(0)? as usize,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            names.push(row?);
        }
    }
    Ok(names)
}

fn vector_to_blob(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn blob_to_vector(blob: &[u8]) -> Vec<f32> {
    blob.chunks_exact(4)
        .map(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_blob_round_trips() {
        let vector = vec![0.5, -1.25, 3.0e-7, 0.0];
        assert_eq!(blob_to_vector(&vector_to_blob(&vector)), vector);
    }
}
