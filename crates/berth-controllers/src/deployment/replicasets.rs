//! The Deployment's ReplicaSets through the API: claiming them, finding or
//! creating the new one (with its revision), scaling, history cleanup.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::json;

use super::revision::{self, POD_TEMPLATE_HASH};
use super::rolling::{max_surge, new_rs_new_replicas};
use super::{Context, Scaling, by_creation, replicas};
use crate::Error;
use crate::controller_ref::{self, controller_of, new_controller_ref};
use crate::error::is_conflict;
use crate::events::EventType;

fn api(ctx: &Context, d: &Deployment) -> Api<ReplicaSet> {
    Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default())
}

/// Upstream's ClaimReplicaSets over the namespace's ReplicaSets.
pub async fn claim(
    ctx: &Context,
    d: &Deployment,
    selector: &berth_api::LabelSelector,
) -> Result<Vec<ReplicaSet>, Error> {
    let uid = d.uid().unwrap_or_default();
    let ns = d.namespace();
    let deleting = d.metadata.deletion_timestamp.is_some();
    let rs_api = api(ctx, d);
    let mut owned = Vec::new();
    for rs in ctx.replica_sets.state() {
        if rs.namespace() != ns {
            continue;
        }
        let matches = selector.matches(rs.labels());
        let rs_uid = rs.uid().unwrap_or_default();
        match controller_of(&rs.metadata) {
            Some(r) if r.uid == uid => {
                if matches || deleting {
                    owned.push((*rs).clone());
                } else {
                    controller_ref::release(&rs_api, &rs.name_any(), &rs_uid, &uid).await?;
                }
            }
            None if matches && !deleting && rs.metadata.deletion_timestamp.is_none() => {
                controller_ref::adopt(&rs_api, &rs.name_any(), &rs_uid, d).await?;
                owned.push((*rs).clone());
            }
            _ => {}
        }
    }
    owned.sort_by(by_creation);
    Ok(owned)
}

/// `FindNewReplicaSet`: the oldest ReplicaSet whose template equals the
/// Deployment's, ignoring the hash label.
pub fn find_new(d: &Deployment, all: &[ReplicaSet]) -> Option<usize> {
    let template = d.spec.as_ref()?.template.clone();
    all.iter().position(|rs| {
        rs.spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .is_some_and(|t| revision::equal_ignore_hash(t, &template))
    })
}

/// `getNewReplicaSet`: brings the existing new ReplicaSet's revision and
/// annotations up to date, or creates it when `create`. Returns its index
/// in `all` (appended when created).
pub async fn sync_new(
    ctx: &Context,
    d: &Deployment,
    all: &mut Vec<ReplicaSet>,
    create: bool,
) -> Result<Option<usize>, Error> {
    let new_idx = find_new(d, all);
    let max_old = all
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != new_idx)
        .map(|(_, rs)| revision::revision(rs))
        .max()
        .unwrap_or(0);
    let new_revision = max_old + 1;
    if let Some(i) = new_idx {
        update_existing(ctx, d, &mut all[i], new_revision).await?;
        return Ok(Some(i));
    }
    if !create {
        return Ok(None);
    }
    let rs = create_new(ctx, d, all, new_revision).await?;
    all.push(rs);
    Ok(Some(all.len() - 1))
}

async fn update_existing(
    ctx: &Context,
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
) -> Result<(), Error> {
    let mut copy = rs.clone();
    let changed =
        revision::set_new_replica_set_annotations(d, &mut copy, new_revision, true, max_surge(d));
    let min_ready = d.spec.as_ref().and_then(|s| s.min_ready_seconds);
    let spec = copy.spec.get_or_insert_with(Default::default);
    let min_ready_changed = spec.min_ready_seconds.unwrap_or(0) != min_ready.unwrap_or(0);
    spec.min_ready_seconds = min_ready;
    if changed || min_ready_changed {
        let patch = json!({"metadata": {"annotations": copy.metadata.annotations},
                           "spec": {"minReadySeconds": min_ready.unwrap_or(0)}});
        *rs = api(ctx, d)
            .patch(
                &rs.name_any(),
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await
            .map_err(|e| Error::api("updating", rs.name_any(), e))?;
    }
    Ok(())
}

async fn create_new(
    ctx: &Context,
    d: &Deployment,
    all: &[ReplicaSet],
    new_revision: i64,
) -> Result<ReplicaSet, Error> {
    let spec = d.spec.clone().unwrap_or_default();
    let collisions = d.status.as_ref().and_then(|s| s.collision_count);
    let hash = revision::template_hash(&spec.template, collisions);
    let mut template = spec.template.clone();
    let tmeta = template.metadata.get_or_insert_with(Default::default);
    tmeta
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(POD_TEMPLATE_HASH.into(), hash.clone());
    let mut selector: LabelSelector = spec.selector.clone();
    selector
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .insert(POD_TEMPLATE_HASH.into(), hash.clone());
    let mut rs = ReplicaSet {
        metadata: ObjectMeta {
            name: Some(format!("{}-{hash}", d.name_any())),
            namespace: d.namespace(),
            labels: tmeta.labels.clone(),
            owner_references: Some(vec![new_controller_ref(d)]),
            ..Default::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(0),
            min_ready_seconds: spec.min_ready_seconds,
            selector,
            template: Some(template),
        }),
        status: None,
    };
    revision::set_new_replica_set_annotations(d, &mut rs, new_revision, false, max_surge(d));
    let refs: Vec<&ReplicaSet> = all.iter().collect();
    let size = new_rs_new_replicas(d, &refs, &rs);
    if let Some(s) = rs.spec.as_mut() {
        s.replicas = Some(size);
    }
    match api(ctx, d).create(&PostParams::default(), &rs).await {
        Ok(created) => {
            ctx.recorder.record(
                d,
                EventType::Normal,
                "ScalingReplicaSet",
                format!(
                    "Scaled up replica set {} from 0 to {size}",
                    created.name_any()
                ),
            );
            Ok(created)
        }
        Err(e) if is_conflict(&e) => resolve_collision(ctx, d, &rs).await,
        Err(e) => Err(Error::api("creating a ReplicaSet for", d.name_any(), e)),
    }
}

