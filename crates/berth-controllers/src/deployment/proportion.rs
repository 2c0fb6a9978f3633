//! Scaling a Deployment whose size changed mid-rollout, as upstream's
//! `scale()`: the only active ReplicaSet takes the new size; otherwise new
//! replicas are spread over the active ReplicaSets in proportion to their
//! sizes (larger first; leftovers go to the largest).

use std::cmp::Ordering;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use super::revision::{DESIRED_REPLICAS, MAX_REPLICAS, int_annotation};
use super::rolling::{available, desired, max_surge};
use super::{Scaling, replicas};

/// `isScalingEvent`: an active ReplicaSet was sized for another replica count.
pub fn is_scaling_event(d: &Deployment, all: &[ReplicaSet]) -> bool {
    all.iter()
        .filter(|rs| replicas(rs) > 0)
        .filter_map(|rs| int_annotation(rs, DESIRED_REPLICAS))
        .any(|want| want != desired(d))
}

/// `IsSaturated`: the new ReplicaSet alone runs every replica, all available.
pub fn is_saturated(d: &Deployment, rs: Option<&ReplicaSet>) -> bool {
    let Some(rs) = rs else { return false };
    let want = desired(d);
    int_annotation(rs, DESIRED_REPLICAS) == Some(want)
        && available(rs) == want
        && replicas(rs) == want
}

fn created(rs: &ReplicaSet) -> Option<jiff::Timestamp> {
    rs.metadata.creation_timestamp.as_ref().map(|t| t.0)
}

/// `FindActiveOrLatest`: the only active ReplicaSet, or the newest when none is.
fn active_or_latest(new_rs: Option<usize>, all: &[ReplicaSet]) -> Option<usize> {
    let active: Vec<usize> = (0..all.len()).filter(|&i| replicas(&all[i]) > 0).collect();
    match active.len() {
        0 => new_rs.or_else(|| (0..all.len()).max_by_key(|&i| created(&all[i]))),
        1 => Some(active[0]),
        _ => None,
    }
}

/// The scalings of upstream's `scale()`; `new_rs` indexes `all`. Mutates `all`.
pub fn scale(d: &Deployment, new_rs: Option<usize>, all: &mut [ReplicaSet]) -> Vec<Scaling> {
    if all.is_empty() {
        return Vec::new();
    }
    if let Some(i) = active_or_latest(new_rs, all) {
        if replicas(&all[i]) == desired(d) {
            return Vec::new();
        }
        return vec![Scaling::of(&mut all[i], desired(d))];
    }
    if is_saturated(d, new_rs.map(|i| &all[i])) {
        return all
            .iter_mut()
            .enumerate()
            .filter(|(i, rs)| Some(*i) != new_rs && replicas(rs) > 0)
            .map(|(_, rs)| Scaling::of(rs, 0))
            .collect();
    }
    if !super::is_rolling_update(d) {
        return Vec::new();
    }
    spread(d, all)
}

fn spread(d: &Deployment, all: &mut [ReplicaSet]) -> Vec<Scaling> {
    let mut active: Vec<usize> = (0..all.len()).filter(|&i| replicas(&all[i]) > 0).collect();
    let current: i32 = active.iter().map(|&i| replicas(&all[i])).sum();
    let allowed = if desired(d) > 0 {
        desired(d) + max_surge(d)
    } else {
        0
    };
    let to_add = allowed - current;
    active.sort_by(|&a, &b| {
        let size = replicas(&all[b]).cmp(&replicas(&all[a]));
        let age = if to_add > 0 {
            created(&all[b]).cmp(&created(&all[a]))
        } else {
            created(&all[a]).cmp(&created(&all[b]))
        };
        size.then(age).then_with(|| Ordering::Equal)
    });
    let mut sizes: Vec<i32> = active.iter().map(|&i| replicas(&all[i])).collect();
    if to_add != 0 {
        let mut added = 0;
        for (k, &i) in active.iter().enumerate() {
            let p = proportion(&all[i], d, to_add, added);
            sizes[k] += p;
            added += p;
        }
        sizes[0] = (sizes[0] + to_add - added).max(0);
    }
    let mut out = Vec::new();
    for (k, &i) in active.iter().enumerate() {
        if sizes[k] != replicas(&all[i]) {
            out.push(Scaling::of(&mut all[i], sizes[k]));
        }
    }
    out
}

/// `GetProportion`.
fn proportion(rs: &ReplicaSet, d: &Deployment, to_add: i32, added: i32) -> i32 {
    if replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = fraction(rs, d);
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// `getReplicaSetFraction`.
fn fraction(rs: &ReplicaSet, d: &Deployment) -> i32 {
    if desired(d) == 0 {
        return -replicas(rs);
    }
    let deployment_replicas = desired(d) + max_surge(d);
    let annotated = int_annotation(rs, MAX_REPLICAS)
        .unwrap_or_else(|| d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
    if annotated == 0 {
        return 0;
    }
    let size = f64::from(replicas(rs)) * f64::from(deployment_replicas) / f64::from(annotated);
    size.round() as i32 - replicas(rs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(name: &str, replicas: i32, max: i32, created: &str) -> ReplicaSet {
        serde_json::from_value(
            json!({"metadata": {"name": name, "creationTimestamp": created,
            "annotations": {DESIRED_REPLICAS: "10", MAX_REPLICAS: max.to_string()}},
            "spec": {"replicas": replicas, "selector": {}}}),
        )
        .expect("rs")
    }

    #[test]
    fn scaling_mid_rollout_spreads_replicas_in_proportion() {
        let d: Deployment =
            serde_json::from_value(json!({"metadata": {"name": "d"}, "spec": {"replicas": 20,
            "selector": {}, "template": {}, "strategy": {"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}}}))
            .expect("d");
        let mut all = vec![
            rs("old", 8, 13, "2024-01-01T00:00:00Z"),
            rs("new", 5, 13, "2024-01-02T00:00:00Z"),
        ];
        assert!(is_scaling_event(&d, &all));
        let s = scale(&d, Some(1), &mut all);
        let total: i32 = all.iter().map(replicas).sum();
        assert_eq!(total, 23, "desired + maxSurge: {s:?}");
        assert_eq!(replicas(&all[0]), 14);
        assert_eq!(replicas(&all[1]), 9);
    }
}
