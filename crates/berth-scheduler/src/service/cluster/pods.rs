//! Pod watch events: pending pods go to the queue, assigned pods into the
//! snapshot, and both raise the cluster events upstream raises.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher::Event;

use super::{ClusterState, Queue};
use crate::framework::{ActionType, ClusterEvent, EventResource};
use crate::plugins::DEFAULT_SCHEDULER_NAME;
use crate::pod_info::{PodInfo, pod_key};

/// The lifecycle of a pod as the scheduler sees it.
///
/// ```text
/// (watch) ──▶ Pending ──pop, fit──▶ Assumed ──watch shows nodeName──▶ Assigned
///                ▲                     │ binding failed                 │
///                └─────────────────────┘                    (watch) deleted/terminal
/// ```
/// `Ignored` pods (another scheduler's, gated, terminating, finished) are
/// tracked only so that a later update can change that.
#[derive(Debug, Clone)]
pub(crate) enum PodState {
    /// Waiting for a node: queued or in flight.
    Pending(Arc<PodInfo>),
    /// Accounted on a node by this scheduler; binding in flight or not yet observed.
    Assumed,
    /// Bound to a node, as observed through the watch.
    Assigned,
    /// Not this scheduler's business (now).
    Ignored,
}

fn assigned_node(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()?
        .node_name
        .as_deref()
        .filter(|n| !n.is_empty())
}

fn is_finished(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    matches!(phase, Some("Succeeded" | "Failed"))
}

fn has_scheduling_gates(pod: &Pod) -> bool {
    let gates = pod.spec.as_ref().and_then(|s| s.scheduling_gates.as_ref());
    gates.is_some_and(|g| !g.is_empty())
}

fn scheduler_name(pod: &Pod) -> &str {
    let name = pod.spec.as_ref().and_then(|s| s.scheduler_name.as_deref());
    name.filter(|n| !n.is_empty())
        .unwrap_or(DEFAULT_SCHEDULER_NAME)
}

/// True when an update of a pending pod can change a scheduling decision
/// (upstream ignores status-only updates, such as our own condition writes).
fn scheduling_relevant_change(old: &Pod, new: &Pod) -> bool {
    old.spec != new.spec
        || old.metadata.labels != new.metadata.labels
        || old.metadata.annotations != new.metadata.annotations
        || old
            .status
            .as_ref()
            .and_then(|s| s.nominated_node_name.as_ref())
            != new
                .status
                .as_ref()
                .and_then(|s| s.nominated_node_name.as_ref())
}

impl ClusterState {
    pub(super) fn pod_event(&mut self, event: Event<Pod>, queue: &mut Queue) {
        match event {
            Event::Apply(pod) => self.apply_pod(pod, queue),
            Event::InitApply(pod) => {
                self.relist.see("Pod", &pod_key(&pod));
                self.apply_pod(pod, queue);
            }
            Event::Delete(pod) => self.delete_pod(&pod_key(&pod), queue),
            Event::Init => self.relist.begin("Pod"),
            Event::InitDone => {
                let known = self.pods.keys().cloned().collect();
                for key in self.relist.finish("Pod", known) {
                    self.delete_pod(&key, queue);
                }
                self.mark_synced("Pod");
            }
        }
    }

    /// The pod's derived scheduling data, with its priority resolved.
    fn pod_info(&self, mut pod: Pod) -> Option<Arc<PodInfo>> {
        self.priority_classes.resolve(&mut pod);
        match PodInfo::new(Arc::new(pod)) {
            Ok(info) => Some(Arc::new(info)),
            Err(error) => {
                tracing::warn!(%error, "ignoring pod");
                None
            }
        }
    }

    fn apply_pod(&mut self, pod: Pod, queue: &mut Queue) {
        let key = pod_key(&pod);
        if is_finished(&pod) {
            self.delete_pod(&key, queue);
            self.pods.insert(key, PodState::Ignored);
            return;
        }
        match assigned_node(&pod).map(str::to_owned) {
            Some(node) => self.apply_assigned_pod(key, node, pod, queue),
            None => self.apply_unassigned_pod(key, pod, queue),
        }
    }

    fn apply_assigned_pod(&mut self, key: String, node: String, pod: Pod, queue: &mut Queue) {
        let Some(info) = self.pod_info(pod) else {
            return;
        };
        let was_assigned = matches!(self.pods.get(&key), Some(PodState::Assigned));
        queue.delete(&key);
        self.snapshot.add_pod(Arc::clone(&info), &node);
        self.pods.insert(key, PodState::Assigned);
        if !was_assigned {
            let event = ClusterEvent::new(EventResource::AssignedPod, ActionType::ADD);
            queue.assigned_pod_added(&info, &event);
        }
    }

    fn apply_unassigned_pod(&mut self, key: String, pod: Pod, queue: &mut Queue) {
        let ours = self.scheduler_names.contains(scheduler_name(&pod));
        if !ours || has_scheduling_gates(&pod) || pod.metadata.deletion_timestamp.is_some() {
            queue.delete(&key);
            self.pods.insert(key, PodState::Ignored);
            return;
        }
        match self.pods.get(&key) {
            // Our own binding is in flight; the watch has not caught up.
            Some(PodState::Assumed) => return,
            Some(PodState::Pending(old)) if !scheduling_relevant_change(old.pod(), &pod) => return,
            _ => {}
        }
        let Some(info) = self.pod_info(pod) else {
            return;
        };
        if queue.contains(&key) {
            queue.update(Arc::clone(&info));
        } else {
            queue.add(Arc::clone(&info));
        }
        self.pods.insert(key, PodState::Pending(info));
    }

    fn delete_pod(&mut self, key: &str, queue: &mut Queue) {
        queue.delete(key);
        let Some(state) = self.pods.remove(key) else {
            return;
        };
        if let PodState::Assigned | PodState::Assumed = state {
            self.snapshot.remove_pod(key);
            let event = ClusterEvent::new(EventResource::AssignedPod, ActionType::DELETE);
            queue.move_all_to_active_or_backoff(&event);
        }
    }

    /// Accounts a scheduling decision before the binding is written.
    pub fn assume(&mut self, info: &Arc<PodInfo>, node: &str) {
        self.snapshot.add_pod(Arc::clone(info), node);
        self.pods.insert(info.key().to_owned(), PodState::Assumed);
    }

    /// Releases an assumed pod after a failed binding; returns false when
    /// the pod is gone (deleted, or bound by someone else meanwhile).
    pub fn forget(&mut self, info: &Arc<PodInfo>) -> bool {
        match self.pods.get(info.key()) {
            Some(PodState::Assumed) => {
                self.snapshot.remove_pod(info.key());
                self.pods
                    .insert(info.key().to_owned(), PodState::Pending(Arc::clone(info)));
                true
            }
            _ => false,
        }
    }
}
