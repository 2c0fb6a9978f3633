//! ReplicaSet status: counts of the claimed active pods, observedGeneration,
//! and the ReplicaFailure condition while creating or deleting fails.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::{Error, pod_state};

/// The status the ReplicaSet should have given its pods and the last
/// manage error.
pub fn calculate(
    rs: &ReplicaSet,
    pods: &[Arc<Pod>],
    manage_error: Option<&Error>,
) -> ReplicaSetStatus {
    let now = Timestamp::now();
    let spec = rs.spec.as_ref();
    let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let template_labels = spec
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let count = |f: &dyn Fn(&Pod) -> bool| pods.iter().filter(|p| f(p)).count() as i32;
    let old = rs.status.clone().unwrap_or_default();
    ReplicaSetStatus {
        replicas: pods.len() as i32,
        fully_labeled_replicas: Some(count(&|p| {
            template_labels
                .iter()
                .all(|(k, v)| p.labels().get(k) == Some(v))
        })),
        ready_replicas: Some(count(&pod_state::is_ready)),
        available_replicas: Some(count(&|p| pod_state::is_available(p, min_ready, now))),
        observed_generation: rs.metadata.generation,
        conditions: failure_conditions(old.conditions.unwrap_or_default(), manage_error, now),
        terminating_replicas: old.terminating_replicas,
    }
}

fn failure_conditions(
    mut conditions: Vec<ReplicaSetCondition>,
    manage_error: Option<&Error>,
    now: Timestamp,
) -> Option<Vec<ReplicaSetCondition>> {
    let has = conditions.iter().any(|c| c.type_ == "ReplicaFailure");
    match manage_error {
        Some(e) if !has => {
            let reason = if e.to_string().starts_with("deleting") {
                "FailedDelete"
            } else {
                "FailedCreate"
            };
            conditions.push(ReplicaSetCondition {
                type_: "ReplicaFailure".into(),
                status: "True".into(),
                reason: Some(reason.into()),
                message: Some(e.to_string()),
                last_transition_time: Some(Time(now)),
            });
        }
        Some(_) => {}
        None => conditions.retain(|c| c.type_ != "ReplicaFailure"),
    }
    (!conditions.is_empty()).then_some(conditions)
}

fn same(a: &ReplicaSetStatus, b: &ReplicaSetStatus) -> bool {
    let n = |v: Option<i32>| v.unwrap_or(0);
    a.replicas == b.replicas
        && n(a.fully_labeled_replicas) == n(b.fully_labeled_replicas)
        && n(a.ready_replicas) == n(b.ready_replicas)
        && n(a.available_replicas) == n(b.available_replicas)
        && a.observed_generation == b.observed_generation
        && a.conditions == b.conditions
}

/// Writes `status` when it differs from what the ReplicaSet has.
pub async fn update(
    client: &Client,
    rs: &ReplicaSet,
    status: ReplicaSetStatus,
) -> Result<(), Error> {
    if rs.status.as_ref().is_some_and(|old| same(old, &status)) {
        return Ok(());
    }
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), &rs.namespace().unwrap_or_default());
    let mut body = serde_json::to_value(&status).map_err(|e| Error::Invalid {
        object: rs.name_any(),
        message: e.to_string(),
    })?;
    if status.conditions.is_none() {
        body["conditions"] = serde_json::Value::Null;
    }
    let patch = json!({ "status": body });
    match api
        .patch_status(
            &rs.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::error::is_not_found(&e) => Ok(()),
        Err(e) => Err(Error::api("updating the status of", rs.name_any(), e)),
    }
}

/// When some pods are ready but not yet available, when to look again.
pub fn requeue_for_availability(rs: &ReplicaSet, status: &ReplicaSetStatus) -> Option<Duration> {
    let min_ready = rs
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let ready = status.ready_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    (min_ready > 0 && ready > available).then(|| super::min_ready_requeue(min_ready))
}
