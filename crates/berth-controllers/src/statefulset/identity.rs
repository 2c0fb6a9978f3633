//! A StatefulSet pod's stable identity, as upstream's `stateful_set_utils.go`:
//! the name `<set>-<ordinal>`, the pod-name and pod-index labels, hostname =
//! pod name and subdomain = `spec.serviceName`, and the claims
//! `<template>-<set>-<ordinal>` its volumes point at.
//!
//! Pure functions over the objects; no API calls.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;

use crate::controller_ref::new_controller_ref;
use crate::history::CONTROLLER_REVISION_HASH;

/// The label naming the pod itself (for per-pod Services).
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// The label holding the pod's ordinal.
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// `<set>-<ordinal>`.
pub fn pod_name(set: &str, ordinal: i32) -> String {
    format!("{set}-{ordinal}")
}

/// The set name and ordinal a pod name encodes, if it is `<name>-<n>`.
pub fn parent_and_ordinal(pod_name: &str) -> Option<(&str, i32)> {
    let (parent, ordinal) = pod_name.rsplit_once('-')?;
    if ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((parent, ordinal.parse().ok()?))
}

/// The pod's ordinal, if its name has one.
pub fn ordinal_of(pod: &Pod) -> Option<i32> {
    parent_and_ordinal(pod.metadata.name.as_deref()?).map(|(_, o)| o)
}

/// True when the pod's name says it belongs to `set` (upstream's isMemberOf).
pub fn is_member(set: &StatefulSet, pod: &Pod) -> bool {
    pod.metadata
        .name
        .as_deref()
        .and_then(parent_and_ordinal)
        .is_some_and(|(parent, _)| parent == set.name_any())
}

/// `spec.ordinals.start` (0 by default).
pub fn start_ordinal(set: &StatefulSet) -> i32 {
    set.spec
        .as_ref()
        .and_then(|s| s.ordinals.as_ref())
        .and_then(|o| o.start)
        .unwrap_or(0)
        .max(0)
}

/// `spec.replicas` (1 by default).
pub fn replicas(set: &StatefulSet) -> i32 {
    set.spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1)
        .max(0)
}

/// True when `ordinal` is one the set should have now.
pub fn in_range(set: &StatefulSet, ordinal: i32) -> bool {
    let start = start_ordinal(set);
    ordinal >= start && ordinal < start + replicas(set)
}

/// `<template>-<set>-<ordinal>`, the claim a pod's volume points at.
pub fn claim_name(template: &str, set: &str, ordinal: i32) -> String {
    format!("{template}-{}", pod_name(set, ordinal))
}

/// The claims the pod with `ordinal` must have, from `volumeClaimTemplates`,
/// labelled with the set's selector labels (as upstream).
pub fn claims_for(set: &StatefulSet, ordinal: i32) -> Vec<PersistentVolumeClaim> {
    let spec = set.spec.as_ref();
    let selector_labels = spec
        .and_then(|s| s.selector.match_labels.clone())
        .unwrap_or_default();
    let templates = spec
        .and_then(|s| s.volume_claim_templates.clone())
        .unwrap_or_default();
    templates
        .into_iter()
        .map(|mut claim| {
            let template = claim.name_any();
            claim.metadata = ObjectMeta {
                name: Some(claim_name(&template, &set.name_any(), ordinal)),
                namespace: set.namespace(),
                labels: Some(
                    claim
                        .metadata
                        .labels
                        .take()
                        .unwrap_or_default()
                        .into_iter()
                        .chain(selector_labels.clone())
                        .collect(),
                ),
                annotations: claim.metadata.annotations.take(),
                ..Default::default()
            };
            claim.status = None;
            claim
        })
        .collect()
}

