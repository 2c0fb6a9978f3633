//! DaemonSet status, as upstream's `updateDaemonSetStatus`: per node that
//! should run the daemon pod, whether one is scheduled, ready, available
//! and updated (judging the oldest pod of the node); pods on nodes that
//! should not run one are misscheduled.

use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use super::eligibility::DaemonPod;
use super::pods::{NodePods, oldest_first};
use super::rolling::is_updated;
use crate::{Error, pod_state};

/// The counts for `ds` given its pods by node.
pub fn calculate(
    ds: &DaemonSet,
    daemon_pod: &DaemonPod,
    nodes: &[Arc<Node>],
    by_node: &NodePods,
    hash: &str,
    generation: Option<&str>,
) -> DaemonSetStatus {
    let now = Timestamp::now();
    let min_ready = ds
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let mut s = DaemonSetStatus::default();
    let (mut available, mut updated) = (0, 0);
    for node in nodes {
        let pods = by_node
            .get(node.metadata.name.as_deref().unwrap_or_default())
            .filter(|p| !p.is_empty());
        if !daemon_pod.placement(node).should_run {
            s.number_misscheduled += i32::from(pods.is_some());
            continue;
        }
        s.desired_number_scheduled += 1;
        let Some(pods) = pods else { continue };
        s.current_number_scheduled += 1;
        let mut pods = pods.clone();
        oldest_first(&mut pods);
        let pod = &pods[0];
        if pod_state::is_ready(pod) {
            s.number_ready += 1;
            available += i32::from(pod_state::is_available(pod, min_ready, now));
        }
        updated += i32::from(is_updated(pod, hash, generation));
    }
    s.number_available = Some(available);
    s.number_unavailable = Some(s.desired_number_scheduled - available);
    s.updated_number_scheduled = Some(updated);
    s
}

fn same_counts(a: &DaemonSetStatus, b: &DaemonSetStatus) -> bool {
    let n = |v: Option<i32>| v.unwrap_or(0);
    a.desired_number_scheduled == b.desired_number_scheduled
        && a.current_number_scheduled == b.current_number_scheduled
        && a.number_misscheduled == b.number_misscheduled
        && a.number_ready == b.number_ready
        && n(a.updated_number_scheduled) == n(b.updated_number_scheduled)
        && n(a.number_available) == n(b.number_available)
        && n(a.number_unavailable) == n(b.number_unavailable)
}

/// Writes the counts (and `observedGeneration` when `observed`, and the
/// collision count) unless the DaemonSet already has them.
pub async fn store(
    client: &Client,
    ds: &DaemonSet,
    counts: &DaemonSetStatus,
    observed: bool,
    collision_count: Option<i32>,
) -> Result<(), Error> {
    let old = ds.status.clone().unwrap_or_default();
    let generation = ds.metadata.generation.unwrap_or(0);
    if same_counts(&old, counts)
        && old.observed_generation.unwrap_or(0) >= generation
        && old.collision_count == collision_count
    {
        return Ok(());
    }
    let mut status = json!({
        "desiredNumberScheduled": counts.desired_number_scheduled,
        "currentNumberScheduled": counts.current_number_scheduled,
        "numberMisscheduled": counts.number_misscheduled,
        "numberReady": counts.number_ready,
        "updatedNumberScheduled": counts.updated_number_scheduled,
        "numberAvailable": counts.number_available,
        "numberUnavailable": counts.number_unavailable,
    });
    if observed {
        status["observedGeneration"] = json!(generation);
    }
    if collision_count.is_some() {
        status["collisionCount"] = json!(collision_count);
    }
    let api: Api<DaemonSet> = Api::namespaced(client.clone(), &ds.namespace().unwrap_or_default());
    let patch = Patch::Merge(json!({"status": status}));
    match api
        .patch_status(&ds.name_any(), &PatchParams::default(), &patch)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::error::is_not_found(&e) => Ok(()),
        Err(e) => Err(Error::api("updating the status of", ds.name_any(), e)),
    }
}
