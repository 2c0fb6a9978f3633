//! What the collector does to objects, always after reading them live
//! (the graph may be stale): delete a dependent whose owners are all gone,
//! unblock or drop references to owners that are going, finalize owners.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{
    Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy,
};
use serde_json::json;

use super::graph::{FOREGROUND, ORPHAN, ObjectId, Work};
use super::{Collector, lock};
use crate::Error;
use crate::error::is_not_found;

pub async fn process(c: &Collector, work: &Work) -> Result<(), Error> {
    match work {
        Work::AttemptToDelete(uid) => attempt_to_delete(c, uid).await,
        Work::DeletingDependents(uid) => deleting_dependents(c, uid).await,
        Work::Orphan(uid) => orphan(c, uid).await,
    }
}

fn api(
    c: &Collector,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
) -> Result<Api<DynamicObject>, Error> {
    let k = c.kind(api_version, kind).ok_or_else(|| Error::Invalid {
        object: format!("{api_version}/{kind}"),
        message: "kind not served (yet)".into(),
    })?;
    Ok(match (k.namespaced, namespace) {
        (true, Some(ns)) => Api::namespaced_with(c.client.clone(), ns, &k.resource),
        _ => Api::all_with(c.client.clone(), &k.resource),
    })
}

/// The live object, if it is still the one with this uid.
async fn live(c: &Collector, id: &ObjectId) -> Result<Option<DynamicObject>, Error> {
    let api = api(c, &id.api_version, &id.kind, id.namespace.as_deref())?;
    match api.get_opt(&id.name).await {
        Ok(o) => Ok(o.filter(|o| o.metadata.uid.as_deref() == Some(id.uid.as_str()))),
        Err(e) => Err(Error::api("reading", &id.name, e)),
    }
}

enum OwnerState {
    Absent,
    WaitingForDependents,
    Solid,
}

async fn owner_state(
    c: &Collector,
    dependent: &ObjectId,
    r: &OwnerReference,
) -> Result<OwnerState, Error> {
    let api = api(c, &r.api_version, &r.kind, dependent.namespace.as_deref())?;
    let owner = match api.get_opt(&r.name).await {
        Ok(o) => o,
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(Error::api("reading owner", &r.name, e)),
    };
    Ok(match owner {
        Some(o) if o.metadata.uid.as_deref() == Some(r.uid.as_str()) => {
            let fg = o
                .metadata
                .finalizers
                .iter()
                .flatten()
                .any(|f| f == FOREGROUND);
            if o.metadata.deletion_timestamp.is_some() && fg {
                OwnerState::WaitingForDependents
            } else {
                OwnerState::Solid
            }
        }
        _ => OwnerState::Absent,
    })
}

/// Upstream's attemptToDeleteItem.
async fn attempt_to_delete(c: &Collector, uid: &str) -> Result<(), Error> {
    let Some(node) = lock(&c.graph).get(uid).cloned() else {
        return Ok(());
    };
    if node.deleting_dependents() {
        return deleting_dependents(c, uid).await;
    }
    if node.being_deleted {
        return Ok(());
    }
    let Some(obj) = live(c, &node.id).await? else {
        return Ok(());
    };
    let owners = obj.metadata.owner_references.clone().unwrap_or_default();
    if owners.is_empty() {
        return Ok(());
    }
    let (mut solid, mut dangling, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
    for r in &owners {
        match owner_state(c, &node.id, r).await? {
            OwnerState::Absent => dangling.push(r.uid.clone()),
            OwnerState::WaitingForDependents => waiting.push(r.uid.clone()),
            OwnerState::Solid => solid.push(r.uid.clone()),
        }
    }
    if !solid.is_empty() {
        if dangling.is_empty() && waiting.is_empty() {
            return Ok(());
        }
        let kept: Vec<OwnerReference> = owners
            .into_iter()
            .filter(|r| !dangling.contains(&r.uid))
            .map(|mut r| {
                if waiting.contains(&r.uid) {
                    r.block_owner_deletion = Some(false);
                }
                r
            })
            .collect();
        return set_owner_references(c, &node.id, &obj, kept).await;
    }
    let has_dependents = !lock(&c.graph).dependents(uid).is_empty();
    let finalizers = obj.metadata.finalizers.clone().unwrap_or_default();
    let policy = if !waiting.is_empty() && has_dependents {
        PropagationPolicy::Foreground
    } else if finalizers.iter().any(|f| f == ORPHAN) {
        PropagationPolicy::Orphan
    } else if finalizers.iter().any(|f| f == FOREGROUND) {
        PropagationPolicy::Foreground
    } else {
        PropagationPolicy::Background
    };
    delete(c, &node.id, policy).await
}

async fn delete(c: &Collector, id: &ObjectId, policy: PropagationPolicy) -> Result<(), Error> {
    tracing::debug!(kind = %id.kind, name = %id.name, ?policy, "garbage collecting");
    let dp = DeleteParams {
        propagation_policy: Some(policy),
        preconditions: Some(Preconditions {
            uid: Some(id.uid.clone()),
            resource_version: None,
        }),
        ..Default::default()
    };
    let api = api(c, &id.api_version, &id.kind, id.namespace.as_deref())?;
    match api.delete(&id.name, &dp).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) || crate::error::is_conflict(&e) => Ok(()),
        Err(e) => Err(Error::api("deleting", &id.name, e)),
    }
}

