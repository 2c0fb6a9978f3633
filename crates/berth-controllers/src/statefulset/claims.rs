//! The PersistentVolumeClaims of a StatefulSet's pods, as upstream's
//! `stateful_pod_control.go`: created before the pod and never deleted by
//! the controller, so a replacement pod mounts the same claim; owned as
//! `persistentVolumeClaimRetentionPolicy` says, so the garbage collector
//! deletes them: the StatefulSet owns them for `whenDeleted: Delete`, the
//! pod owns them once it is scaled away for `whenScaled: Delete`.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::Context;
use super::identity::{claims_for, in_range, ordinal_of, pod_name};
use crate::Error;
use crate::error::is_conflict;
use crate::events::EventType;

/// `persistentVolumeClaimRetentionPolicy`: true where the policy is Delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub delete_when_deleted: bool,
    pub delete_when_scaled: bool,
}

impl Retention {
    pub fn of(set: &StatefulSet) -> Self {
        let policy = set
            .spec
            .as_ref()
            .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref());
        let delete = |v: Option<&String>| v.is_some_and(|v| v == "Delete");
        Self {
            delete_when_deleted: delete(policy.and_then(|p| p.when_deleted.as_ref())),
            delete_when_scaled: delete(policy.and_then(|p| p.when_scaled.as_ref())),
        }
    }
}

fn reference<K: Resource<DynamicType = ()>>(owner: &K) -> OwnerReference {
    OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: owner.meta().name.clone().unwrap_or_default(),
        uid: owner.meta().uid.clone().unwrap_or_default(),
        controller: None,
        block_owner_deletion: None,
    }
}

/// The owner references `claim` should have for the pod (scaled away or
/// not), or `None` when it has them (upstream's
/// updateClaimOwnerRefForSetAndPod).
pub fn desired_owners(
    claim: &PersistentVolumeClaim,
    set: &StatefulSet,
    pod: &Pod,
) -> Option<Vec<OwnerReference>> {
    let policy = Retention::of(set);
    let scaled_down = !ordinal_of(pod).is_some_and(|o| in_range(set, o));
    let owned_by_set = policy.delete_when_deleted && !(policy.delete_when_scaled && scaled_down);
    let owned_by_pod = policy.delete_when_scaled && scaled_down;
    let mut refs = claim.metadata.owner_references.clone().unwrap_or_default();
    let before = refs.clone();
    set_reference(&mut refs, reference(set), owned_by_set);
    set_reference(&mut refs, reference(pod), owned_by_pod);
    (refs != before).then_some(refs)
}

fn set_reference(refs: &mut Vec<OwnerReference>, owner: OwnerReference, wanted: bool) {
    let present = refs.iter().any(|r| r.uid == owner.uid);
    if wanted && !present && !owner.uid.is_empty() {
        refs.push(owner);
    } else if !wanted {
        refs.retain(|r| r.uid != owner.uid);
    }
}

fn cached(
    ctx: &Context,
    claim: &PersistentVolumeClaim,
) -> Option<std::sync::Arc<PersistentVolumeClaim>> {
    let r = ObjectRef::new(&claim.name_any()).within(&claim.namespace().unwrap_or_default());
    ctx.claims.get(&r)
}

/// True while a claim of the pod about to be created at `ordinal` is still
/// owned by an earlier pod of that name (scaled away, its claim not yet
/// collected): the new pod must wait rather than mount it.
pub fn is_stale(ctx: &Context, set: &StatefulSet, ordinal: i32) -> bool {
    if !Retention::of(set).delete_when_scaled {
        return false;
    }
    let name = pod_name(&set.name_any(), ordinal);
    claims_for(set, ordinal).iter().any(|claim| {
        cached(ctx, claim).is_some_and(|c| {
            c.owner_references()
                .iter()
                .any(|r| r.kind == "Pod" && r.name == name)
        })
    })
}

