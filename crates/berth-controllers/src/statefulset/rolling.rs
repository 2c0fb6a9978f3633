//! RollingUpdate for a StatefulSet, as upstream's
//! `updateStatefulSetAfterInvariantEstablished`: outdated pods are deleted
//! from the highest ordinal down to `partition` (the next pass recreates
//! them at the update revision), so that at most `maxUnavailable` (default
//! 1; a percentage of `replicas`, rounded down, at least 1) replicas are
//! unavailable at once.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;

use super::control::{is_healthy, is_running_and_available};
use super::identity::{self, pod_revision};
use crate::deployment::rolling::scaled_value;

/// `spec.updateStrategy.rollingUpdate.partition` (0 by default).
pub fn partition(set: &StatefulSet) -> i32 {
    set.spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|u| u.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0)
        .max(0)
}

/// `maxUnavailable` resolved against `replicas`: at least 1.
pub fn max_unavailable(set: &StatefulSet) -> i32 {
    let value = set
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|u| u.rolling_update.as_ref())
        .and_then(|r| r.max_unavailable.as_ref());
    match value {
        None => 1,
        v => scaled_value(v, identity::replicas(set), false, 0).max(1),
    }
}

/// The replicas to delete now for the update, highest ordinal first.
pub fn to_delete(
    set: &StatefulSet,
    replicas: &[Option<Arc<Pod>>],
    update_revision: &str,
    min_ready_seconds: i32,
) -> Vec<Arc<Pod>> {
    let unavailable = replicas
        .iter()
        .filter(|slot| {
            slot.as_ref()
                .is_none_or(|p| !is_healthy(p) || !is_running_and_available(p, min_ready_seconds))
        })
        .count() as i32;
    let budget = max_unavailable(set) - unavailable;
    if budget <= 0 {
        return Vec::new();
    }
    let floor = partition(set).min(replicas.len() as i32) as usize;
    replicas[floor..]
        .iter()
        .rev()
        .flatten()
        .filter(|p| pod_revision(p) != update_revision && p.metadata.deletion_timestamp.is_none())
        .take(budget as usize)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(replicas: i32, partition: i32, max_unavailable: serde_json::Value) -> StatefulSet {
        serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "serviceName": "web",
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate":
                    {"partition": partition, "maxUnavailable": max_unavailable}}}
        }))
        .expect("valid set")
    }

    fn pod(ordinal: usize, revision: &str, ready: bool) -> Option<Arc<Pod>> {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": format!("web-{ordinal}"),
                         "labels": {"controller-revision-hash": revision}},
            "status": {"phase": "Running", "conditions": [{"type": "Ready",
                "status": if ready {"True"} else {"False"},
                "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
        }))
        .expect("valid pod");
        Some(Arc::new(pod))
    }

    fn names(pods: Vec<Arc<Pod>>) -> Vec<String> {
        pods.into_iter()
            .map(|p| p.metadata.name.clone().unwrap_or_default())
            .collect()
    }

    #[test]
    fn updates_go_from_the_highest_ordinal_down_to_the_partition() {
        let replicas: Vec<_> = (0..5).map(|i| pod(i, "old", true)).collect();
        let s = set(5, 2, json!(1));
        assert_eq!(names(to_delete(&s, &replicas, "new", 0)), ["web-4"]);
        let mut replicas = replicas;
        replicas[4] = pod(4, "new", true);
        replicas[3] = pod(3, "new", true);
        replicas[2] = pod(2, "new", true);
        assert!(
            to_delete(&s, &replicas, "new", 0).is_empty(),
            "ordinals below the partition stay at the old revision"
        );
    }

    #[test]
    fn max_unavailable_bounds_deletions_and_counts_unready_pods() {
        let mut replicas: Vec<_> = (0..4).map(|i| pod(i, "old", true)).collect();
        let s = set(4, 0, json!("50%"));
        assert_eq!(max_unavailable(&s), 2);
        assert_eq!(
            names(to_delete(&s, &replicas, "new", 0)),
            ["web-3", "web-2"]
        );
        replicas[0] = pod(0, "old", false);
        assert_eq!(names(to_delete(&s, &replicas, "new", 0)), ["web-3"]);
        replicas[1] = None;
        assert!(to_delete(&s, &replicas, "new", 0).is_empty());
        assert_eq!(max_unavailable(&set(4, 0, json!("10%"))), 1, "at least one");
    }
}