/// A new pod for `ordinal` from `set`'s template (the set as of the
/// revision named `revision`), with its identity and storage.
pub fn new_pod(set: &StatefulSet, ordinal: i32, revision: &str) -> Pod {
    let template = set
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let name = pod_name(&set.name_any(), ordinal);
    let mut labels = tmeta.labels.unwrap_or_default();
    labels.extend(identity_labels(&name, ordinal));
    labels.insert(CONTROLLER_REVISION_HASH.into(), revision.into());
    let mut spec = template.spec.unwrap_or_default();
    spec.hostname = Some(name.clone());
    spec.subdomain = set
        .spec
        .as_ref()
        .and_then(|s| s.service_name.clone())
        .filter(|s| !s.is_empty());
    spec.volumes = Some(volumes_with_claims(set, ordinal, spec.volumes.take()));
    Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: set.namespace(),
            labels: Some(labels),
            annotations: tmeta.annotations,
            finalizers: tmeta.finalizers,
            owner_references: Some(vec![new_controller_ref(set)]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// The pod-name and pod-index labels of the pod `name`.
pub fn identity_labels(name: &str, ordinal: i32) -> BTreeMap<String, String> {
    BTreeMap::from([
        (POD_NAME_LABEL.to_string(), name.to_string()),
        (POD_INDEX_LABEL.to_string(), ordinal.to_string()),
    ])
}

/// The template's volumes with one volume per claim template replacing (or
/// added to) the volume of the same name (upstream's updateStorage).
fn volumes_with_claims(
    set: &StatefulSet,
    ordinal: i32,
    current: Option<Vec<Volume>>,
) -> Vec<Volume> {
    let templates = set
        .spec
        .as_ref()
        .and_then(|s| s.volume_claim_templates.clone())
        .unwrap_or_default();
    let mut volumes: Vec<Volume> = templates
        .iter()
        .map(|t| Volume {
            name: t.name_any(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim_name(&t.name_any(), &set.name_any(), ordinal),
                read_only: Some(false),
            }),
            ..Default::default()
        })
        .collect();
    for v in current.unwrap_or_default() {
        if !templates.iter().any(|t| t.name_any() == v.name) {
            volumes.push(v);
        }
    }
    volumes
}

/// True when the pod carries the identity its name gives it
/// (upstream's identityMatches, minus the immutable hostname).
pub fn identity_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let Some(name) = pod.metadata.name.as_deref() else {
        return false;
    };
    let Some((parent, ordinal)) = parent_and_ordinal(name) else {
        return false;
    };
    parent == set.name_any()
        && pod.namespace() == set.namespace()
        && identity_labels(name, ordinal)
            .iter()
            .all(|(k, v)| pod.labels().get(k) == Some(v))
}

/// The revision a pod was created at (`controller-revision-hash`).
pub fn pod_revision(pod: &Pod) -> &str {
    pod.labels()
        .get(CONTROLLER_REVISION_HASH)
        .map_or("", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set() -> StatefulSet {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
            "spec": {
                "replicas": 3, "serviceName": "nginx", "ordinals": {"start": 2},
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "i"}],
                             "volumes": [{"name": "www", "emptyDir": {}},
                                         {"name": "cfg", "emptyDir": {}}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "www"},
                    "spec": {"accessModes": ["ReadWriteOnce"]}}]
            }
        }))
        .expect("valid set")
    }

    #[test]
    fn names_parse_back_to_their_parent_and_ordinal() {
        assert_eq!(parent_and_ordinal("my-web-12"), Some(("my-web", 12)));
        assert_eq!(parent_and_ordinal("web-x"), None);
        assert_eq!(parent_and_ordinal("web-"), None);
        assert_eq!(parent_and_ordinal("web"), None);
    }

    #[test]
    fn ordinals_start_at_spec_ordinals_start() {
        let s = set();
        assert!(!in_range(&s, 1));
        assert!(in_range(&s, 2) && in_range(&s, 4));
        assert!(!in_range(&s, 5));
    }

    #[test]
    fn a_new_pod_has_its_identity_and_its_claims() {
        let s = set();
        let pod = new_pod(&s, 3, "web-abc");
        assert_eq!(pod.metadata.name.as_deref(), Some("web-3"));
        let labels = pod.labels();
        assert_eq!(labels[POD_NAME_LABEL], "web-3");
        assert_eq!(labels[POD_INDEX_LABEL], "3");
        assert_eq!(labels[CONTROLLER_REVISION_HASH], "web-abc");
        assert_eq!(labels["app"], "web");
        let spec = pod.spec.as_ref().expect("spec");
        assert_eq!(spec.hostname.as_deref(), Some("web-3"));
        assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
        let volumes = spec.volumes.as_ref().expect("volumes");
        assert_eq!(volumes.len(), 2, "www replaced, cfg kept");
        let claim = volumes[0].persistent_volume_claim.as_ref().expect("pvc");
        assert_eq!(claim.claim_name, "www-web-3");
        assert!(identity_matches(&s, &pod));
        let claims = claims_for(&s, 3);
        assert_eq!(claims[0].metadata.name.as_deref(), Some("www-web-3"));
        assert_eq!(claims[0].labels()["app"], "web");
    }
}
