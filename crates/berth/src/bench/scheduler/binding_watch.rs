//! The measuring side of `berth bench scheduler`: a watch on the bench
//! namespace that notes when the last expected pod is first seen bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use tokio::sync::oneshot;

use super::workload::NAMESPACE;

/// Counts pods of the bench namespace seen with `spec.nodeName` set.
pub struct BindingWatch {
    done: oneshot::Receiver<Instant>,
    count: Arc<AtomicUsize>,
}

impl BindingWatch {
    pub async fn start(client: &Client, expected: usize) -> Result<Self> {
        let api: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
        let rv = api
            .list(&ListParams::default().limit(1))
            .await?
            .metadata
            .resource_version
            .unwrap_or_default();
        let count = Arc::new(AtomicUsize::new(0));
        let (tx, done) = oneshot::channel();
        let seen_count = Arc::clone(&count);
        tokio::spawn(async move {
            let mut seen = vec![false; expected];
            let mut rv = rv;
            let mut tx = Some(tx);
            loop {
                let Ok(stream) = api.watch(&WatchParams::default().timeout(290), &rv).await else {
                    return;
                };
                let mut stream = stream.boxed();
                while let Ok(Some(event)) = stream.try_next().await {
                    let pod = match event {
                        WatchEvent::Added(pod) | WatchEvent::Modified(pod) => pod,
                        WatchEvent::Bookmark(b) => {
                            rv = b.metadata.resource_version;
                            continue;
                        }
                        _ => continue,
                    };
                    rv = pod.metadata.resource_version.clone().unwrap_or_default();
                    let bound = pod
                        .spec
                        .as_ref()
                        .and_then(|s| s.node_name.as_ref())
                        .is_some();
                    let index = pod
                        .metadata
                        .name
                        .as_deref()
                        .and_then(|n| n.strip_prefix("pod-"))
                        .and_then(|n| n.parse::<usize>().ok());
                    if let (true, Some(i)) = (bound, index)
                        && i < expected
                        && !seen[i]
                    {
                        seen[i] = true;
                        let n = seen_count.fetch_add(1, Ordering::Relaxed) + 1;
                        if n == expected
                            && let Some(tx) = tx.take()
                        {
                            let _ = tx.send(Instant::now());
                            return;
                        }
                    }
                }
            }
        });
        Ok(Self { done, count })
    }

    /// When the last expected binding was seen, or None on timeout.
    pub async fn wait(&mut self, timeout: Duration) -> Option<Instant> {
        tokio::time::timeout(timeout, &mut self.done)
            .await
            .ok()?
            .ok()
    }

    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}
