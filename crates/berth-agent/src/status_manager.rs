//! Pod status writes, coalesced per pod: workers `set` the status they
//! computed; a single writer task sends only the newest one per pod, and
//! nothing when it equals what was last written. A node with 100 busy pods
//! therefore sends at most one write per pod per flush.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::PodStatus;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::pod_api::{PodApi, PodApiError};

/// Writes in flight at once.
const CONCURRENCY: usize = 16;

#[derive(Debug, Clone)]
struct Pending {
    namespace: String,
    name: String,
    status: PodStatus,
}

/// Invariant: a uid is in `pending` only if its status differs from the one
/// in `written` (or none was written yet).
#[derive(Default)]
pub struct StatusManager {
    pending: Mutex<HashMap<String, Pending>>,
    written: Mutex<HashMap<String, PodStatus>>,
    notify: Notify,
}

impl StatusManager {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Queues `status` for pod `uid` (replacing any queued one).
    pub fn set(&self, uid: &str, namespace: &str, name: &str, status: PodStatus) {
        let unchanged = self.written.lock().get(uid) == Some(&status);
        let mut pending = self.pending.lock();
        if unchanged {
            pending.remove(uid);
            return;
        }
        let entry = Pending {
            namespace: namespace.into(),
            name: name.into(),
            status,
        };
        pending.insert(uid.to_string(), entry);
        drop(pending);
        self.notify.notify_one();
    }

    /// The newest status of `uid`, queued or written.
    pub fn latest(&self, uid: &str) -> Option<PodStatus> {
        if let Some(p) = self.pending.lock().get(uid) {
            return Some(p.status.clone());
        }
        self.written.lock().get(uid).cloned()
    }

    /// Forgets a pod that is gone.
    pub fn forget(&self, uid: &str) {
        self.pending.lock().remove(uid);
        self.written.lock().remove(uid);
    }

    /// Writes every queued status; returns how many were written.
    pub async fn flush(&self, api: &dyn PodApi) -> usize {
        let batch: Vec<(String, Pending)> = self.pending.lock().drain().collect();
        let results: Vec<_> = futures::stream::iter(batch)
            .map(|(uid, p)| async move {
                let r = api.patch_status(&p.namespace, &p.name, &p.status).await;
                (uid, p, r)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut written = 0;
        for (uid, p, result) in results {
            match result {
                Ok(()) => {
                    written += 1;
                    self.written.lock().insert(uid, p.status);
                }
                Err(PodApiError::NotFound { .. }) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "pod status write failed; will retry");
                    self.pending.lock().entry(uid).or_insert(p);
                }
            }
        }
        written
    }

    /// Writes queued statuses until cancelled, then flushes once more.
    pub async fn run(self: Arc<Self>, api: Arc<dyn PodApi>, cancel: CancellationToken) {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.notify.notified() => {}
            }
            if self.flush(api.as_ref()).await == 0 && !self.pending.lock().is_empty() {
                // Every write failed: wait a little before trying again.
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                }
                self.notify.notify_one();
            }
        }
        self.flush(api.as_ref()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod_api::FakePodApi;

    fn phase(p: &str) -> PodStatus {
        PodStatus {
            phase: Some(p.into()),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn statuses_of_one_pod_are_coalesced_into_the_newest() {
        let m = StatusManager::new();
        let api = FakePodApi::default();
        m.set("u1", "ns", "a", phase("Pending"));
        m.set("u1", "ns", "a", phase("Running"));
        m.set("u2", "ns", "b", phase("Pending"));
        assert_eq!(m.flush(&api).await, 2);
        assert_eq!(api.statuses("ns", "a"), vec![phase("Running")]);
    }

    #[tokio::test]
    async fn an_unchanged_status_is_not_written_again() {
        let m = StatusManager::new();
        let api = FakePodApi::default();
        m.set("u1", "ns", "a", phase("Running"));
        m.flush(&api).await;
        m.set("u1", "ns", "a", phase("Running"));
        assert_eq!(m.flush(&api).await, 0);
        assert_eq!(api.statuses("ns", "a").len(), 1);
    }
}
