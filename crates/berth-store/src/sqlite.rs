//! The embedded backend: one SQLite file in WAL mode.
//!
//! Writes go to a single writer thread doing group commit (module
//! `writer`); a write is answered only after the transaction
//! holding it committed with `synchronous=FULL`. Reads run on a small pool of
//! read-only connections on tokio's blocking pool. Watches subscribe to the
//! writer's live broadcast, then replay history from the log (module
//! `watch`).

mod read;
mod schema;
mod staging;
mod watch;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::thread::JoinHandle;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{broadcast, mpsc, oneshot};

use self::read::ReadPool;
use self::writer::{Command, WriteOp, Writer};
use crate::{
    Event, KeyValue, ListOptions, ListResult, Result, Revision, Store, StoreError, WatchStream,
};

/// Tuning of a [`SqliteStore`]. `Default` gives values suited to one machine.
#[derive(Clone, Debug)]
pub struct SqliteConfig {
    /// Writes waiting for the writer thread; beyond this, writes fail fast
    /// with [`StoreError::Overloaded`].
    pub queue_capacity: usize,
    /// At most this many operations are committed in one transaction.
    pub max_batch: usize,
    /// Live events buffered per watcher; a watcher further behind than this
    /// ends with [`StoreError::WatcherLagged`].
    pub watch_capacity: usize,
    /// Read-only connections used at once.
    pub read_connections: usize,
    /// Events read from the log per query while a watch replays history.
    pub replay_page_size: usize,
}

impl Default for SqliteConfig {
    fn default() -> Self {
        SqliteConfig {
            queue_capacity: 10_000,
            max_batch: 2_000,
            watch_capacity: 16_384,
            read_connections: 4,
            replay_page_size: 1_000,
        }
    }
}

/// What the writer thread shares with the async side.
///
/// Invariants: `revision` and `compacted` are only ever raised, and only
/// after the data they describe is committed; every committed event is sent
/// on `events` after `revision` covers it, in revision order.
struct Shared {
    revision: AtomicI64,
    compacted: AtomicI64,
    events: broadcast::Sender<Arc<Event>>,
}

/// A [`Store`] in one SQLite file. Dropping it lets the writer thread finish
/// the requests already queued and waits for it to stop (a blocking join of
/// at most one batch's work).
///
/// Invariant: at most one `SqliteStore` (in any process) writes a given file:
/// the writer's in-memory index of live keys assumes it is the only writer.
pub struct SqliteStore {
    // Declared before `_writer` so it is dropped first: the writer thread
    // stops once the last sender is gone, and `_writer`'s drop joins it.
    commands: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    reads: Arc<ReadPool>,
    config: SqliteConfig,
    /// Held for its `Drop` only.
    _writer: WriterThread,
}

/// Joins the writer thread when dropped.
struct WriterThread(Option<JoinHandle<()>>);

impl Drop for WriterThread {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take()
            && handle.join().is_err()
        {
            tracing::error!("sqlite writer thread panicked");
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in the file at `path`, loads the
    /// index of live keys and starts the writer thread.
    pub fn open(path: &Path, config: SqliteConfig) -> Result<SqliteStore> {
        let conn = schema::open_writer(path)?;
        let loaded = schema::load(&conn)?;
        tracing::info!(
            path = %path.display(),
            revision = loaded.revision,
            compacted = loaded.compacted,
            keys = loaded.index.len(),
            "sqlite store opened"
        );
        let (events, _) = broadcast::channel(config.watch_capacity.max(1));
        let shared = Arc::new(Shared {
            revision: AtomicI64::new(loaded.revision),
            compacted: AtomicI64::new(loaded.compacted),
            events,
        });
        let (commands, receiver) = mpsc::channel(config.queue_capacity.max(1));
        let writer = Writer {
            conn,
            index: loaded.index,
            revision: loaded.revision,
            shared: Arc::clone(&shared),
            max_batch: config.max_batch.max(1),
        };
        let handle = std::thread::Builder::new()
            .name("berth-sqlite-writer".into())
            .spawn(move || writer.run(receiver))?;
        Ok(SqliteStore {
            commands,
            shared,
            reads: Arc::new(ReadPool::new(path.to_path_buf(), config.read_connections)),
            config,
            _writer: WriterThread(Some(handle)),
        })
    }

    /// Queues a command for the writer; never waits for queue space.
    fn submit(&self, command: Command) -> Result<()> {
        self.commands.try_send(command).map_err(|err| match err {
            TrySendError::Full(_) => StoreError::Overloaded,
            TrySendError::Closed(_) => StoreError::Closed,
        })
    }

    async fn write(&self, op: WriteOp) -> Result<KeyValue> {
        let (reply, answer) = oneshot::channel();
        self.submit(Command::Write { op, reply })?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let key = key.to_owned();
        self.reads.run(move |conn| read::get(conn, &key)).await
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        let prefix = prefix.to_owned();
        self.reads
            .run(move |conn| read::list(conn, &prefix, &opts))
            .await
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        let key = key.to_owned();
        self.write(WriteOp::Create { key, value }).await
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<KeyValue> {
        let key = key.to_owned();
        self.write(WriteOp::Update {
            key,
            value,
            expected,
        })
        .await
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue> {
        let key = key.to_owned();
        self.write(WriteOp::Delete { key, expected }).await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        let live = self.shared.events.subscribe();
        let pool = Arc::clone(&self.reads);
        watch::start(pool, live, prefix, after, self.config.replay_page_size).await
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.submit(Command::Compact { revision, reply })?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.shared.revision.load(Ordering::Acquire))
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        Ok(self.shared.compacted.load(Ordering::Acquire))
    }
}
