//! The Deployment controller: rolls a Deployment's pod template out through
//! ReplicaSets, as upstream's `pkg/controller/deployment`.
//!
//! Per sync: claim the ReplicaSets; sync the Paused condition; a paused
//! Deployment or a size change is only scaled ([`proportion`]); otherwise
//! one step of RollingUpdate ([`rolling`]) or Recreate; then status and
//! conditions ([`progress`]), and history cleanup when complete.

pub mod progress;
pub mod proportion;
mod recreate;
mod replicasets;
pub mod revision;
pub mod rolling;

use std::cmp::Ordering;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::controller_ref::controller_of;
use crate::events::{EventType, Recorder};
use crate::informer::{Change, Informer};
use crate::{Error, workqueue};

/// What the reconciler shares between syncs.
pub struct Context {
    pub client: Client,
    pub replica_sets: Store<ReplicaSet>,
    pub pods: Store<Pod>,
    pub recorder: Recorder,
}

/// One ReplicaSet resize: what the controller decided, for the API call and the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scaling {
    pub name: String,
    pub from: i32,
    pub to: i32,
}

impl Scaling {
    /// Records resizing `rs` to `to`, and applies it to this copy.
    pub fn of(rs: &mut ReplicaSet, to: i32) -> Self {
        let from = replicas(rs);
        rs.spec.get_or_insert_with(Default::default).replicas = Some(to);
        Self {
            name: rs.name_any(),
            from,
            to,
        }
    }
}

/// `spec.replicas` of a ReplicaSet (default 1).
pub fn replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// Oldest first, then by name (upstream's ReplicaSetsByCreationTimestamp).
pub fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    let t = |rs: &ReplicaSet| rs.metadata.creation_timestamp.as_ref().map(|t| t.0);
    t(a).cmp(&t(b))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

pub fn is_rolling_update(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate")
}

/// Wires the controller to the informers; returns its run future.
pub fn register(
    client: Client,
    deployments: &mut Informer<Deployment>,
    replica_sets: &mut Informer<ReplicaSet>,
    pods: &mut Informer<Pod>,
    concurrency: u16,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let (queue, rx) = workqueue::queue::<Deployment>();
    let q = queue.clone();
    deployments.on_change(move |change| {
        if let Change::Applied { new, .. } = change {
            q.add(ObjectRef::from_obj(*new));
        }
    });
    let q = queue.clone();
    let dstore = deployments.store();
    replica_sets.on_change(move |change| on_replica_set_change(change, &q, &dstore));
    let q = queue.clone();
    let rs_store = replica_sets.store();
    pods.on_change(move |change| {
        if let Change::Deleted(pod) = change {
            enqueue_owner_of_pod(pod, &q, &rs_store);
        }
    });
    let ctx = Arc::new(Context {
        recorder: Recorder::new(client.clone(), "deployment-controller"),
        client,
        replica_sets: replica_sets.store(),
        pods: pods.store(),
    });
    workqueue::run(
        "deployment",
        deployments.primary(),
        (queue, rx),
        reconcile,
        ctx,
        concurrency,
    )
}

