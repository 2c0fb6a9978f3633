//! What wakes a DaemonSet up: its own changes, its pods' (which also feed
//! the pod index and the expectations), its revisions', and node changes
//! that alter where its pod may run.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

use super::eligibility::DaemonPod;
use super::expectations::Expectations;
use super::key;
use super::pods::PodIndex;
use crate::controller_ref::controller_of;
use crate::informer::Change;
use crate::workqueue::Queue;

/// The name of the DaemonSet controlling `meta`, if one does.
fn owner(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<String> {
    controller_of(meta)
        .filter(|r| r.kind == "DaemonSet")
        .map(|r| r.name.clone())
}

/// Everything the pod handler touches.
pub struct PodHandler {
    pub queue: Queue<DaemonSet>,
    pub expectations: Arc<Expectations>,
    pub index: Arc<PodIndex>,
    pub daemon_sets: Store<DaemonSet>,
}

impl PodHandler {
    pub fn handle(&self, change: &Change<'_, Pod>) {
        let pod = change.object();
        let ns = pod.namespace().unwrap_or_default();
        let uid = pod.uid().unwrap_or_default();
        let owner = owner(&pod.metadata);
        match change {
            Change::Deleted(_) => {
                self.index.deleted(pod);
                if let Some(ds) = &owner {
                    self.expectations.deletion_observed(&key(&ns, ds), &uid);
                }
            }
            Change::Applied { old, new } => {
                self.index.applied(old.as_deref(), new);
                self.observe(old.as_deref(), new, owner.as_deref(), &ns, &uid);
                let old_owner = old.as_deref().and_then(owner_of_pod);
                if let Some(old_owner) = old_owner.filter(|o| Some(o) != owner.as_ref()) {
                    self.queue.add_named(Some(&ns), &old_owner);
                }
                if owner.is_none() && controller_of(&new.metadata).is_none() {
                    self.enqueue_matching(new);
                }
            }
        }
        if let Some(ds) = owner {
            self.queue.add_named(Some(&ns), &ds);
        }
    }

    fn observe(&self, old: Option<&Pod>, new: &Pod, owner: Option<&str>, ns: &str, uid: &str) {
        let Some(ds) = owner else { return };
        let k = key(ns, ds);
        let terminating = new.metadata.deletion_timestamp.is_some();
        match old {
            None if terminating => self.expectations.deletion_observed(&k, uid),
            None => self.expectations.creation_observed(&k),
            Some(o) if terminating && o.metadata.deletion_timestamp.is_none() => {
                self.expectations.deletion_observed(&k, uid);
            }
            Some(_) => {}
        }
    }

    /// An orphan: every DaemonSet of its namespace whose selector matches.
    fn enqueue_matching(&self, pod: &Pod) {
        let ns = pod.namespace();
        for ds in self.daemon_sets.state() {
            if ds.namespace() != ns {
                continue;
            }
            let selector = ds.spec.as_ref().map(|s| &s.selector);
            if selector
                .and_then(|s| berth_api::LabelSelector::from_meta(s).ok())
                .is_some_and(|s| !s.is_empty() && s.matches(pod.labels()))
            {
                self.queue.add(ObjectRef::from_obj(&*ds));
            }
        }
    }
}

fn owner_of_pod(pod: &Pod) -> Option<String> {
    owner(&pod.metadata)
}

/// A revision changed: its DaemonSet looks again.
pub fn on_revision(change: &Change<'_, ControllerRevision>, queue: &Queue<DaemonSet>) {
    let r = change.object();
    if let Some(ds) = owner(&r.metadata) {
        queue.add_named(r.namespace().as_deref(), &ds);
    }
}

/// Only a node's name, labels and taints decide placement.
fn placement_inputs_equal(a: &Node, b: &Node) -> bool {
    let taints = |n: &Node| n.spec.as_ref().and_then(|s| s.taints.clone());
    a.metadata.name == b.metadata.name
        && a.metadata.labels == b.metadata.labels
        && taints(a) == taints(b)
}

/// A node appeared, changed or went away: every DaemonSet whose placement
/// on it is (or was) affected looks again.
pub fn on_node(
    change: &Change<'_, Node>,
    queue: &Queue<DaemonSet>,
    daemon_sets: &Store<DaemonSet>,
) {
    let (old, new): (Option<&Node>, &Node) = match change {
        Change::Applied {
            old: Some(old),
            new,
        } => {
            if placement_inputs_equal(old, new) {
                return;
            }
            (Some(old), new)
        }
        Change::Applied { old: None, new } => (None, new),
        Change::Deleted(node) => (None, node),
    };
    for ds in daemon_sets.state() {
        let daemon_pod = DaemonPod::of(&ds);
        let now = daemon_pod.placement(new);
        let wake = match old {
            Some(old) => daemon_pod.placement(old) != now,
            None => now.should_run,
        };
        if wake {
            queue.add(ObjectRef::from_obj(&*ds));
        }
    }
}
