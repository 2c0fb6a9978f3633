//! Upstream's `manage`: per node, which daemon pods to create and delete so
//! that every eligible node runs one (failed and succeeded pods replaced,
//! surplus pods removed keeping the oldest, pods on ineligible nodes
//! removed). Pure: it returns a [`Plan`]; [`super::sync_nodes`] carries it out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Pod};

use super::backoff::Backoff;
use super::eligibility::DaemonPod;
use super::pods::{NodePods, oldest_first};
use super::revisions::CONTROLLER_REVISION_HASH;
use crate::events::EventType;
use crate::pod_state;

/// What one sync should do.
#[derive(Debug, Default)]
pub struct Plan {
    /// Nodes to create a daemon pod on.
    pub create_on: Vec<String>,
    /// Pods to delete.
    pub delete: Vec<Arc<Pod>>,
    /// Events to record on the DaemonSet (type, reason, message).
    pub events: Vec<(EventType, &'static str, String)>,
    /// Look again after this long (a failed pod waiting out its backoff).
    pub requeue_after: Option<Duration>,
}

impl Plan {
    fn requeue(&mut self, after: Duration) {
        self.requeue_after = Some(self.requeue_after.map_or(after, |d| d.min(after)));
    }
}

/// Everything `manage` reads about one DaemonSet.
pub struct Manage<'a> {
    pub daemon_pod: &'a DaemonPod,
    pub hash: &'a str,
    pub surge: bool,
    pub min_ready_seconds: i32,
    /// `uid/observedGeneration`, the prefix of the backoff keys.
    pub backoff_prefix: String,
    pub backoff: &'a Backoff,
    pub now: Instant,
}

impl Manage<'_> {
    /// The plan over every node, plus unbound pods pinned to vanished nodes.
    pub fn plan(&self, nodes: &[Arc<Node>], by_node: &NodePods) -> Plan {
        let mut plan = Plan::default();
        for node in nodes {
            self.node(node, by_node, &mut plan);
        }
        for (name, pods) in by_node {
            if !nodes.iter().any(|n| n.metadata.name.as_ref() == Some(name)) {
                let unbound = pods.iter().filter(|p| {
                    p.spec
                        .as_ref()
                        .and_then(|s| s.node_name.as_deref())
                        .is_none_or(str::is_empty)
                });
                plan.delete.extend(unbound.cloned());
            }
        }
        plan
    }

    /// Upstream's podsShouldBeOnNode.
    fn node(&self, node: &Node, by_node: &NodePods, plan: &mut Plan) {
        let name = node.metadata.name.clone().unwrap_or_default();
        let placement = self.daemon_pod.placement(node);
        let pods = by_node.get(&name);
        match pods {
            None if placement.should_run => plan.create_on.push(name),
            Some(pods) if placement.should_continue_running => {
                let running = self.running(&name, pods, plan);
                self.prune(&name, running, placement.should_run, plan);
            }
            Some(pods) if !placement.should_continue_running => {
                let live = pods
                    .iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none());
                plan.delete.extend(live.cloned());
            }
            _ => {}
        }
    }

    /// The live, unfinished pods of a node; finished ones go into the plan.
    fn running(&self, node: &str, pods: &[Arc<Pod>], plan: &mut Plan) -> Vec<Arc<Pod>> {
        let mut running = Vec::new();
        for pod in pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
        {
            let who = format!(
                "{}/{}",
                pod.metadata.namespace.as_deref().unwrap_or_default(),
                pod.metadata.name.as_deref().unwrap_or_default()
            );
            match pod_state::phase(pod) {
                "Failed" => {
                    let key = format!("{}/{node}", self.backoff_prefix);
                    if let Some(wait) = self.backoff.waiting(&key, self.now) {
                        plan.requeue(wait);
                        continue;
                    }
                    self.backoff.next(&key, self.now);
                    let msg = format!(
                        "Found failed daemon pod {who} on node {node}, will try to kill it"
                    );
                    plan.events
                        .push((EventType::Warning, "FailedDaemonPod", msg));
                    plan.delete.push(pod.clone());
                }
                "Succeeded" => {
                    let msg = format!(
                        "Found succeeded daemon pod {who} on node {node}, will try to delete it"
                    );
                    plan.events
                        .push((EventType::Normal, "SucceededDaemonPod", msg));
                    plan.delete.push(pod.clone());
                }
                _ => running.push(pod.clone()),
            }
        }
        running
    }

    /// Without surge: keep the oldest. With surge: keep the oldest pod of
    /// each revision, and of those two only the new one once it is
    /// available (or once the old one is not ready).
    fn prune(&self, node: &str, mut running: Vec<Arc<Pod>>, should_run: bool, plan: &mut Plan) {
        if running.len() <= 1 {
            if running.is_empty() && should_run && self.surge {
                plan.create_on.push(node.to_string());
            }
            return;
        }
        oldest_first(&mut running);
        if !self.surge {
            plan.delete.extend(running.into_iter().skip(1));
            return;
        }
        let (mut newest, mut oldest_old) = (None, None);
        for pod in running {
            let is_new = pod
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(CONTROLLER_REVISION_HASH))
                .is_some_and(|h| h == self.hash);
            let slot = if is_new { &mut newest } else { &mut oldest_old };
            if slot.is_none() {
                *slot = Some(pod);
            } else {
                plan.delete.push(pod);
            }
        }
        if let (Some(new), Some(old)) = (newest, oldest_old) {
            let now = Timestamp::now();
            if !pod_state::is_ready(&old)
                || pod_state::is_available(&new, self.min_ready_seconds, now)
            {
                plan.delete.push(old);
            }
        }
    }
}
