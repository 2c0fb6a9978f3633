//! The API calls a StatefulSet makes on its pods, with upstream's events
//! (`SuccessfulCreate`/`FailedCreate`, `SuccessfulDelete`/`FailedDelete`):
//! a pod is created only after its claims, and a name already taken is
//! not an error (the informer has not seen the pod yet; names are unique,
//! so a pod is never created twice).

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::{Client, ResourceExt};
use serde_json::json;

use super::identity::{identity_labels, ordinal_of};
use super::{Context, claims};
use crate::Error;
use crate::error::{is_conflict, is_not_found};
use crate::events::EventType;

fn pods(client: &Client, set: &StatefulSet) -> Api<Pod> {
    Api::namespaced(client.clone(), &set.namespace().unwrap_or_default())
}

fn record(ctx: &Context, set: &StatefulSet, verb: &str, pod: &str, error: Option<&kube::Error>) {
    let set_name = set.name_any();
    let (kind, reason, message) = match error {
        None => (
            EventType::Normal,
            format!("Successful{}", capitalised(verb)),
            format!("{verb} Pod {pod} in StatefulSet {set_name} successful"),
        ),
        Some(e) => (
            EventType::Warning,
            format!("Failed{}", capitalised(verb)),
            format!("{verb} Pod {pod} in StatefulSet {set_name} failed error: {e}"),
        ),
    };
    ctx.recorder.record(set, kind, &reason, message);
}

fn capitalised(verb: &str) -> String {
    let mut chars = verb.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Creates the pod's claims, then the pod, then sets the claims' owners.
pub async fn create(ctx: &Context, set: &StatefulSet, pod: &Pod) -> Result<(), Error> {
    let name = pod.name_any();
    let ordinal = ordinal_of(pod).unwrap_or_default();
    claims::create_missing(ctx, set, ordinal).await?;
    match pods(&ctx.client, set)
        .create(&PostParams::default(), pod)
        .await
    {
        Ok(created) => {
            record(ctx, set, "create", &name, None);
            claims::sync_retention(ctx, set, &created).await
        }
        Err(e) if is_conflict(&e) => Ok(()),
        Err(e) => {
            record(ctx, set, "create", &name, Some(&e));
            Err(Error::api("creating pod", name, e))
        }
    }
}

/// Deletes the pod (this incarnation of it only).
pub async fn delete(ctx: &Context, set: &StatefulSet, pod: &Pod) -> Result<(), Error> {
    let name = pod.name_any();
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: pod.uid(),
            resource_version: None,
        }),
        ..Default::default()
    };
    match pods(&ctx.client, set).delete(&name, &dp).await {
        Ok(_) => {
            record(ctx, set, "delete", &name, None);
            Ok(())
        }
        Err(e) if is_not_found(&e) || is_conflict(&e) => Ok(()),
        Err(e) => {
            record(ctx, set, "delete", &name, Some(&e));
            Err(Error::api("deleting pod", name, e))
        }
    }
}

/// Puts the pod-name and pod-index labels back on a pod that lost them.
pub async fn restore_identity(ctx: &Context, set: &StatefulSet, pod: &Pod) -> Result<(), Error> {
    let name = pod.name_any();
    let Some(ordinal) = ordinal_of(pod) else {
        return Ok(());
    };
    let patch = json!({"metadata": {"labels": identity_labels(&name, ordinal)}});
    match pods(&ctx.client, set)
        .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(_) => {
            record(ctx, set, "update", &name, None);
            Ok(())
        }
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => {
            record(ctx, set, "update", &name, Some(&e));
            Err(Error::api("updating pod", name, e))
        }
    }
}
