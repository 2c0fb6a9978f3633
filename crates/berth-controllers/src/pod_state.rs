//! What controllers need to know about a pod's state: active, ready,
//! available for `minReadySeconds`.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, PodCondition};

/// Not terminating and not finished: counts towards a controller's replicas.
pub fn is_active(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none() && !is_terminal(pod)
}

/// Succeeded or Failed.
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// `status.phase`, or "" when unset.
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn ready_condition(pod: &Pod) -> Option<&PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

/// The `Ready` condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|c| c.status == "True")
}

/// Since when the pod has been ready, if it is.
pub fn ready_since(pod: &Pod) -> Option<Timestamp> {
    let c = ready_condition(pod).filter(|c| c.status == "True")?;
    Some(
        c.last_transition_time
            .as_ref()
            .map_or(Timestamp::UNIX_EPOCH, |t| t.0),
    )
}

/// Ready for at least `min_ready_seconds` at `now`.
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    let Some(since) = ready_since(pod) else {
        return false;
    };
    if min_ready_seconds <= 0 {
        return true;
    }
    since.as_second() + i64::from(min_ready_seconds) <= now.as_second()
}

/// Sum of the containers' restart counts.
pub fn restart_count(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum())
}

/// Drops the parts of a pod no controller reads (images, resources,
/// volumes, probes, container states), keeping labels, owners, node (and
/// required node affinity, which pins DaemonSet pods),
/// tolerations, container names and ports, IPs, conditions and restart
/// counts: a pod store of 10,000 pods then fits the memory budget.
pub fn trim(pod: &mut Pod) {
    pod.metadata.managed_fields = None;
    if let Some(spec) = pod.spec.as_mut() {
        spec.volumes = None;
        spec.init_containers = None;
        // Only a DaemonSet pod's pin to its node (required node affinity) is read.
        spec.affinity = spec.affinity.take().and_then(|a| {
            let required = a
                .node_affinity?
                .required_during_scheduling_ignored_during_execution?;
            Some(k8s_openapi::api::core::v1::Affinity {
                node_affinity: Some(k8s_openapi::api::core::v1::NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(required),
                    ..Default::default()
                }),
                ..Default::default()
            })
        });
        for c in &mut spec.containers {
            *c = k8s_openapi::api::core::v1::Container {
                name: std::mem::take(&mut c.name),
                ports: c.ports.take(),
                ..Default::default()
            };
        }
    }
    if let Some(status) = pod.status.as_mut() {
        status.init_container_statuses = None;
        for cs in status.container_statuses.iter_mut().flatten() {
            cs.state = None;
            cs.last_state = None;
            cs.image = String::new();
            cs.image_id = String::new();
            cs.container_id = None;
        }
    }
}
