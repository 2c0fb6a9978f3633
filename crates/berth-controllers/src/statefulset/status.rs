//! StatefulSet status, as upstream's `updateStatus` and
//! `completeRollingUpdate`: counts of the claimed pods (replicas = created
//! pods, ready, available for `minReadySeconds`, current and updated by
//! revision, terminating pods excluded from the last two),
//! observedGeneration, the revisions and collisionCount. A rolling update
//! is complete when every pod is updated and ready: the update revision
//! becomes the current one. Conditions are left as they are (upstream's
//! controller sets none).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use super::control::{is_rolling_update, is_running_and_available, is_running_and_ready};
use super::identity::pod_revision;
use super::revision::Revisions;
use crate::Error;

/// The status the set should have given its pods and revisions.
pub fn calculate(set: &StatefulSet, pods: &[Arc<Pod>], revisions: &Revisions) -> StatefulSetStatus {
    let min_ready = set
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let count = |f: &dyn Fn(&Pod) -> bool| pods.iter().filter(|p| f(p)).count() as i32;
    let live_at = |revision: &str| {
        count(&|p| p.metadata.deletion_timestamp.is_none() && pod_revision(p) == revision)
    };
    let old = set.status.clone().unwrap_or_default();
    let mut status = StatefulSetStatus {
        replicas: pods.len() as i32,
        ready_replicas: Some(count(&is_running_and_ready)),
        available_replicas: Some(count(&|p| is_running_and_available(p, min_ready))),
        current_replicas: Some(live_at(revisions.current_name())),
        updated_replicas: Some(live_at(revisions.update_name())),
        current_revision: Some(revisions.current_name().to_string()),
        update_revision: Some(revisions.update_name().to_string()),
        collision_count: Some(revisions.collision_count),
        observed_generation: set.metadata.generation,
        conditions: old.conditions,
    };
    if is_rolling_update(set)
        && status.updated_replicas == Some(status.replicas)
        && status.ready_replicas == Some(status.replicas)
    {
        status.current_replicas = status.updated_replicas;
        status.current_revision = status.update_revision.clone();
    }
    status
}

/// Writes `status` when it differs from what the set has.
pub async fn update(
    client: &Client,
    set: &StatefulSet,
    status: &StatefulSetStatus,
) -> Result<(), Error> {
    if set.status.as_ref() == Some(status) {
        return Ok(());
    }
    let api: Api<StatefulSet> =
        Api::namespaced(client.clone(), &set.namespace().unwrap_or_default());
    let patch = json!({ "status": status });
    match api
        .patch_status(
            &set.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::error::is_not_found(&e) => Ok(()),
        Err(e) => Err(Error::api("updating the status of", set.name_any(), e)),
    }
}

/// When pods are ready but not yet available, when to look again.
pub fn requeue_for_availability(set: &StatefulSet, status: &StatefulSetStatus) -> Option<Duration> {
    let min_ready = set
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    (min_ready > 0 && status.ready_replicas != status.available_replicas)
        .then(|| crate::replicaset::min_ready_requeue(min_ready))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::ControllerRevision;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn revision(name: &str) -> ControllerRevision {
        ControllerRevision {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            data: None,
            revision: 1,
        }
    }

    fn pod(revision: &str, ready: bool) -> Arc<Pod> {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web-0", "labels": {"controller-revision-hash": revision}},
            "status": {"phase": "Running", "conditions": [{"type": "Ready",
                "status": if ready {"True"} else {"False"}}]}
        }))
        .expect("valid pod");
        Arc::new(pod)
    }

    #[test]
    fn a_rolling_update_completes_when_every_pod_is_updated_and_ready() {
        let set: StatefulSet = serde_json::from_value(json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 2, "serviceName": "web",
                "selector": {"matchLabels": {"app": "web"}}, "template": {}}
        }))
        .expect("valid set");
        let revisions = Revisions {
            current: revision("web-old"),
            update: revision("web-new"),
            collision_count: 0,
        };
        let s = calculate(
            &set,
            &[pod("web-old", true), pod("web-new", true)],
            &revisions,
        );
        assert_eq!(
            (s.replicas, s.current_replicas, s.updated_replicas),
            (2, Some(1), Some(1))
        );
        assert_eq!(s.current_revision.as_deref(), Some("web-old"));
        assert_eq!(s.observed_generation, Some(2));
        let s = calculate(
            &set,
            &[pod("web-new", true), pod("web-new", false)],
            &revisions,
        );
        assert_eq!(
            s.current_revision.as_deref(),
            Some("web-old"),
            "one not ready"
        );
        let s = calculate(
            &set,
            &[pod("web-new", true), pod("web-new", true)],
            &revisions,
        );
        assert_eq!(s.current_revision.as_deref(), Some("web-new"));
        assert_eq!(s.current_replicas, Some(2));
    }
}
