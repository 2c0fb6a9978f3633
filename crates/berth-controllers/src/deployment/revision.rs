//! Revisions and templates: the `pod-template-hash`, template equality
//! ignoring it, and the `deployment.kubernetes.io/*` annotations.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::Value;

pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const ROLLBACK_TO: &str = "deprecated.deployment.rollback.to";
/// Upstream's maxRevHistoryLengthInChars.
const MAX_REVISION_HISTORY_CHARS: usize = 2000;

/// The `pod-template-hash` of a template: FNV-32a over its canonical JSON
/// (and the collision count), encoded with the safe alphabet.
pub fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let json = serde_json::to_vec(template).unwrap_or_default();
    crate::history::safe_hash(&json, collision_count)
}

/// Drops nulls, empty lists and empty maps: upstream's semantic equality
/// treats nil and empty alike.
pub(crate) fn normalize(v: Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Array(a) if a.is_empty() => None,
        Value::Array(a) => Some(Value::Array(a.into_iter().filter_map(normalize).collect())),
        Value::Object(m) => {
            let m: serde_json::Map<String, Value> = m
                .into_iter()
                .filter_map(|(k, v)| normalize(v).map(|v| (k, v)))
                .collect();
            (!m.is_empty()).then_some(Value::Object(m))
        }
        other => Some(other),
    }
}

fn without_hash(t: &PodTemplateSpec) -> Option<Value> {
    let mut t = t.clone();
    if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    normalize(serde_json::to_value(t).ok()?)
}

/// Upstream's EqualIgnoreHash.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    without_hash(a) == without_hash(b)
}

fn annotations(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> BTreeMap<String, String> {
    meta.annotations.clone().unwrap_or_default()
}

/// The revision of a ReplicaSet (0 when unset or unparsable).
pub fn revision(rs: &ReplicaSet) -> i64 {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// An integer annotation of a ReplicaSet.
pub fn int_annotation(rs: &ReplicaSet, key: &str) -> Option<i32> {
    rs.metadata.annotations.as_ref()?.get(key)?.parse().ok()
}

fn skip_copy(key: &str) -> bool {
    matches!(
        key,
        LAST_APPLIED | REVISION | REVISION_HISTORY | DESIRED_REPLICAS | MAX_REPLICAS | ROLLBACK_TO
    )
}

/// Sets desired-replicas and max-replicas; true when something changed.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let mut a = annotations(&rs.metadata);
    let before = a.clone();
    a.insert(DESIRED_REPLICAS.into(), desired.to_string());
    a.insert(MAX_REPLICAS.into(), max.to_string());
    let changed = a != before;
    rs.metadata.annotations = Some(a);
    changed
}

/// Upstream's SetNewReplicaSetAnnotations: copies the Deployment's
/// annotations, raises the revision (keeping the old one in the history
/// when rolling back to this ReplicaSet); true when something changed.
pub fn set_new_replica_set_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
    max_surge: i32,
) -> bool {
    let mut a = annotations(&rs.metadata);
    let before = a.clone();
    for (k, v) in annotations(&d.metadata) {
        if !skip_copy(&k) {
            a.insert(k, v);
        }
    }
    let old = a.get(REVISION).cloned().unwrap_or_default();
    let old_int: i64 = old.parse().unwrap_or(0);
    if old_int < new_revision {
        a.insert(REVISION.into(), new_revision.to_string());
        if !old.is_empty() {
            let history = match a.get(REVISION_HISTORY).filter(|h| !h.is_empty()) {
                None => old.clone(),
                Some(h) => format!("{h},{old}"),
            };
            a.insert(REVISION_HISTORY.into(), trim_history(history));
        }
    }
    rs.metadata.annotations = Some(a.clone());
    let mut changed = a != before;
    if !exists {
        let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        changed |= set_replicas_annotations(rs, replicas, replicas + max_surge);
    }
    changed
}

fn trim_history(mut h: String) -> String {
    while h.len() > MAX_REVISION_HISTORY_CHARS {
        match h.find(',') {
            Some(i) => h = h[i + 1..].to_string(),
            None => break,
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(image: &str, hash: Option<&str>) -> PodTemplateSpec {
        let mut labels = json!({"app": "web"});
        if let Some(h) = hash {
            labels[POD_TEMPLATE_HASH] = json!(h);
        }
        serde_json::from_value(json!({"metadata": {"labels": labels},
            "spec": {"containers": [{"name": "c", "image": image, "env": []}]}}))
        .expect("valid template")
    }

    #[test]
    fn templates_are_equal_ignoring_the_hash_label_and_empty_fields() {
        let plain = template("busybox:1", None);
        assert!(equal_ignore_hash(
            &plain,
            &template("busybox:1", Some("abc"))
        ));
        assert!(!equal_ignore_hash(&plain, &template("busybox:2", None)));
    }

    #[test]
    fn the_hash_is_stable_safe_and_changes_with_the_collision_count() {
        let t = template("busybox:1", None);
        let h = template_hash(&t, None);
        assert_eq!(h, template_hash(&t, None));
        assert!(
            h.bytes()
                .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b)),
            "{h}"
        );
        assert_ne!(h, template_hash(&t, Some(1)));
    }

    #[test]
    fn rolling_back_to_a_replica_set_records_its_old_revision() {
        let d: Deployment = serde_json::from_value(json!({"metadata": {"annotations": {
            "team": "a", REVISION: "3"}}, "spec": {"replicas": 2, "selector": {},
            "template": {}}}))
        .expect("deployment");
        let mut rs: ReplicaSet = serde_json::from_value(json!({"metadata": {"annotations": {
            REVISION: "1"}}}))
        .expect("rs");
        assert!(set_new_replica_set_annotations(&d, &mut rs, 4, true, 1));
        let a = rs.metadata.annotations.expect("annotations");
        assert_eq!(a[REVISION], "4");
        assert_eq!(a[REVISION_HISTORY], "1");
        assert_eq!(a["team"], "a");
        assert!(
            !a.contains_key(DESIRED_REPLICAS),
            "only new ReplicaSets get replica annotations"
        );
    }
}
