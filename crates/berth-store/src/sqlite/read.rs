//! Reads: a small pool of read-only connections and the queries they run.
//!
//! Every query that needs more than one statement runs inside one read
//! transaction, so it sees a single WAL snapshot: the revision bounds it
//! checks are the ones of the data it returns.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use rusqlite::{Connection, params};
use tokio::sync::Semaphore;

use super::schema::{self, key_column};
use crate::{Event, EventKind, KeyValue, ListOptions, ListResult, Result, Revision, StoreError};

/// Read-only connections, at most `permits` in use at once. Idle connections
/// are kept for reuse; new ones are opened on demand.
pub(super) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl ReadPool {
    pub fn new(path: PathBuf, connections: usize) -> Self {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(connections.max(1))),
        }
    }

    /// Runs `query` on a pooled connection on the blocking thread pool.
    pub async fn run<T, F>(self: &Arc<Self>, query: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let pool = Arc::clone(self);
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            pool.with_connection(query)
        });
        task.await.map_err(|err| {
            StoreError::Io(std::io::Error::other(format!("read task failed: {err}")))
        })?
    }

    fn with_connection<T>(&self, query: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.idle.lock().pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => schema::open_reader(&self.path)?,
        };
        let result = query(&conn);
        self.idle.lock().push(conn);
        result
    }
}

/// The smallest byte string greater than every string starting with
/// `prefix`. UTF-8 never contains the byte `0xff`, so bumping the last byte
/// cannot overflow, and `[0xff]` is above every key when the prefix is empty.
pub(super) fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    match end.last_mut() {
        Some(last) => *last = last.saturating_add(1),
        None => end.push(u8::MAX),
    }
    end
}

/// The key's current value.
pub(super) fn get(conn: &Connection, key: &str) -> Result<Option<KeyValue>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, deleted, create_revision, value FROM log
         WHERE key = ?1 ORDER BY id DESC LIMIT 1",
    )?;
    let mut rows = stmt.query([key.as_bytes()])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    if row.get::<_, bool>(1)? {
        return Ok(None);
    }
    Ok(Some(KeyValue {
        key: key.to_owned(),
        value: Bytes::from(row.get::<_, Vec<u8>>(3)?),
        create_revision: row.get(2)?,
        mod_revision: row.get(0)?,
    }))
}

/// The revision a read at `requested` (latest if `None`) is served at, after
/// checking it against the snapshot's current and compacted revisions.
fn read_revision(conn: &Connection, requested: Option<Revision>) -> Result<Revision> {
    let current = schema::current_revision(conn)?;
    let compacted = schema::compacted_revision(conn)?;
    let revision = requested.unwrap_or(current);
    if revision > current {
        return Err(StoreError::FutureRevision {
            requested: revision,
            current,
        });
    }
    if revision < compacted {
        return Err(StoreError::Compacted {
            requested: revision,
            compacted,
        });
    }
    Ok(revision)
}

/// Lists the live keys under `prefix` as of `opts.revision`: for each key,
/// its newest row at or below that revision, unless it is a tombstone.
pub(super) fn list(conn: &Connection, prefix: &str, opts: &ListOptions) -> Result<ListResult> {
    let tx = conn.unchecked_transaction()?;
    let revision = read_revision(&tx, opts.revision)?;
    // `key > s` is `key >= s + "\0"` for byte strings.
    let mut lower = prefix.as_bytes().to_vec();
    if let Some(after) = opts.start_after.as_deref().filter(|after| *after >= prefix) {
        lower = [after.as_bytes(), b"\0"].concat();
    }
    // SQLite takes the bare columns from the row holding MAX(id).
    let mut stmt = tx.prepare_cached(
        "SELECT key, MAX(id), create_revision, deleted, value FROM log
         WHERE key >= ?1 AND key < ?2 AND id <= ?3 GROUP BY key ORDER BY key",
    )?;
    let mut rows = stmt.query(params![lower, prefix_end(prefix), revision])?;
    let limit = opts.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
    let mut items = Vec::new();
    let mut remaining = 0;
    while let Some(row) = rows.next()? {
        if row.get::<_, bool>(3)? {
            continue;
        }
        if items.len() == limit {
            remaining += 1;
            continue;
        }
        items.push(KeyValue {
            key: key_column(row, 0)?,
            value: Bytes::from(row.get::<_, Vec<u8>>(4)?),
            create_revision: row.get(2)?,
            mod_revision: row.get(1)?,
        });
    }
    Ok(ListResult {
        items,
        revision,
        remaining,
    })
}

/// One page of watch history: events in `(after, upto]` under a prefix.
pub(super) struct HistoryPage {
    pub events: Vec<Event>,
    /// The revision up to which history is read (the snapshot's current
    /// revision when the caller did not fix it).
    pub upto: Revision,
    /// Everything in `(after, next]` has been returned.
    pub next: Revision,
}

/// Reads at most `limit` events with revision in `(after, upto]` (`upto`
/// defaults to the current revision) for keys under `prefix`, in order.
pub(super) fn history(
    conn: &Connection,
    prefix: &str,
    after: Revision,
    upto: Option<Revision>,
    limit: usize,
) -> Result<HistoryPage> {
    let tx = conn.unchecked_transaction()?;
    let compacted = schema::compacted_revision(&tx)?;
    if after < compacted {
        return Err(StoreError::Compacted {
            requested: after,
            compacted,
        });
    }
    let upto = match upto {
        Some(upto) => upto,
        None => schema::current_revision(&tx)?,
    };
    let mut stmt = tx.prepare_cached(
        "SELECT l.id, l.key, l.created, l.deleted, l.create_revision, l.prev_revision,
                l.value, p.value
         FROM log AS l
         LEFT JOIN log AS p ON p.id = l.prev_revision AND l.created = 0 AND l.deleted = 0
         WHERE l.id > ?1 AND l.id <= ?2 AND l.key >= ?3 AND l.key < ?4
         ORDER BY l.id LIMIT ?5",
    )?;
    let limit = limit.max(1);
    let mut rows = stmt.query(params![
        after,
        upto,
        prefix.as_bytes(),
        prefix_end(prefix),
        i64::try_from(limit).unwrap_or(i64::MAX)
    ])?;
    let mut events = Vec::new();
    while let Some(row) = rows.next()? {
        events.push(history_event(row)?);
    }
    let next = match events.last() {
        Some(last) if events.len() == limit => last.revision(),
        _ => upto.max(after),
    };
    Ok(HistoryPage { events, upto, next })
}

/// Rebuilds the event a log row records.
fn history_event(row: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    let revision: Revision = row.get(0)?;
    let created: bool = row.get(2)?;
    let deleted: bool = row.get(3)?;
    let create_revision: Revision = row.get(4)?;
    let prev_revision: Revision = row.get(5)?;
    let kv = KeyValue {
        key: key_column(row, 1)?,
        value: Bytes::from(row.get::<_, Vec<u8>>(6)?),
        create_revision,
        mod_revision: revision,
    };
    let prev_value = if deleted {
        Some(kv.value.clone())
    } else {
        row.get::<_, Option<Vec<u8>>>(7)?.map(Bytes::from)
    };
    let prev = prev_value.filter(|_| !created).map(|value| KeyValue {
        key: kv.key.clone(),
        value,
        create_revision,
        mod_revision: prev_revision,
    });
    let kind = match (created, deleted) {
        (true, _) => EventKind::Create,
        (false, true) => EventKind::Delete,
        (false, false) => EventKind::Update,
    };
    Ok(Event { kind, kv, prev })
}