/// Writes ownerReferences, guarded by the resourceVersion that was read.
async fn set_owner_references(
    c: &Collector,
    id: &ObjectId,
    obj: &DynamicObject,
    refs: Vec<OwnerReference>,
) -> Result<(), Error> {
    let patch = json!({"metadata": {"ownerReferences": refs, "resourceVersion": obj.metadata.resource_version}});
    patch_meta(c, id, patch).await
}

async fn patch_meta(c: &Collector, id: &ObjectId, patch: serde_json::Value) -> Result<(), Error> {
    let api = api(c, &id.api_version, &id.kind, id.namespace.as_deref())?;
    match api
        .patch(&id.name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(Error::api("updating", &id.name, e)),
    }
}

/// Removes `finalizer` from the live object.
async fn remove_finalizer(c: &Collector, id: &ObjectId, finalizer: &str) -> Result<(), Error> {
    let Some(obj) = live(c, id).await? else {
        return Ok(());
    };
    let finalizers: Vec<String> = obj.metadata.finalizers.clone().unwrap_or_default();
    if !finalizers.iter().any(|f| f == finalizer) {
        return Ok(());
    }
    let rest: Vec<&String> = finalizers.iter().filter(|f| *f != finalizer).collect();
    let patch =
        json!({"metadata": {"finalizers": rest, "resourceVersion": obj.metadata.resource_version}});
    patch_meta(c, id, patch).await
}

/// Upstream's processDeletingDependentsItem.
async fn deleting_dependents(c: &Collector, uid: &str) -> Result<(), Error> {
    let (node, blocking) = {
        let g = lock(&c.graph);
        let Some(node) = g.get(uid).cloned() else {
            return Ok(());
        };
        let blocking: Vec<(String, bool)> = g
            .blocking_dependents(uid)
            .iter()
            .map(|n| (n.id.uid.clone(), n.being_deleted))
            .collect();
        (node, blocking)
    };
    if !node.deleting_dependents() {
        return Ok(());
    }
    if blocking.is_empty() {
        return remove_finalizer(c, &node.id, FOREGROUND).await;
    }
    let work = blocking
        .into_iter()
        .filter(|(_, deleting)| !deleting)
        .map(|(d, _)| Work::AttemptToDelete(d))
        .collect();
    c.enqueue(work);
    Ok(())
}

/// Upstream's orphanDependents then removal of the `orphan` finalizer.
async fn orphan(c: &Collector, uid: &str) -> Result<(), Error> {
    let (node, dependents) = {
        let g = lock(&c.graph);
        let Some(node) = g.get(uid).cloned() else {
            return Ok(());
        };
        let deps: Vec<ObjectId> = g
            .dependents(uid)
            .iter()
            .filter_map(|d| g.get(d))
            .map(|n| n.id.clone())
            .collect();
        (node, deps)
    };
    if !node.orphaning() {
        return Ok(());
    }
    for dep in dependents {
        let Some(obj) = live(c, &dep).await? else {
            continue;
        };
        let refs = obj.metadata.owner_references.clone().unwrap_or_default();
        if refs.iter().any(|r| r.uid == uid) {
            let kept = refs.into_iter().filter(|r| r.uid != uid).collect();
            set_owner_references(c, &dep, &obj, kept).await?;
        }
    }
    remove_finalizer(c, &node.id, ORPHAN).await
}