/// Creates the claims of the pod at `ordinal` that do not exist yet.
pub async fn create_missing(ctx: &Context, set: &StatefulSet, ordinal: i32) -> Result<(), Error> {
    let api: Api<PersistentVolumeClaim> =
        Api::namespaced(ctx.client.clone(), &set.namespace().unwrap_or_default());
    let pod = pod_name(&set.name_any(), ordinal);
    for claim in claims_for(set, ordinal) {
        let name = claim.name_any();
        if let Some(existing) = cached(ctx, &claim) {
            if existing.metadata.deletion_timestamp.is_some() {
                return Err(Error::Invalid {
                    object: name.clone(),
                    message: format!("pvc {name} is being deleted"),
                });
            }
            continue;
        }
        match api.create(&PostParams::default(), &claim).await {
            Ok(_) => ctx.recorder.record(
                set,
                EventType::Normal,
                "SuccessfulCreate",
                format!(
                    "create Claim {name} Pod {pod} in StatefulSet {} success",
                    set.name_any()
                ),
            ),
            Err(e) if is_conflict(&e) => {}
            Err(e) => {
                ctx.recorder.record(
                    set,
                    EventType::Warning,
                    "FailedCreate",
                    format!(
                        "create Claim {name} for Pod {pod} in StatefulSet {} failed error: {e}",
                        set.name_any()
                    ),
                );
                return Err(Error::api("creating claim", name, e));
            }
        }
    }
    Ok(())
}

/// Gives the pod's existing claims the owner references the retention
/// policy asks for.
pub async fn sync_retention(ctx: &Context, set: &StatefulSet, pod: &Pod) -> Result<(), Error> {
    let Some(ordinal) = ordinal_of(pod) else {
        return Ok(());
    };
    let api: Api<PersistentVolumeClaim> =
        Api::namespaced(ctx.client.clone(), &set.namespace().unwrap_or_default());
    for claim in claims_for(set, ordinal) {
        let Some(existing) = cached(ctx, &claim) else {
            continue;
        };
        let Some(refs) = desired_owners(&existing, set, pod) else {
            continue;
        };
        let patch = json!({"metadata": {
            "ownerReferences": refs,
            "resourceVersion": existing.resource_version(),
        }});
        let name = existing.name_any();
        api.patch(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(|e| Error::api("updating the owners of claim", name, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(replicas: i32, when_deleted: &str, when_scaled: &str) -> StatefulSet {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "set-uid"},
            "spec": {"replicas": replicas, "serviceName": "web",
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}},
                "persistentVolumeClaimRetentionPolicy":
                    {"whenDeleted": when_deleted, "whenScaled": when_scaled}}
        }))
        .expect("valid set")
    }

    fn pod(name: &str) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": name, "uid": format!("{name}-uid")}}))
            .expect("valid pod")
    }

    fn owners(refs: Option<Vec<OwnerReference>>) -> Vec<String> {
        refs.unwrap_or_default()
            .into_iter()
            .map(|r| r.kind)
            .collect()
    }

    #[test]
    fn retention_policy_decides_who_owns_a_claim() {
        let claim = PersistentVolumeClaim::default();
        let retain = set(2, "Retain", "Retain");
        assert_eq!(desired_owners(&claim, &retain, &pod("web-1")), None);
        let on_delete = set(2, "Delete", "Retain");
        assert_eq!(
            owners(desired_owners(&claim, &on_delete, &pod("web-1"))),
            ["StatefulSet"]
        );
        let on_scale = set(1, "Retain", "Delete");
        assert_eq!(desired_owners(&claim, &on_scale, &pod("web-0")), None);
        assert_eq!(
            owners(desired_owners(&claim, &on_scale, &pod("web-1"))),
            ["Pod"],
            "web-1 is scaled away: its pod owns the claim"
        );
        let both = set(1, "Delete", "Delete");
        let mut owned = claim.clone();
        owned.metadata.owner_references = desired_owners(&claim, &both, &pod("web-0"));
        assert_eq!(
            owners(owned.metadata.owner_references.clone()),
            ["StatefulSet"]
        );
        assert_eq!(
            owners(desired_owners(&owned, &both, &pod("web-1"))),
            ["Pod"],
            "scaled away: the set's reference gives way to the pod's"
        );
    }
}