fn owning_deployment(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<String> {
    controller_of(meta)
        .filter(|r| r.kind == "Deployment")
        .map(|r| r.name.clone())
}

fn on_replica_set_change(
    change: &Change<'_, ReplicaSet>,
    q: &workqueue::Queue<Deployment>,
    deployments: &Store<Deployment>,
) {
    let rs = change.object();
    let ns = rs.namespace();
    if let Change::Applied { old: Some(old), .. } = change
        && let Some(prev) = owning_deployment(&old.metadata)
    {
        q.add_named(ns.as_deref(), &prev);
    }
    match owning_deployment(&rs.metadata) {
        Some(d) => q.add_named(ns.as_deref(), &d),
        None if controller_of(&rs.metadata).is_none() => {
            for d in deployments.state() {
                let sel = d.spec.as_ref().map(|s| &s.selector);
                let matches = sel
                    .and_then(|s| berth_api::LabelSelector::from_meta(s).ok())
                    .is_some_and(|s| !s.is_empty() && s.matches(rs.labels()));
                if d.namespace() == ns && matches {
                    q.add(ObjectRef::from_obj(&*d));
                }
            }
        }
        None => {}
    }
}

fn enqueue_owner_of_pod(
    pod: &Pod,
    q: &workqueue::Queue<Deployment>,
    replica_sets: &Store<ReplicaSet>,
) {
    let Some(r) = controller_of(&pod.metadata).filter(|r| r.kind == "ReplicaSet") else {
        return;
    };
    let ns = pod.namespace().unwrap_or_default();
    if let Some(rs) = replica_sets.get(&ObjectRef::new(&r.name).within(&ns))
        && let Some(d) = owning_deployment(&rs.metadata)
    {
        q.add_named(Some(&ns), &d);
    }
}

fn selector_of(d: &Deployment) -> Result<berth_api::LabelSelector, Error> {
    let sel = d
        .spec
        .as_ref()
        .map(|s| s.selector.clone())
        .unwrap_or_default();
    berth_api::LabelSelector::from_meta(&sel).map_err(|e| Error::Selector {
        object: format!(
            "deployment {}/{}",
            d.namespace().unwrap_or_default(),
            d.name_any()
        ),
        message: e.to_string(),
    })
}

async fn reconcile(d: Arc<Deployment>, ctx: Arc<Context>) -> Result<Action, Error> {
    let d = &*d;
    let selector = selector_of(d)?;
    if selector.is_empty() {
        ctx.recorder.record(
            d,
            EventType::Warning,
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required.".into(),
        );
        return Ok(Action::await_change());
    }
    let mut all = replicasets::claim(&ctx, d, &selector).await?;
    if d.metadata.deletion_timestamp.is_some() {
        return sync_status_only(&ctx, d, &mut all).await;
    }
    if sync_paused_condition(&ctx, d).await? {
        return Ok(Action::await_change());
    }
    let paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    if paused || proportion::is_scaling_event(d, &all) {
        return sync_scale(&ctx, d, &mut all, paused).await;
    }
    if is_rolling_update(d) {
        rollout_rolling(&ctx, d, &mut all).await
    } else {
        recreate::rollout(&ctx, d, &mut all).await
    }
}

/// `checkPausedConditions`: Progressing=Unknown DeploymentPaused/Resumed.
/// True when the status was written (the write triggers the next sync).
async fn sync_paused_condition(ctx: &Context, d: &Deployment) -> Result<bool, Error> {
    if d.spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .is_none_or(|s| s == i32::MAX)
    {
        return Ok(false);
    }
    let mut status = d.status.clone().unwrap_or_default();
    let cur = progress::get(&status, "Progressing").and_then(|c| c.reason.clone());
    if cur.as_deref() == Some(progress::TIMED_OUT) {
        return Ok(false);
    }
    let paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    let paused_cond = cur.as_deref() == Some(progress::PAUSED);
    let c = match (paused, paused_cond) {
        (true, false) => progress::condition(
            "Progressing",
            "Unknown",
            progress::PAUSED,
            "Deployment is paused".into(),
        ),
        (false, true) => progress::condition(
            "Progressing",
            "Unknown",
            progress::RESUMED,
            "Deployment is resumed".into(),
        ),
        _ => return Ok(false),
    };
    progress::set(&mut status, c);
    write_status(ctx, d, status).await?;
    Ok(true)
}

/// `sync`: scale (proportionally when mid-rollout), clean up when paused, write status.
async fn sync_scale(
    ctx: &Context,
    d: &Deployment,
    all: &mut Vec<ReplicaSet>,
    paused: bool,
) -> Result<Action, Error> {
    let new_idx = replicasets::sync_new(ctx, d, all, false).await?;
    let scalings = proportion::scale(d, new_idx, all);
    replicasets::apply(ctx, d, all, &scalings).await?;
    if paused {
        let old: Vec<ReplicaSet> = others(all, new_idx);
        replicasets::cleanup(ctx, d, &old).await?;
    }
    let refs: Vec<&ReplicaSet> = all.iter().collect();
    let status = progress::calculate(&refs, new_idx.map(|i| &all[i]), d);
    write_status(ctx, d, status).await?;
    Ok(Action::await_change())
}

async fn sync_status_only(
    ctx: &Context,
    d: &Deployment,
    all: &mut Vec<ReplicaSet>,
) -> Result<Action, Error> {
    let new_idx = replicasets::sync_new(ctx, d, all, false).await?;
    let refs: Vec<&ReplicaSet> = all.iter().collect();
    let status = progress::calculate(&refs, new_idx.map(|i| &all[i]), d);
    write_status(ctx, d, status).await?;
    Ok(Action::await_change())
}

fn others(all: &[ReplicaSet], new_idx: Option<usize>) -> Vec<ReplicaSet> {
    all.iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != new_idx)
        .map(|(_, rs)| rs.clone())
        .collect()
}

