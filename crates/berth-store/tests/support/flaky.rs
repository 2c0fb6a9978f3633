//! A store wrapper whose watches can be broken and refused on demand, to
//! drive the watch cache through its recovery paths.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use berth_store::{
    KeyValue, ListOptions, ListResult, Result, Revision, Store, StoreError, WatchStream,
};
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::watch;

pub struct Flaky<S> {
    inner: S,
    /// Bumped to break every open watch.
    generation: watch::Sender<u64>,
    /// While set, new watches fail.
    refuse: AtomicBool,
}

impl<S: Store> Flaky<S> {
    pub fn new(inner: S) -> Arc<Self> {
        Arc::new(Flaky {
            inner,
            generation: watch::channel(0).0,
            refuse: AtomicBool::new(false),
        })
    }

    /// Ends every open watch with an error.
    pub fn break_watches(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    pub fn refuse_watches(&self, refuse: bool) {
        self.refuse.store(refuse, Ordering::SeqCst);
    }
}

#[async_trait]
impl<S: Store> Store for Flaky<S> {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        self.inner.get(key).await
    }
    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        self.inner.list(prefix, opts).await
    }
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        self.inner.create(key, value).await
    }
    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<KeyValue> {
        self.inner.update(key, value, expected).await
    }
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue> {
        self.inner.delete(key, expected).await
    }
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        let mut broken = self.generation.subscribe();
        broken.mark_unchanged();
        let inner = self.inner.watch(prefix, after).await?;
        let stream = futures::stream::unfold(
            (inner, broken, false),
            |(mut inner, mut broken, done)| async move {
                if done {
                    return None;
                }
                tokio::select! {
                    item = inner.next() => item.map(|item| (item, (inner, broken, false))),
                    _ = broken.changed() => Some((Err(StoreError::WatcherLagged), (inner, broken, true))),
                }
            },
        );
        Ok(stream.boxed())
    }
    async fn compact(&self, revision: Revision) -> Result<()> {
        self.inner.compact(revision).await
    }
    async fn current_revision(&self) -> Result<Revision> {
        self.inner.current_revision().await
    }
    async fn compacted_revision(&self) -> Result<Revision> {
        self.inner.compacted_revision().await
    }
}
