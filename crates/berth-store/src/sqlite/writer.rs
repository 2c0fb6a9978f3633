//! The single writer thread and its group commit.
//!
//! Requests arrive on a bounded channel. The writer takes everything pending
//! (up to `max_batch`), checks each operation's precondition against its
//! index of live keys as staged so far in the batch, gives each successful
//! operation the next revision, writes all rows in one transaction and
//! commits. Only after the commit does it merge the staged changes into the
//! index, publish the events (in revision order) and answer the requests.
//! If the transaction fails, every request of the batch gets an error and the
//! index and revision stay as they were.

use std::collections::HashMap;
use std::mem;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::Shared;
use super::schema::{self, IndexEntry};
use super::staging::Staged;
use crate::{KeyValue, Result, Revision, StoreError};

/// A write as requested by a caller.
#[derive(Debug)]
pub(super) enum WriteOp {
    Create {
        key: String,
        value: Bytes,
    },
    Update {
        key: String,
        value: Bytes,
        expected: Revision,
    },
    Delete {
        key: String,
        expected: Option<Revision>,
    },
}

/// A message to the writer thread.
pub(super) enum Command {
    Write {
        op: WriteOp,
        reply: oneshot::Sender<Result<KeyValue>>,
    },
    Compact {
        revision: Revision,
        reply: oneshot::Sender<Result<()>>,
    },
}

/// State owned by the writer thread.
///
/// Invariant: between batches, `index` holds exactly the live keys of the
/// committed database and `revision` its latest committed revision.
pub(super) struct Writer {
    pub conn: Connection,
    pub index: HashMap<String, IndexEntry>,
    pub revision: Revision,
    pub shared: Arc<Shared>,
    pub max_batch: usize,
}

type PendingWrite = (WriteOp, oneshot::Sender<Result<KeyValue>>);

impl Writer {
    /// Serves commands until every sender is gone, then returns.
    pub fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        while let Some(first) = commands.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < self.max_batch {
                match commands.try_recv() {
                    Ok(command) => batch.push(command),
                    Err(_) => break,
                }
            }
            self.process(batch);
        }
        tracing::debug!(revision = self.revision, "sqlite writer stopped");
    }

    /// Commits the writes of a batch; a compaction splits the batch so that
    /// it sees every write queued before it.
    fn process(&mut self, batch: Vec<Command>) {
        let mut writes: Vec<PendingWrite> = Vec::with_capacity(batch.len());
        for command in batch {
            match command {
                Command::Write { op, reply } => writes.push((op, reply)),
                Command::Compact { revision, reply } => {
                    self.commit(mem::take(&mut writes));
                    let _ = reply.send(self.compact(revision));
                }
            }
        }
        self.commit(writes);
    }

    fn commit(&mut self, writes: Vec<PendingWrite>) {
        if writes.is_empty() {
            return;
        }
        let (ops, replies): (Vec<_>, Vec<_>) = writes.into_iter().unzip();
        match self.write_batch(ops) {
            Ok((staged, outcomes)) => {
                self.publish(staged);
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(err) => {
                tracing::error!(error = %err, ops = replies.len(), "sqlite batch commit failed");
                for reply in replies {
                    let _ = reply.send(Err(commit_failure(&err)));
                }
            }
        }
    }

    /// Stages and writes every op in one transaction. The outer error is a
    /// storage failure (the whole batch fails); inner errors are failed
    /// preconditions of single ops.
    fn write_batch(&self, ops: Vec<WriteOp>) -> rusqlite::Result<(Staged, Vec<Result<KeyValue>>)> {
        let tx = self.begin()?;
        let mut staged = Staged::new(self.revision);
        let mut outcomes = Vec::with_capacity(ops.len());
        for op in ops {
            outcomes.push(staged.apply(&tx, &self.index, op)?);
        }
        tx.commit()?;
        Ok((staged, outcomes))
    }

    /// Starts a write transaction holding the write lock from the start.
    fn begin(&self) -> rusqlite::Result<Transaction<'_>> {
        Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
    }

    /// Makes a committed batch visible: index, revision, then events.
    fn publish(&mut self, staged: Staged) {
        let (revision, overlay, events) = staged.into_parts();
        for (key, entry) in overlay {
            match entry {
                Some(kv) => {
                    let entry = IndexEntry {
                        create_revision: kv.create_revision,
                        mod_revision: kv.mod_revision,
                    };
                    self.index.insert(key, entry);
                }
                None => {
                    self.index.remove(&key);
                }
            }
        }
        self.revision = revision;
        self.shared.revision.store(revision, Ordering::Release);
        for event in events {
            // No receivers is fine: nobody is watching.
            let _ = self.shared.events.send(event);
        }
    }

    /// Deletes history superseded at or before `revision` and records it.
    fn compact(&mut self, revision: Revision) -> Result<()> {
        let compacted = self.shared.compacted.load(Ordering::Acquire);
        if revision <= compacted {
            return Ok(());
        }
        if revision > self.revision {
            return Err(StoreError::FutureRevision {
                requested: revision,
                current: self.revision,
            });
        }
        let tx = self.begin()?;
        let removed = tx.execute(
            "DELETE FROM log WHERE id <= ?1 AND (deleted = 1 OR EXISTS (
                 SELECT 1 FROM log AS newer
                 WHERE newer.key = log.key AND newer.id > log.id AND newer.id <= ?1))",
            [revision],
        )?;
        schema::set_compacted_revision(&tx, revision)?;
        tx.commit()?;
        self.shared.compacted.store(revision, Ordering::Release);
        tracing::debug!(revision, removed, "sqlite history compacted");
        Ok(())
    }
}

/// The error each op of a failed batch gets (`rusqlite::Error` is not `Clone`).
fn commit_failure(err: &rusqlite::Error) -> StoreError {
    match err {
        rusqlite::Error::SqliteFailure(code, message) => {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(*code, message.clone()))
        }
        other => StoreError::Io(std::io::Error::other(format!("commit failed: {other}"))),
    }
}
