//! Berth's store: a revisioned key-value store with etcd-like semantics.
//!
//! It is: the [`Store`] trait (get, list at a revision with pagination,
//! create-if-absent, compare-and-swap update and delete, watch from a revision
//! with history replay, compaction), the SQLite backend with group commit,
//! the in-memory watch cache that sits in front of any backend, and the
//! conformance suite every backend must pass.
//!
//! It is not: anything that knows about Kubernetes objects. Keys and values
//! are opaque here; the API server decides what they mean.
//!
//! Entry points: [`SqliteStore::open`] gives a durable backend;
//! [`WatchCache::new`] puts the in-memory cache in front of any backend and is
//! itself a [`Store`]; [`store_conformance_tests!`] runs the conformance suite
//! ([`conformance`]) against a backend. Code map:
//! - `sqlite`: schema (the log table), the writer thread with group commit,
//!   staging of one batch, the read pool and its queries, watch streams;
//! - `cache`: the cached state and ring of events, the sync task (list, watch,
//!   rewatch, relist) and the cache's watch streams;
//! - `conformance`: one case per behaviour, grouped by concern.
//!
//! Invariants every implementation keeps:
//! - one global revision counter, starting at 1 for the first write and
//!   growing by exactly one per successful write (create, update or delete);
//! - a write is acknowledged only once it is durable;
//! - watch events are delivered in revision order, each exactly once per
//!   watcher, with no gap between replayed history and live events.

pub mod cache;
pub mod conformance;
mod error;
pub mod sqlite;

use std::fmt;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

pub use cache::{WatchCache, WatchCacheConfig};
pub use error::StoreError;
pub use sqlite::{SqliteConfig, SqliteStore};

/// A store revision. Revisions are positive; 0 means "none" (for example the
/// revision of an empty store).
pub type Revision = i64;

/// Result type of every store operation.
pub type Result<T> = std::result::Result<T, StoreError>;

/// One stored key at one revision.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    /// The revision that created this key (its current incarnation).
    pub create_revision: Revision,
    /// The revision of the last write to this key.
    pub mod_revision: Revision,
}

impl fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyValue")
            .field("key", &self.key)
            .field("value_len", &self.value.len())
            .field("create_revision", &self.create_revision)
            .field("mod_revision", &self.mod_revision)
            .finish()
    }
}

/// What happened to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The key was created (it did not exist before this revision).
    Create,
    /// An existing key got a new value.
    Update,
    /// The key was deleted. `Event::kv` holds the last value it had, with
    /// `mod_revision` set to the revision of the deletion.
    Delete,
}

/// One change, as delivered by [`Store::watch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// The key's value after the change (for a delete, the value before it).
    /// `kv.mod_revision` is the revision of this event.
    pub kv: KeyValue,
    /// The value before the change, for updates and deletes.
    pub prev: Option<KeyValue>,
}

impl Event {
    pub fn revision(&self) -> Revision {
        self.kv.mod_revision
    }
}

/// What a list asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// List as of this revision; `None` means the latest.
    pub revision: Option<Revision>,
    /// Only keys strictly greater than this one (pagination: the last key of
    /// the previous page).
    pub start_after: Option<String>,
    /// At most this many items; `None` or 0 means all.
    pub limit: Option<usize>,
}

/// One page of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListResult {
    /// The keys under the prefix, in key order.
    pub items: Vec<KeyValue>,
    /// The revision this list was read at.
    pub revision: Revision,
    /// How many more keys (after the last item) exist at that revision.
    pub remaining: usize,
}

/// A stream of watch events. It ends with an error item when the watcher
/// fell too far behind (`StoreError::WatcherLagged`) or the store closed.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<Event>> + Send>>;

/// The storage contract. See the crate documentation for the invariants.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The key's current value, if it exists.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;

    /// The keys that start with `prefix`, as of `opts.revision` (or latest).
    /// Fails with [`StoreError::Compacted`] below the compacted revision and
    /// [`StoreError::FutureRevision`] above the current one.
    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult>;

    /// Creates `key`; fails with [`StoreError::AlreadyExists`] if it exists.
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue>;

    /// Replaces `key`'s value if its `mod_revision` equals `expected`.
    /// Fails with [`StoreError::NotFound`] or [`StoreError::Conflict`].
    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<KeyValue>;

    /// Deletes `key` if its `mod_revision` equals `expected` (any revision when
    /// `expected` is `None`). Returns the deleted value with `mod_revision` set
    /// to the revision of the deletion.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue>;

    /// Events for keys starting with `prefix` whose revision is greater than
    /// `after`: first the history (replayed), then live. Fails with
    /// [`StoreError::Compacted`] when `after` is below the compacted revision.
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream>;

    /// Forgets history at and below `revision`: older revisions can no longer
    /// be listed or watched from. The latest value of each key is kept.
    async fn compact(&self, revision: Revision) -> Result<()>;

    /// The latest revision (0 for an empty store).
    async fn current_revision(&self) -> Result<Revision>;

    /// The revision at and below which history was compacted (0 if never).
    async fn compacted_revision(&self) -> Result<Revision>;
}
