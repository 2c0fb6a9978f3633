//! Which pods a ReplicaSet deletes first when scaling down, as upstream's
//! `ActivePodsWithRanks`: unassigned before assigned; Pending before Unknown
//! before Running; not ready before ready; more pods of this ReplicaSet on
//! the same node before fewer; ready for less time before longer; more
//! restarts before fewer; newer before older.

use std::cmp::{Ordering, Reverse};
use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use crate::pod_state;

fn node_name(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

fn phase_rank(pod: &Pod) -> u8 {
    match pod_state::phase(pod) {
        "Pending" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    }
}

/// The `count` pods to delete first, in deletion order.
pub fn pods_to_delete(pods: &[Arc<Pod>], count: usize) -> Vec<Arc<Pod>> {
    let mut per_node: HashMap<&str, usize> = HashMap::new();
    for p in pods {
        *per_node.entry(node_name(p)).or_default() += 1;
    }
    let mut ranked: Vec<&Arc<Pod>> = pods.iter().collect();
    ranked.sort_by(|a, b| {
        let colocated = |p: &Pod| {
            if node_name(p).is_empty() {
                0
            } else {
                per_node[node_name(p)]
            }
        };
        deletion_order(a, b, colocated(a), colocated(b))
    });
    ranked.into_iter().take(count).cloned().collect()
}

/// Less means "delete first".
fn deletion_order(a: &Pod, b: &Pod, rank_a: usize, rank_b: usize) -> Ordering {
    let assigned = |p: &Pod| !node_name(p).is_empty();
    assigned(a)
        .cmp(&assigned(b))
        .then_with(|| phase_rank(a).cmp(&phase_rank(b)))
        .then_with(|| pod_state::is_ready(a).cmp(&pod_state::is_ready(b)))
        .then_with(|| Reverse(rank_a).cmp(&Reverse(rank_b)))
        .then_with(|| {
            // Both ready: the one ready for less time goes first.
            Reverse(pod_state::ready_since(a)).cmp(&Reverse(pod_state::ready_since(b)))
        })
        .then_with(|| {
            Reverse(pod_state::restart_count(a)).cmp(&Reverse(pod_state::restart_count(b)))
        })
        .then_with(|| {
            let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
            Reverse(created(a)).cmp(&Reverse(created(b)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, node: &str, phase: &str, ready: bool, created: &str) -> Arc<Pod> {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "creationTimestamp": created},
            "spec": {"nodeName": node, "containers": []},
            "status": {"phase": phase, "conditions": [
                {"type": "Ready", "status": if ready {"True"} else {"False"},
                 "lastTransitionTime": created}]}
        }))
        .expect("valid pod");
        Arc::new(pod)
    }

    fn names(pods: &[Arc<Pod>]) -> Vec<String> {
        pods.iter()
            .map(|p| p.metadata.name.clone().unwrap_or_default())
            .collect()
    }

    #[test]
    fn scale_down_deletes_unscheduled_then_pending_then_not_ready_then_newest() {
        let pods = vec![
            pod("old-ready", "n1", "Running", true, "2024-01-01T00:00:00Z"),
            pod("new-ready", "n2", "Running", true, "2024-01-02T00:00:00Z"),
            pod("not-ready", "n3", "Running", false, "2024-01-01T00:00:00Z"),
            pod("pending", "n4", "Pending", false, "2024-01-01T00:00:00Z"),
            pod("unscheduled", "", "Pending", false, "2024-01-01T00:00:00Z"),
        ];
        assert_eq!(
            names(&pods_to_delete(&pods, 5)),
            [
                "unscheduled",
                "pending",
                "not-ready",
                "new-ready",
                "old-ready"
            ]
        );
    }

    #[test]
    fn scale_down_prefers_pods_doubled_up_on_a_node() {
        let pods = vec![
            pod("alone", "n1", "Running", true, "2024-01-03T00:00:00Z"),
            pod("pair-a", "n2", "Running", true, "2024-01-01T00:00:00Z"),
            pod("pair-b", "n2", "Running", true, "2024-01-01T00:00:00Z"),
        ];
        assert_ne!(names(&pods_to_delete(&pods, 1)), ["alone"]);
    }
}
