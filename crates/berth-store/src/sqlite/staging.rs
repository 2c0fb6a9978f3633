//! One batch's changes, staged on top of the writer's index.
//!
//! Ops later in a batch see the effects of earlier ones through `overlay`
//! (key → its value after the batch so far, `None` once deleted). Nothing
//! here touches the writer's index: it is merged only after the commit.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use rusqlite::{Connection, params};

use super::schema::IndexEntry;
use super::writer::WriteOp;
use crate::{Event, EventKind, KeyValue, Result, Revision, StoreError};

/// Invariant: `revision` is the revision of the last op staged so far (the
/// committed revision when nothing is staged); `events` holds one event per
/// staged op, in revision order.
pub(super) struct Staged {
    revision: Revision,
    overlay: HashMap<String, Option<KeyValue>>,
    events: Vec<Arc<Event>>,
}

/// What a row of the log says about the key.
struct Row<'a> {
    kv: &'a KeyValue,
    created: bool,
    deleted: bool,
    prev_revision: Revision,
}

impl Staged {
    pub fn new(revision: Revision) -> Self {
        Staged {
            revision,
            overlay: HashMap::new(),
            events: Vec::new(),
        }
    }

    pub fn into_parts(self) -> (Revision, HashMap<String, Option<KeyValue>>, Vec<Arc<Event>>) {
        (self.revision, self.overlay, self.events)
    }

    /// Checks `op`'s precondition and, when it holds, writes its row. The
    /// outer error is a storage failure; the inner one a failed precondition,
    /// which consumes no revision.
    pub fn apply(
        &mut self,
        conn: &Connection,
        index: &HashMap<String, IndexEntry>,
        op: WriteOp,
    ) -> rusqlite::Result<Result<KeyValue>> {
        match op {
            WriteOp::Create { key, value } => self.create(conn, index, key, value),
            WriteOp::Update {
                key,
                value,
                expected,
            } => self.update(conn, index, key, value, expected),
            WriteOp::Delete { key, expected } => self.delete(conn, index, key, expected),
        }
    }

    fn create(
        &mut self,
        conn: &Connection,
        index: &HashMap<String, IndexEntry>,
        key: String,
        value: Bytes,
    ) -> rusqlite::Result<Result<KeyValue>> {
        if self.entry(index, &key).is_some() {
            return Ok(Err(StoreError::AlreadyExists { key }));
        }
        let revision = self.revision + 1;
        let kv = KeyValue {
            key,
            value,
            create_revision: revision,
            mod_revision: revision,
        };
        let row = Row {
            kv: &kv,
            created: true,
            deleted: false,
            prev_revision: 0,
        };
        insert(conn, &row)?;
        Ok(Ok(self.stage(EventKind::Create, kv, None)))
    }

    fn update(
        &mut self,
        conn: &Connection,
        index: &HashMap<String, IndexEntry>,
        key: String,
        value: Bytes,
        expected: Revision,
    ) -> rusqlite::Result<Result<KeyValue>> {
        let prev = match self.check(conn, index, key, Some(expected))? {
            Ok(prev) => prev,
            Err(err) => return Ok(Err(err)),
        };
        let kv = KeyValue {
            key: prev.key.clone(),
            value,
            create_revision: prev.create_revision,
            mod_revision: self.revision + 1,
        };
        let row = Row {
            kv: &kv,
            created: false,
            deleted: false,
            prev_revision: prev.mod_revision,
        };
        insert(conn, &row)?;
        Ok(Ok(self.stage(EventKind::Update, kv, Some(prev))))
    }

    fn delete(
        &mut self,
        conn: &Connection,
        index: &HashMap<String, IndexEntry>,
        key: String,
        expected: Option<Revision>,
    ) -> rusqlite::Result<Result<KeyValue>> {
        let prev = match self.check(conn, index, key, expected)? {
            Ok(prev) => prev,
            Err(err) => return Ok(Err(err)),
        };
        let kv = KeyValue {
            mod_revision: self.revision + 1,
            ..prev.clone()
        };
        let row = Row {
            kv: &kv,
            created: false,
            deleted: true,
            prev_revision: prev.mod_revision,
        };
        insert(conn, &row)?;
        Ok(Ok(self.stage(EventKind::Delete, kv, Some(prev))))
    }

    /// The key's current value if it exists and its `mod_revision` matches
    /// `expected` (when given).
    fn check(
        &self,
        conn: &Connection,
        index: &HashMap<String, IndexEntry>,
        key: String,
        expected: Option<Revision>,
    ) -> rusqlite::Result<Result<KeyValue>> {
        let Some(entry) = self.entry(index, &key) else {
            return Ok(Err(StoreError::NotFound { key }));
        };
        if let Some(expected) = expected.filter(|e| *e != entry.mod_revision) {
            return Ok(Err(StoreError::Conflict {
                key,
                expected,
                actual: entry.mod_revision,
            }));
        }
        if let Some(Some(kv)) = self.overlay.get(&key) {
            return Ok(Ok(kv.clone()));
        }
        let value: Vec<u8> = conn
            .prepare_cached("SELECT value FROM log WHERE id = ?1")?
            .query_row([entry.mod_revision], |row| row.get(0))?;
        Ok(Ok(KeyValue {
            key,
            value: Bytes::from(value),
            create_revision: entry.create_revision,
            mod_revision: entry.mod_revision,
        }))
    }

    /// The key's identity as staged so far, `None` if it does not exist.
    fn entry(&self, index: &HashMap<String, IndexEntry>, key: &str) -> Option<IndexEntry> {
        match self.overlay.get(key) {
            Some(Some(kv)) => Some(IndexEntry {
                create_revision: kv.create_revision,
                mod_revision: kv.mod_revision,
            }),
            Some(None) => None,
            None => index.get(key).copied(),
        }
    }

    /// Records a written row: next revision, overlay, event. Returns what the
    /// caller is answered with.
    fn stage(&mut self, kind: EventKind, kv: KeyValue, prev: Option<KeyValue>) -> KeyValue {
        self.revision = kv.mod_revision;
        let after = (kind != EventKind::Delete).then(|| kv.clone());
        self.overlay.insert(kv.key.clone(), after);
        self.events.push(Arc::new(Event {
            kind,
            kv: kv.clone(),
            prev,
        }));
        kv
    }
}

fn insert(conn: &Connection, row: &Row<'_>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO log (id, key, created, deleted, create_revision, prev_revision, value)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        row.kv.mod_revision,
        row.kv.key.as_bytes(),
        row.created,
        row.deleted,
        row.kv.create_revision,
        row.prev_revision,
        row.kv.value.as_ref(),
    ])?;
    Ok(())
}
