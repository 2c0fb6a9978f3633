//! The watch cache: an in-memory copy of a backend, itself a [`Store`].
//!
//! At start it lists the whole backend and then watches it from the list's
//! revision, keeping the current items and a ring of the most recent events.
//! It serves:
//! - `list` at the latest revision, once it has caught up with the backend's
//!   current revision (so a client reads its own acknowledged writes); if it
//!   does not catch up within [`WatchCacheConfig::catch_up_timeout`], the
//!   backend answers;
//! - `list` at exactly the cache's revision;
//! - `watch` from any revision still in the ring (replay, then live);
//!
//! and hands everything else (other revisions, older watches, writes, `get`,
//! compaction, revisions) to the backend. Events are shared as `Arc<Event>`
//! and values are `Bytes`, so fanning out to many watchers copies no value.

mod state;
mod sync;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::task::AbortHandle;

use self::state::{Shared, Unservable};
use crate::{KeyValue, ListOptions, ListResult, Result, Revision, Store, StoreError, WatchStream};

/// Tuning of a [`WatchCache`].
#[derive(Clone, Debug)]
pub struct WatchCacheConfig {
    /// Recent events kept for watchers that start (or resume) in the past.
    pub event_capacity: usize,
    /// Live events buffered per watcher before it must resume from the ring.
    pub broadcast_capacity: usize,
    /// How long a latest-revision list waits for the cache to catch up with
    /// the backend before asking the backend instead.
    pub catch_up_timeout: Duration,
    /// First delay before retrying a failed backend watch or list; doubles
    /// per failure, up to 64 times this.
    pub retry_backoff: Duration,
}

impl Default for WatchCacheConfig {
    fn default() -> Self {
        WatchCacheConfig {
            event_capacity: 100_000,
            broadcast_capacity: 16_384,
            catch_up_timeout: Duration::from_secs(3),
            retry_backoff: Duration::from_millis(50),
        }
    }
}

/// A [`Store`] answering reads and watches from memory, in front of `S`.
///
/// Invariant: the cache only ever moves forward; everything it serves is the
/// backend's state at some revision, and a watcher it serves sees every event
/// after its start revision exactly once, or ends with an error.
pub struct WatchCache<S: Store> {
    backend: Arc<S>,
    shared: Arc<Shared>,
    sync_task: AbortHandle,
    config: WatchCacheConfig,
}

impl<S: Store> WatchCache<S> {
    /// Lists `backend`, starts watching it, and returns the cache. Must be
    /// called within a tokio runtime (it spawns the sync task).
    pub async fn new(backend: Arc<S>, config: WatchCacheConfig) -> Result<Self> {
        let shared = Arc::new(Shared::new(
            config.event_capacity,
            config.broadcast_capacity,
        ));
        let stream = sync::relist(&*backend, &shared).await?;
        let task = tokio::spawn(sync::run(
            Arc::clone(&backend),
            Arc::clone(&shared),
            stream,
            config.retry_backoff,
        ));
        Ok(WatchCache {
            backend,
            shared,
            sync_task: task.abort_handle(),
            config,
        })
    }

    /// The backend behind the cache.
    pub fn backend(&self) -> &Arc<S> {
        &self.backend
    }

    /// The revision the cache has applied up to.
    pub fn cached_revision(&self) -> Revision {
        self.shared.revision()
    }

    /// Waits (bounded) until the cache has applied `target`.
    async fn catch_up(&self, target: Revision) -> bool {
        let mut revision = self.shared.watch_revision();
        let reached = revision.wait_for(|current| *current >= target);
        matches!(
            tokio::time::timeout(self.config.catch_up_timeout, reached).await,
            Ok(Ok(_))
        )
    }

    async fn check_not_compacted(&self, revision: Revision) -> Result<()> {
        let compacted = self.backend.compacted_revision().await?;
        if revision < compacted {
            return Err(StoreError::Compacted {
                requested: revision,
                compacted,
            });
        }
        Ok(())
    }
}

impl<S: Store> Drop for WatchCache<S> {
    fn drop(&mut self) {
        self.sync_task.abort();
        self.shared.close();
    }
}

#[async_trait]
impl<S: Store> Store for WatchCache<S> {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        self.backend.get(key).await
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        match opts.revision {
            None => {
                let target = self.backend.current_revision().await?;
                if self.catch_up(target).await
                    && let Some(result) = self.shared.list(prefix, &opts)
                {
                    return Ok(result);
                }
                tracing::debug!(
                    target,
                    "watch cache behind its backend; listing the backend"
                );
            }
            Some(revision) => {
                if let Some(result) = self.shared.list(prefix, &opts) {
                    self.check_not_compacted(revision).await?;
                    return Ok(result);
                }
            }
        }
        self.backend.list(prefix, opts).await
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        self.backend.create(key, value).await
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<KeyValue> {
        self.backend.update(key, value, expected).await
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue> {
        self.backend.delete(key, expected).await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        self.check_not_compacted(after).await?;
        match self.shared.subscribe(prefix, after) {
            Ok(subscription) => Ok(watch::stream(
                Arc::clone(&self.shared),
                prefix,
                subscription,
            )),
            Err(Unservable::TooOld) => self.backend.watch(prefix, after).await,
            Err(Unservable::Closed) => Err(StoreError::Closed),
        }
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.backend.compact(revision).await
    }

    async fn current_revision(&self) -> Result<Revision> {
        self.backend.current_revision().await
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        self.backend.compacted_revision().await
    }
}
