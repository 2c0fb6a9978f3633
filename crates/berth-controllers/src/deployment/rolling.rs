//! The rolling-update arithmetic of upstream's `rolling.go` and
//! `deployment_util.go`, as pure functions over ReplicaSet copies: each
//! returns the scalings to make and applies them to the copies, so the
//! next step sees the same world upstream's would after its API calls.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Scaling, by_creation, replicas};

/// `intstr.GetScaledValueFromIntOrPercent`.
pub fn scaled_value(
    v: Option<&IntOrString>,
    total: i32,
    round_up: bool,
    default_percent: i32,
) -> i32 {
    let percent = match v {
        Some(IntOrString::Int(i)) => return *i,
        Some(IntOrString::String(s)) => s.trim_end_matches('%').parse::<i32>().unwrap_or(0),
        None => default_percent,
    };
    let product = i64::from(percent) * i64::from(total);
    let value = if round_up {
        (product + 99).div_euclid(100)
    } else {
        product.div_euclid(100)
    };
    value as i32
}

fn is_rolling(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate")
}

/// `ResolveFenceposts`: maxSurge rounds up, maxUnavailable rounds down, and
/// both zero means one unavailable.
pub fn resolve_fenceposts(d: &Deployment) -> (i32, i32) {
    let desired = desired(d);
    let ru = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    let surge = scaled_value(ru.and_then(|r| r.max_surge.as_ref()), desired, true, 25);
    let mut unavailable = scaled_value(
        ru.and_then(|r| r.max_unavailable.as_ref()),
        desired,
        false,
        25,
    );
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

/// `spec.replicas` (default 1).
pub fn desired(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// `MaxSurge`: 0 unless RollingUpdate.
pub fn max_surge(d: &Deployment) -> i32 {
    if is_rolling(d) {
        resolve_fenceposts(d).0
    } else {
        0
    }
}

/// `MaxUnavailable`: 0 unless RollingUpdate with replicas, at most replicas.
pub fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling(d) || desired(d) == 0 {
        return 0;
    }
    resolve_fenceposts(d).1.min(desired(d))
}

pub fn available(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

/// `NewRSNewReplicas`: how big the new ReplicaSet may be now.
pub fn new_rs_new_replicas(d: &Deployment, all: &[&ReplicaSet], new_rs: &ReplicaSet) -> i32 {
    if !is_rolling(d) {
        return desired(d);
    }
    let current: i32 = all.iter().map(|rs| replicas(rs)).sum();
    let max_total = desired(d) + max_surge(d);
    if current >= max_total {
        return replicas(new_rs);
    }
    let up = (max_total - current).min(desired(d) - replicas(new_rs));
    replicas(new_rs) + up
}

/// `reconcileNewReplicaSet`: the new ReplicaSet's target size, if it changes.
pub fn reconcile_new(d: &Deployment, old: &[ReplicaSet], new_rs: &ReplicaSet) -> Option<i32> {
    let want = desired(d);
    if replicas(new_rs) == want {
        return None;
    }
    if replicas(new_rs) > want {
        return Some(want);
    }
    let all: Vec<&ReplicaSet> = old.iter().chain(Some(new_rs)).collect();
    let size = new_rs_new_replicas(d, &all, new_rs);
    (size != replicas(new_rs)).then_some(size)
}

/// `reconcileOldReplicaSets`: scale down unhealthy old replicas, then
/// healthy ones as far as maxUnavailable allows. Mutates `old`.
pub fn reconcile_old(
    d: &Deployment,
    old: &mut [ReplicaSet],
    new_rs: Option<&ReplicaSet>,
) -> Vec<Scaling> {
    let old_pods: i32 = old.iter().map(replicas).sum();
    if old_pods == 0 {
        return Vec::new();
    }
    let new_replicas = new_rs.map_or(0, replicas);
    let all_pods = old_pods + new_replicas;
    let min_available = desired(d) - max_unavailable(d);
    let new_unavailable = new_rs.map_or(0, |rs| replicas(rs) - available(rs));
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return Vec::new();
    }
    old.sort_by(by_creation);
    let mut out = cleanup_unhealthy(old, max_scaled_down);
    let new_available = new_rs.map_or(0, available);
    out.extend(scale_down_for_rolling(d, old, new_available));
    out
}

fn cleanup_unhealthy(old: &mut [ReplicaSet], max_cleanup: i32) -> Vec<Scaling> {
    let mut total = 0;
    let mut out = Vec::new();
    for rs in old.iter_mut() {
        if total >= max_cleanup {
            break;
        }
        let (size, avail) = (replicas(rs), available(rs));
        if size == 0 || size == avail {
            continue;
        }
        let down = (max_cleanup - total).min(size - avail);
        out.push(Scaling::of(rs, size - down));
        total += down;
    }
    out
}

fn scale_down_for_rolling(
    d: &Deployment,
    old: &mut [ReplicaSet],
    new_available: i32,
) -> Vec<Scaling> {
    let min_available = desired(d) - max_unavailable(d);
    let available_pods: i32 = old.iter().map(available).sum::<i32>() + new_available;
    if available_pods <= min_available {
        return Vec::new();
    }
    let total_down = available_pods - min_available;
    let mut total = 0;
    let mut out = Vec::new();
    for rs in old.iter_mut() {
        if total >= total_down {
            break;
        }
        if replicas(rs) == 0 {
            continue;
        }
        let down = replicas(rs).min(total_down - total);
        out.push(Scaling::of(rs, replicas(rs) - down));
        total += down;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(
        replicas: i32,
        surge: serde_json::Value,
        unavailable: serde_json::Value,
    ) -> Deployment {
        serde_json::from_value(json!({"metadata": {"name": "d"}, "spec": {"replicas": replicas,
            "selector": {}, "template": {},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}}))
        .expect("deployment")
    }

    fn rs(name: &str, replicas: i32, available: i32, created: &str) -> ReplicaSet {
        serde_json::from_value(
            json!({"metadata": {"name": name, "creationTimestamp": created},
            "spec": {"replicas": replicas, "selector": {}},
            "status": {"replicas": replicas, "availableReplicas": available}}),
        )
        .expect("rs")
    }

    #[test]
    fn surge_rounds_up_and_unavailable_rounds_down() {
        assert_eq!(
            resolve_fenceposts(&deployment(10, json!("25%"), json!("25%"))),
            (3, 2)
        );
        assert_eq!(
            resolve_fenceposts(&deployment(1, json!("10%"), json!("10%"))),
            (1, 0)
        );
        assert_eq!(
            resolve_fenceposts(&deployment(5, json!(0), json!(0))),
            (0, 1)
        );
        assert_eq!(max_unavailable(&deployment(2, json!(0), json!(5))), 2);
    }

    #[test]
    fn a_rollout_with_surge_two_and_no_unavailability_steps_as_upstream() {
        let d = deployment(10, json!(2), json!(0));
        let new_rs = rs("new", 0, 0, "2024-01-02T00:00:00Z");
        let mut old = vec![rs("old", 10, 10, "2024-01-01T00:00:00Z")];
        assert_eq!(reconcile_new(&d, &old, &new_rs), Some(2));
        let new_rs = rs("new", 2, 0, "2024-01-02T00:00:00Z");
        assert!(
            reconcile_old(&d, &mut old, Some(&new_rs)).is_empty(),
            "nothing new is available"
        );
        let new_rs = rs("new", 2, 2, "2024-01-02T00:00:00Z");
        let downs = reconcile_old(&d, &mut old, Some(&new_rs));
        assert_eq!(downs.iter().map(|s| s.to).collect::<Vec<_>>(), [8]);
    }
}