/// `rolloutRolling`: one step of RollingUpdate.
async fn rollout_rolling(
    ctx: &Context,
    orig: &Deployment,
    all: &mut Vec<ReplicaSet>,
) -> Result<Action, Error> {
    let new_idx = replicasets::sync_new(ctx, orig, all, true).await?;
    let d = &with_new_rs_recorded(ctx, orig, new_idx.map(|i| &all[i])).await?;
    let mut old = others(all, new_idx);
    let mut new_rs = new_idx.map(|i| all[i].clone());
    if let Some(rs) = new_rs.as_mut()
        && let Some(to) = rolling::reconcile_new(d, &old, rs)
    {
        let s = Scaling::of(rs, to);
        *rs = replicasets::scale(ctx, d, rs, &s).await?;
        return finish_rollout(ctx, orig, d, &old, new_rs.as_ref(), false).await;
    }
    let downs = rolling::reconcile_old(d, &mut old, new_rs.as_ref());
    if !downs.is_empty() {
        replicasets::apply(ctx, d, &mut old, &downs).await?;
        return finish_rollout(ctx, orig, d, &old, new_rs.as_ref(), false).await;
    }
    finish_rollout(ctx, orig, d, &old, new_rs.as_ref(), true).await
}

/// Cleanup when complete (if `may_clean`), then `syncRolloutStatus`;
/// `d` is `orig` with this sync's condition changes, `orig` as stored.
pub(crate) async fn finish_rollout(
    ctx: &Context,
    orig: &Deployment,
    d: &Deployment,
    old: &[ReplicaSet],
    new_rs: Option<&ReplicaSet>,
    may_clean: bool,
) -> Result<Action, Error> {
    let refs: Vec<&ReplicaSet> = old.iter().chain(new_rs).collect();
    if may_clean && progress::complete(d, &d.status.clone().unwrap_or_default()) {
        replicasets::cleanup(ctx, d, old).await?;
    }
    let failure = progress::replica_failure(&refs, new_rs);
    let (status, requeue) = progress::rollout_status(&refs, new_rs, d, failure);
    write_status(ctx, orig, status).await?;
    Ok(requeue.map_or_else(Action::await_change, Action::requeue))
}

/// As upstream's getNewReplicaSet: the Deployment's revision annotation
/// follows the new ReplicaSet's (written now), and a Deployment without a
/// Progressing condition gets NewReplicaSetCreated / FoundNewReplicaSet
/// (returned in the copy, written with the status).
async fn with_new_rs_recorded(
    ctx: &Context,
    d: &Deployment,
    new_rs: Option<&ReplicaSet>,
) -> Result<Deployment, Error> {
    let mut d = d.clone();
    let Some(rs) = new_rs else { return Ok(d) };
    let rs_revision = revision::revision(rs).to_string();
    if d.annotations().get(revision::REVISION) != Some(&rs_revision) {
        let patch = json!({"metadata": {"annotations": {revision::REVISION: rs_revision}}});
        Api::<Deployment>::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default())
            .patch(&d.name_any(), &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(|e| Error::api("annotating", d.name_any(), e))?;
    }
    let has_deadline = d
        .spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .is_some_and(|s| s != i32::MAX);
    let status = d.status.get_or_insert_with(Default::default);
    if has_deadline && progress::get(status, "Progressing").is_none() {
        let (reason, msg) = if rs.status.is_none() {
            (
                progress::NEW_RS_CREATED,
                format!("Created new replica set {:?}", rs.name_any()),
            )
        } else {
            (
                progress::FOUND_NEW_RS,
                format!("Found new replica set {:?}", rs.name_any()),
            )
        };
        progress::set(
            status,
            progress::condition("Progressing", "True", reason, msg),
        );
    }
    Ok(d)
}

/// Writes the status if it changed (every field, so removed conditions go).
pub(crate) async fn write_status(
    ctx: &Context,
    d: &Deployment,
    status: DeploymentStatus,
) -> Result<(), Error> {
    if d.status
        .as_ref()
        .is_some_and(|s| progress::same(s, &status))
    {
        return Ok(());
    }
    let mut body = serde_json::to_value(&status).map_err(|e| Error::Invalid {
        object: d.name_any(),
        message: e.to_string(),
    })?;
    if status.conditions.is_none() {
        body["conditions"] = serde_json::Value::Null;
    }
    let api: Api<Deployment> =
        Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default());
    match api
        .patch_status(
            &d.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"status": body})),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::error::is_not_found(&e) => Ok(()),
        Err(e) => Err(Error::api("updating the status of", d.name_any(), e)),
    }
}
