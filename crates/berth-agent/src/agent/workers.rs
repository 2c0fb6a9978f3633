//! The pod workers of a node, by pod UID: started on the first event of a
//! pod, fed its later events, forgotten when finished. After each full
//! relist, pods that vanished are removed and runtime sandboxes of pods the
//! API no longer knows (deleted while the agent was down) are torn down.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::pleg::Wakers;
use crate::pod_worker::{LABEL_NODE, LABEL_POD_UID, PodEvent, PodWorker, WorkerContext};

struct Handle {
    events: mpsc::UnboundedSender<PodEvent>,
    task: JoinHandle<()>,
}

pub struct Workers {
    ctx: Arc<WorkerContext>,
    cancel: CancellationToken,
    handles: HashMap<String, Handle>,
    wakers: Wakers,
    /// UIDs seen since the current relist began.
    relist: Option<HashSet<String>>,
}

fn uid(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

fn terminal(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    matches!(phase, Some("Succeeded" | "Failed")) && pod.metadata.deletion_timestamp.is_none()
}

impl Workers {
    pub fn new(ctx: Arc<WorkerContext>, cancel: CancellationToken) -> Self {
        Self {
            ctx,
            cancel,
            handles: HashMap::new(),
            wakers: Wakers::default(),
            relist: None,
        }
    }

    pub fn wakers(&self) -> Wakers {
        self.wakers.clone()
    }

    pub fn apply(&mut self, pod: Pod) {
        let uid = uid(&pod);
        if let Some(seen) = self.relist.as_mut() {
            seen.insert(uid.clone());
        }
        self.handles.retain(|_, h| !h.task.is_finished());
        if let Some(h) = self.handles.get(&uid) {
            let _ = h.events.send(PodEvent::Updated(Box::new(pod)));
            return;
        }
        if terminal(&pod) {
            return;
        }
        let wake = Arc::new(Notify::new());
        self.wakers.lock().insert(uid.clone(), wake.clone());
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = PodWorker::new(self.ctx.clone(), pod, wake);
        let wakers = self.wakers.clone();
        let cancel = self.cancel.clone();
        let key = uid.clone();
        let task = tokio::spawn(async move {
            worker.run(rx, cancel).await;
            wakers.lock().remove(&key);
        });
        self.handles.insert(uid, Handle { events: tx, task });
    }

    pub fn delete(&mut self, pod: &Pod) {
        if let Some(h) = self.handles.get(&uid(pod)) {
            let _ = h.events.send(PodEvent::Removed);
        }
    }

    pub fn begin_relist(&mut self) {
        self.relist = Some(HashSet::new());
    }

    pub async fn end_relist(&mut self) {
        let Some(seen) = self.relist.take() else {
            return;
        };
        for (uid, h) in &self.handles {
            if !seen.contains(uid) {
                let _ = h.events.send(PodEvent::Removed);
            }
        }
        let ctx = self.ctx.clone();
        let known: HashSet<String> = seen
            .into_iter()
            .chain(self.handles.keys().cloned())
            .collect();
        tokio::spawn(async move { remove_orphans(&ctx, &known).await });
    }
}

/// Stops and removes sandboxes of this node whose pod is unknown.
async fn remove_orphans(ctx: &WorkerContext, known: &HashSet<String>) {
    let Ok(sandboxes) = ctx.runtime.list_pod_sandboxes().await else {
        return;
    };
    let containers = ctx.runtime.list_containers().await.unwrap_or_default();
    for sb in sandboxes {
        let ours = sb.labels.get(LABEL_NODE) == Some(&ctx.node_name);
        let Some(pod_uid) = sb.labels.get(LABEL_POD_UID) else {
            continue;
        };
        if !ours || known.contains(pod_uid) {
            continue;
        }
        tracing::info!(
            sandbox = sb.id,
            uid = pod_uid,
            "removing the sandbox of a pod that no longer exists"
        );
        for c in containers.iter().filter(|c| c.pod_sandbox_id == sb.id) {
            let _ = ctx
                .runtime
                .stop_container(&c.id, Duration::from_secs(30))
                .await;
            let _ = ctx.runtime.remove_container(&c.id).await;
        }
        let _ = ctx.runtime.stop_pod_sandbox(&sb.id).await;
        let _ = ctx.runtime.remove_pod_sandbox(&sb.id).await;
    }
}
