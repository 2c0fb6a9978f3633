//! The on-disk layout and how connections are opened.
//!
//! Layout (a kine-style log): every successful write appends one row to
//! `log`, and the row's `id` *is* the revision of that write. Ids come from
//! `AUTOINCREMENT`, so they are never reused, even after compaction deleted
//! the newest rows; `sqlite_sequence` therefore always holds the current
//! revision. Keys are stored as BLOBs so that range comparisons are plain
//! byte comparisons (the same order as Rust's `str`).
//!
//! Row kinds:
//! - `created = 1`: the key did not exist before this revision;
//! - `deleted = 1`: a tombstone; `value` repeats the value the key had, so a
//!   delete event can be rebuilt from this row alone;
//! - otherwise an update, whose previous value is the row `prev_revision`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::types::Type;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::Revision;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key BLOB NOT NULL,
    created INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key_id ON log (key, id);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
";

/// How long a connection waits for a lock held by another connection
/// (checkpoints, the writer's commit) before failing with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The identity and last write of a live key, as the writer tracks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct IndexEntry {
    pub create_revision: Revision,
    pub mod_revision: Revision,
}

/// What the writer needs to know about an existing database at open.
pub(super) struct Loaded {
    pub revision: Revision,
    pub compacted: Revision,
    /// Every live key (its newest row is not a tombstone).
    pub index: HashMap<String, IndexEntry>,
}

/// Opens (creating if needed) the database for writing: WAL, `synchronous=FULL`.
pub(super) fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "sqlite refused WAL mode; readers will block the writer");
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

/// Opens a read-only connection; the writer must have created the database.
pub(super) fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// The latest revision ever written (0 for an empty store).
pub(super) fn current_revision(conn: &Connection) -> rusqlite::Result<Revision> {
    conn.prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'log'")?
        .query_row([], |row| row.get(0))
        .optional()
        .map(Option::unwrap_or_default)
}

/// The revision history was compacted up to (0 if never).
pub(super) fn compacted_revision(conn: &Connection) -> rusqlite::Result<Revision> {
    conn.prepare_cached("SELECT value FROM meta WHERE name = 'compacted'")?
        .query_row([], |row| row.get(0))
        .optional()
        .map(Option::unwrap_or_default)
}

/// Records the compacted revision (inside the caller's transaction).
pub(super) fn set_compacted_revision(
    conn: &Connection,
    revision: Revision,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (name, value) VALUES ('compacted', ?1)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )?
    .execute([revision])?;
    Ok(())
}

/// Reads the revisions and the index of live keys.
pub(super) fn load(conn: &Connection) -> rusqlite::Result<Loaded> {
    let mut stmt =
        conn.prepare("SELECT key, MAX(id), create_revision, deleted FROM log GROUP BY key")?;
    let mut rows = stmt.query([])?;
    let mut index = HashMap::new();
    while let Some(row) = rows.next()? {
        if row.get::<_, bool>(3)? {
            continue;
        }
        let entry = IndexEntry {
            mod_revision: row.get(1)?,
            create_revision: row.get(2)?,
        };
        index.insert(key_column(row, 0)?, entry);
    }
    Ok(Loaded {
        revision: current_revision(conn)?,
        compacted: compacted_revision(conn)?,
        index,
    })
}

/// Reads a key column (stored as a BLOB) back into a `String`.
pub(super) fn key_column(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<String> {
    let bytes: Vec<u8> = row.get(idx)?;
    String::from_utf8(bytes)
        .map_err(|err| rusqlite::Error::FromSqlConversionFailure(idx, Type::Blob, Box::new(err)))
}
