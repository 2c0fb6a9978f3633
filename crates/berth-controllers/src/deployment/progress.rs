//! Deployment status and conditions, as upstream's `progress.go` and
//! `sync.go`: counts over the ReplicaSets, `Available` from
//! maxUnavailable, `Progressing` with the upstream reasons, and when a
//! rollout that stopped moving exceeds `progressDeadlineSeconds`.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::replicas;
use super::rolling::{available, desired, max_unavailable};

pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";

fn status_replicas(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().map_or(0, |s| s.replicas)
}

/// A new condition with both times now.
pub fn condition(type_: &str, status: &str, reason: &str, message: String) -> DeploymentCondition {
    let now = Time(Timestamp::now());
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(now.clone()),
        last_transition_time: Some(now),
    }
}

pub fn get<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// `SetDeploymentCondition`: same status and reason is no change; same
/// status keeps the transition time.
pub fn set(status: &mut DeploymentStatus, mut c: DeploymentCondition) {
    if let Some(cur) = get(status, &c.type_) {
        if cur.status == c.status && cur.reason == c.reason {
            return;
        }
        if cur.status == c.status {
            c.last_transition_time = cur.last_transition_time.clone();
        }
    }
    remove(status, &c.type_);
    status.conditions.get_or_insert_with(Vec::new).push(c);
}

pub fn remove(status: &mut DeploymentStatus, type_: &str) {
    if let Some(cs) = status.conditions.as_mut() {
        cs.retain(|c| c.type_ != type_);
    }
}

/// `calculateStatus`.
pub fn calculate(
    all: &[&ReplicaSet],
    new_rs: Option<&ReplicaSet>,
    d: &Deployment,
) -> DeploymentStatus {
    let available_replicas: i32 = all.iter().map(|rs| available(rs)).sum();
    let total: i32 = all.iter().map(|rs| replicas(rs)).sum();
    let old = d.status.clone().unwrap_or_default();
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: Some(all.iter().map(|rs| status_replicas(rs)).sum()),
        updated_replicas: Some(new_rs.map_or(0, status_replicas)),
        ready_replicas: Some(
            all.iter()
                .map(|rs| {
                    rs.status
                        .as_ref()
                        .and_then(|s| s.ready_replicas)
                        .unwrap_or(0)
                })
                .sum(),
        ),
        available_replicas: Some(available_replicas),
        unavailable_replicas: Some((total - available_replicas).max(0)),
        collision_count: old.collision_count,
        conditions: old.conditions,
        terminating_replicas: None,
    };
    let c = if available_replicas >= desired(d) - max_unavailable(d) {
        condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
        )
    } else {
        condition(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".into(),
        )
    };
    set(&mut status, c);
    status
}

fn progress_deadline(d: &Deployment) -> Option<i32> {
    d.spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .filter(|&s| s != i32::MAX)
}

/// `DeploymentComplete`.
pub fn complete(d: &Deployment, s: &DeploymentStatus) -> bool {
    let want = desired(d);
    s.updated_replicas == Some(want)
        && s.replicas == Some(want)
        && s.available_replicas == Some(want)
        && s.observed_generation >= d.metadata.generation
}

/// `DeploymentProgressing`: more updated, fewer old, more ready or available.
fn progressing(d: &Deployment, new: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let n = |v: Option<i32>| v.unwrap_or(0);
    let old_old = n(old.replicas) - n(old.updated_replicas);
    let new_old = n(new.replicas) - n(new.updated_replicas);
    n(new.updated_replicas) > n(old.updated_replicas)
        || new_old < old_old
        || n(new.ready_replicas) > n(old.ready_replicas)
        || n(new.available_replicas) > n(old.available_replicas)
}

/// `DeploymentTimedOut`.
fn timed_out(d: &Deployment, s: &DeploymentStatus, now: Timestamp) -> bool {
    let Some(deadline) = progress_deadline(d) else {
        return false;
    };
    let Some(c) = get(s, "Progressing") else {
        return false;
    };
    match c.reason.as_deref() {
        Some(NEW_RS_AVAILABLE) => false,
        Some(TIMED_OUT) => true,
        _ => c
            .last_update_time
            .as_ref()
            .is_some_and(|t| t.0.as_second() + i64::from(deadline) < now.as_second()),
    }
}

