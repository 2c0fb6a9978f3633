//! A budget's status from its pods, and its conflict-checked write.
//!
//! Pure functions of the pods, the budget and `now` (so they are tested
//! without a clock), plus [`update`], a full status PUT carrying the
//! budget's resourceVersion: the eviction subresource decrements the same
//! status, so a stale write must fail with a conflict rather than undo it.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};

use super::DELETION_TIMEOUT;
use super::expected::Counts;
use crate::{Error, pod_state};

/// The DisruptionAllowed condition's type and reasons.
pub const DISRUPTION_ALLOWED: &str = "DisruptionAllowed";
pub const SUFFICIENT_PODS: &str = "SufficientPods";
pub const INSUFFICIENT_PODS: &str = "InsufficientPods";
pub const SYNC_FAILED: &str = "SyncFailed";

/// Upstream's buildDisruptedPodMap: the recorded disruptions still within
/// their deletion deadline (of pods not yet being deleted), and the
/// earliest such deadline.
pub fn disrupted_pods(
    pdb: &PodDisruptionBudget,
    pods: &[Arc<Pod>],
    now: Timestamp,
) -> (BTreeMap<String, Time>, Option<Timestamp>) {
    let mut out = BTreeMap::new();
    let mut recheck: Option<Timestamp> = None;
    let Some(recorded) = pdb.status.as_ref().and_then(|s| s.disrupted_pods.as_ref()) else {
        return (out, recheck);
    };
    for pod in pods {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = pod.name_any();
        let Some(at) = recorded.get(&name) else {
            continue;
        };
        let deadline = at.0 + DELETION_TIMEOUT;
        if deadline < now {
            tracing::info!(pod = %name, pdb = %pdb.name_any(), "pod was expected to be deleted but was not");
            continue;
        }
        recheck = Some(recheck.map_or(deadline, |r| r.min(deadline)));
        out.insert(name, at.clone());
    }
    (out, recheck)
}

/// Upstream's countHealthyPods: ready, not being deleted, not about to be.
pub fn count_healthy(pods: &[Arc<Pod>], disrupted: &BTreeMap<String, Time>, now: Timestamp) -> i32 {
    let healthy = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            disrupted
                .get(&p.name_any())
                .is_none_or(|at| at.0 + DELETION_TIMEOUT <= now)
        })
        .filter(|p| pod_state::is_ready(p))
        .count();
    i32::try_from(healthy).unwrap_or(i32::MAX)
}

/// The new status (upstream's updatePdbStatus).
pub fn calculate(
    pdb: &PodDisruptionBudget,
    current_healthy: i32,
    counts: Counts,
    disrupted: BTreeMap<String, Time>,
    now: Timestamp,
) -> PodDisruptionBudgetStatus {
    let mut allowed = current_healthy - counts.desired_healthy;
    if counts.expected <= 0 || allowed <= 0 {
        allowed = 0;
    }
    let mut status = PodDisruptionBudgetStatus {
        current_healthy,
        desired_healthy: counts.desired_healthy,
        expected_pods: counts.expected,
        disruptions_allowed: allowed,
        disrupted_pods: Some(disrupted),
        observed_generation: pdb.metadata.generation,
        conditions: pdb.status.as_ref().and_then(|s| s.conditions.clone()),
    };
    let (state, reason) = if allowed > 0 {
        ("True", SUFFICIENT_PODS)
    } else {
        ("False", INSUFFICIENT_PODS)
    };
    set_condition(&mut status, state, reason, String::new(), now);
    status
}

/// Upstream's failSafe: nothing may be disrupted while the status is unknown.
pub fn failed(
    pdb: &PodDisruptionBudget,
    message: &str,
    now: Timestamp,
) -> PodDisruptionBudgetStatus {
    let mut status = pdb.status.clone().unwrap_or_default();
    status.disruptions_allowed = 0;
    set_condition(&mut status, "False", SYNC_FAILED, message.to_string(), now);
    status
}

/// Sets the DisruptionAllowed condition, keeping its transition time when
/// the status does not change (as apimachinery's SetStatusCondition).
fn set_condition(
    status: &mut PodDisruptionBudgetStatus,
    state: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) {
    let conds = status.conditions.get_or_insert_with(Vec::new);
    let previous = conds.iter().find(|c| c.type_ == DISRUPTION_ALLOWED);
    let last_transition_time = match previous {
        Some(c) if c.status == state => c.last_transition_time.clone(),
        _ => Time(now),
    };
    let cond = Condition {
        type_: DISRUPTION_ALLOWED.into(),
        status: state.into(),
        reason: reason.into(),
        message,
        observed_generation: status.observed_generation,
        last_transition_time,
    };
    conds.retain(|c| c.type_ != DISRUPTION_ALLOWED);
    conds.push(cond);
}

fn unchanged(old: &PodDisruptionBudgetStatus, new: &PodDisruptionBudgetStatus) -> bool {
    let disrupted = |s: &PodDisruptionBudgetStatus| s.disrupted_pods.clone().unwrap_or_default();
    old.current_healthy == new.current_healthy
        && old.desired_healthy == new.desired_healthy
        && old.expected_pods == new.expected_pods
        && old.disruptions_allowed == new.disruptions_allowed
        && old.observed_generation == new.observed_generation
        && disrupted(old) == disrupted(new)
        && old.conditions == new.conditions
}

/// Writes `status` unless it is what the budget already says; a stale
/// budget fails with 409 and is synced again.
pub async fn update(
    client: &Client,
    pdb: &PodDisruptionBudget,
    status: PodDisruptionBudgetStatus,
) -> Result<(), Error> {
    if pdb
        .status
        .as_ref()
        .is_some_and(|old| unchanged(old, &status))
    {
        return Ok(());
    }
    let mut new = pdb.clone();
    new.metadata.managed_fields = None;
    new.status = Some(status);
    let api: Api<PodDisruptionBudget> =
        Api::namespaced(client.clone(), &pdb.namespace().unwrap_or_default());
    match api
        .replace_status(&pdb.name_any(), &PostParams::default(), &new)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::error::is_not_found(&e) => Ok(()),
        Err(e) => Err(Error::api("updating the status of", pdb.name_any(), e)),
    }
}

#[cfg(test)]
mod tests;