/// The name is taken: ours with the same template is fine; otherwise bump
/// `status.collisionCount` so the next sync hashes differently.
async fn resolve_collision(
    ctx: &Context,
    d: &Deployment,
    wanted: &ReplicaSet,
) -> Result<ReplicaSet, Error> {
    let name = wanted.name_any();
    let existing = api(ctx, d)
        .get(&name)
        .await
        .map_err(|e| Error::api("reading", &name, e))?;
    let ours =
        controller_of(&existing.metadata).is_some_and(|r| Some(&r.uid) == d.metadata.uid.as_ref());
    let same_template = match (
        existing.spec.as_ref().and_then(|s| s.template.as_ref()),
        d.spec.as_ref(),
    ) {
        (Some(t), Some(s)) => revision::equal_ignore_hash(t, &s.template),
        _ => false,
    };
    if ours && same_template {
        return Ok(existing);
    }
    let count = d
        .status
        .as_ref()
        .and_then(|s| s.collision_count)
        .unwrap_or(0)
        + 1;
    let deployments: Api<Deployment> =
        Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default());
    deployments
        .patch_status(
            &d.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"collisionCount": count}})),
        )
        .await
        .map_err(|e| Error::api("updating the collision count of", d.name_any(), e))?;
    Err(Error::Invalid {
        object: format!("deployment {}", d.name_any()),
        message: format!("hash collision on ReplicaSet {name}"),
    })
}

/// `scaleReplicaSet`: writes the size and the replica annotations.
pub async fn scale(
    ctx: &Context,
    d: &Deployment,
    rs: &ReplicaSet,
    s: &Scaling,
) -> Result<ReplicaSet, Error> {
    let want = super::rolling::desired(d);
    let mut copy = rs.clone();
    revision::set_replicas_annotations(&mut copy, want, want + max_surge(d));
    let patch =
        json!({"metadata": {"annotations": copy.metadata.annotations}, "spec": {"replicas": s.to}});
    let updated = api(ctx, d)
        .patch(&s.name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map_err(|e| Error::api("scaling", &s.name, e))?;
    if s.from != s.to {
        let verb = if s.to > s.from { "up" } else { "down" };
        ctx.recorder.record(
            d,
            EventType::Normal,
            "ScalingReplicaSet",
            format!(
                "Scaled {verb} replica set {} from {} to {}",
                s.name, s.from, s.to
            ),
        );
    }
    Ok(updated)
}

/// Applies scalings in order, stopping at the first failure.
pub async fn apply(
    ctx: &Context,
    d: &Deployment,
    all: &mut [ReplicaSet],
    scalings: &[Scaling],
) -> Result<(), Error> {
    for s in scalings {
        if let Some(rs) = all
            .iter_mut()
            .find(|rs| rs.metadata.name.as_deref() == Some(s.name.as_str()))
        {
            *rs = scale(ctx, d, rs, s).await?;
        }
    }
    Ok(())
}

/// `cleanupDeployment`: deletes the oldest idle ReplicaSets beyond
/// `revisionHistoryLimit`.
pub async fn cleanup(ctx: &Context, d: &Deployment, old: &[ReplicaSet]) -> Result<(), Error> {
    let Some(limit) = d.spec.as_ref().and_then(|s| s.revision_history_limit) else {
        return Ok(());
    };
    let mut cleanable: Vec<&ReplicaSet> = old
        .iter()
        .filter(|rs| rs.metadata.deletion_timestamp.is_none())
        .collect();
    let diff = cleanable.len() as i64 - i64::from(limit);
    if diff <= 0 {
        return Ok(());
    }
    cleanable.sort_by_key(|rs| {
        (
            revision::revision(rs),
            rs.metadata.creation_timestamp.as_ref().map(|t| t.0),
        )
    });
    for rs in cleanable.into_iter().take(diff as usize) {
        let status = rs.status.clone().unwrap_or_default();
        let observed = status.observed_generation.unwrap_or(0);
        if status.replicas != 0
            || replicas(rs) != 0
            || rs.metadata.generation.unwrap_or(0) > observed
        {
            continue;
        }
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: rs.uid(),
                resource_version: None,
            }),
            ..Default::default()
        };
        if let Err(e) = api(ctx, d).delete(&rs.name_any(), &dp).await
            && !crate::error::is_not_found(&e)
        {
            return Err(Error::api("deleting old ReplicaSet", rs.name_any(), e));
        }
    }
    Ok(())
}