/// `syncRolloutStatus` minus the write: the status to have, and when to
/// look again for the progress deadline.
pub fn rollout_status(
    all: &[&ReplicaSet],
    new_rs: Option<&ReplicaSet>,
    d: &Deployment,
    failure: Option<DeploymentCondition>,
) -> (DeploymentStatus, Option<Duration>) {
    let mut s = calculate(all, new_rs, d);
    let now = Timestamp::now();
    if progress_deadline(d).is_none() {
        remove(&mut s, "Progressing");
    }
    let cur = get(&s, "Progressing").cloned();
    let is_complete = s.replicas == s.updated_replicas
        && cur
            .as_ref()
            .is_some_and(|c| c.reason.as_deref() == Some(NEW_RS_AVAILABLE));
    if progress_deadline(d).is_some() && !is_complete {
        let name = new_rs.and_then(|rs| rs.metadata.name.clone());
        if complete(d, &s) {
            let msg = match &name {
                Some(n) => format!("ReplicaSet {n:?} has successfully progressed."),
                None => "Deployment has successfully progressed.".into(),
            };
            set(
                &mut s,
                condition("Progressing", "True", NEW_RS_AVAILABLE, msg),
            );
        } else if progressing(d, &s) {
            let msg = match &name {
                Some(n) => format!("ReplicaSet {n:?} is progressing."),
                None => "Deployment is progressing.".into(),
            };
            let mut c = condition("Progressing", "True", RS_UPDATED, msg);
            if let Some(cur) = cur.as_ref().filter(|c| c.status == "True") {
                c.last_transition_time = cur.last_transition_time.clone();
            }
            remove(&mut s, "Progressing");
            s.conditions.get_or_insert_with(Vec::new).push(c);
        } else if timed_out(d, &s, now) {
            let msg = match &name {
                Some(n) => format!("ReplicaSet {n:?} has timed out progressing."),
                None => format!(
                    "Deployment {:?} has timed out progressing.",
                    d.metadata.name.clone().unwrap_or_default()
                ),
            };
            set(&mut s, condition("Progressing", "False", TIMED_OUT, msg));
        }
    }
    match failure {
        Some(f) => set(&mut s, f),
        None => remove(&mut s, "ReplicaFailure"),
    }
    let requeue = requeue_for_deadline(d, &s, now);
    (s, requeue)
}

/// `requeueStuckDeployment`: when the deadline would pass, if it can.
fn requeue_for_deadline(d: &Deployment, s: &DeploymentStatus, now: Timestamp) -> Option<Duration> {
    let deadline = progress_deadline(d)?;
    let c = get(s, "Progressing")?;
    if complete(d, s) || c.reason.as_deref() == Some(TIMED_OUT) {
        return None;
    }
    let from = c.last_update_time.as_ref()?.0.as_second();
    let after = from + i64::from(deadline) - now.as_second();
    Some(Duration::from_secs(
        u64::try_from(after.max(1)).unwrap_or(1) + 1,
    ))
}

/// The `ReplicaFailure` condition copied from a ReplicaSet, if one has it.
pub fn replica_failure(
    all: &[&ReplicaSet],
    new_rs: Option<&ReplicaSet>,
) -> Option<DeploymentCondition> {
    let order = new_rs.into_iter().chain(all.iter().copied());
    for rs in order {
        let conds = rs.status.as_ref().and_then(|s| s.conditions.as_ref());
        if let Some(c) = conds.and_then(|cs| cs.iter().find(|c| c.type_ == "ReplicaFailure")) {
            return Some(DeploymentCondition {
                type_: "ReplicaFailure".into(),
                status: c.status.clone(),
                reason: c.reason.clone(),
                message: c.message.clone(),
                last_update_time: c.last_transition_time.clone(),
                last_transition_time: c.last_transition_time.clone(),
            });
        }
    }
    None
}

/// Statuses equal for the purpose of writing (ignoring condition times of
/// unchanged conditions, which [`set`] preserves anyway).
pub fn same(a: &DeploymentStatus, b: &DeploymentStatus) -> bool {
    let norm = |s: &DeploymentStatus| {
        let z = |v: Option<i32>| Some(v.unwrap_or(0));
        let mut s = s.clone();
        s.replicas = z(s.replicas);
        s.updated_replicas = z(s.updated_replicas);
        s.ready_replicas = z(s.ready_replicas);
        s.available_replicas = z(s.available_replicas);
        s.unavailable_replicas = z(s.unavailable_replicas);
        s.terminating_replicas = None;
        s.conditions = s.conditions.filter(|c| !c.is_empty());
        s
    };
    norm(a) == norm(b)
}
