//! The ReplicaSet controller: keeps `spec.replicas` active pods matching the
//! selector, adopts orphans and releases pods that stopped matching, and
//! reports status, as upstream's `pkg/controller/replicaset`.
//!
//! Per sync: wait until the expectations of the last creations/deletions are
//! observed; claim the namespace's active pods; create (slow-start batches
//! 1, 2, 4…, at most [`BURST_REPLICAS`] per sync) or delete (upstream's
//! preference order, see [`rank`]); write status.

mod manage;
pub mod rank;
mod status;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client, ResourceExt};

use crate::controller_ref::{self, controller_of};
use crate::events::Recorder;
use crate::expectations::Expectations;
use crate::informer::{Change, Informer};
use crate::{Error, pod_state, workqueue};

/// Upstream's burstReplicas: the most pods created or deleted in one sync.
pub const BURST_REPLICAS: usize = 500;

/// What the reconciler shares between syncs.
pub struct Context {
    pub client: Client,
    pub pods: Store<Pod>,
    pub expectations: Arc<Expectations>,
    pub recorder: Recorder,
}

/// `namespace/name`, the expectations key.
pub fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// Wires the controller to the informers; returns its run future.
pub fn register(
    client: Client,
    pods: &mut Informer<Pod>,
    replica_sets: &mut Informer<ReplicaSet>,
    concurrency: u16,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let (queue, rx) = workqueue::queue::<ReplicaSet>();
    let expectations = Arc::new(Expectations::default());
    let q = queue.clone();
    let exp = expectations.clone();
    replica_sets.on_change(move |change| match change {
        Change::Applied { new, .. } => q.add(ObjectRef::from_obj(*new)),
        Change::Deleted(rs) => {
            exp.forget(&key(&rs.namespace().unwrap_or_default(), &rs.name_any()))
        }
    });
    let q = queue.clone();
    let exp = expectations.clone();
    let rs_store = replica_sets.store();
    pods.on_change(move |change| on_pod_change(change, &q, &exp, &rs_store));
    let ctx = Arc::new(Context {
        recorder: Recorder::new(client.clone(), "replicaset-controller"),
        client,
        pods: pods.store(),
        expectations,
    });
    workqueue::run(
        "replicaset",
        replica_sets.primary(),
        (queue, rx),
        reconcile,
        ctx,
        concurrency,
    )
}

fn owner_rs(pod: &Pod) -> Option<String> {
    controller_of(&pod.metadata)
        .filter(|r| r.kind == "ReplicaSet")
        .map(|r| r.name.clone())
}

fn on_pod_change(
    change: &Change<'_, Pod>,
    queue: &workqueue::Queue<ReplicaSet>,
    exp: &Expectations,
    replica_sets: &Store<ReplicaSet>,
) {
    let pod = change.object();
    let ns = pod.namespace().unwrap_or_default();
    let uid = pod.uid().unwrap_or_default();
    let owner = owner_rs(pod);
    match change {
        Change::Deleted(_) => {
            if let Some(rs) = &owner {
                exp.deletion_observed(&key(&ns, rs), &uid);
            }
        }
        Change::Applied { old, new } => {
            let newly_terminating = new.metadata.deletion_timestamp.is_some()
                && old
                    .as_ref()
                    .is_none_or(|o| o.metadata.deletion_timestamp.is_none());
            if let Some(rs) = &owner {
                if old.is_none() {
                    exp.creation_observed(&key(&ns, rs));
                }
                if newly_terminating {
                    exp.deletion_observed(&key(&ns, rs), &uid);
                }
            }
            if let Some(old_owner) = old.as_deref().and_then(owner_rs)
                && Some(&old_owner) != owner.as_ref()
            {
                queue.add_named(Some(&ns), &old_owner);
            }
            if owner.is_none() {
                enqueue_matching(pod, queue, replica_sets);
            }
        }
    }
    if let Some(rs) = owner {
        queue.add_named(Some(&ns), &rs);
    }
}

/// An orphan pod: every ReplicaSet whose selector matches may adopt it.
fn enqueue_matching(
    pod: &Pod,
    queue: &workqueue::Queue<ReplicaSet>,
    replica_sets: &Store<ReplicaSet>,
) {
    let labels = pod.labels();
    let ns = pod.namespace();
    for rs in replica_sets.state() {
        if rs.namespace() != ns {
            continue;
        }
        let Some(sel) = rs.spec.as_ref().map(|s| &s.selector) else {
            continue;
        };
        if berth_api::LabelSelector::from_meta(sel)
            .is_ok_and(|s| !s.is_empty() && s.matches(labels))
        {
            queue.add(ObjectRef::from_obj(&*rs));
        }
    }
}

async fn reconcile(rs: Arc<ReplicaSet>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = rs.namespace().unwrap_or_default();
    let name = rs.name_any();
    let rs_key = key(&ns, &name);
    let satisfied = ctx.expectations.satisfied(&rs_key);
    let selector = selector_of(&rs)?;
    let candidates: Vec<Arc<Pod>> = ctx
        .pods
        .state()
        .into_iter()
        .filter(|p| p.metadata.namespace.as_deref() == Some(ns.as_str()) && pod_state::is_active(p))
        .collect();
    let pods = claim_pods(&ctx, &rs, &selector, candidates).await?;
    let mut manage_error = None;
    if satisfied && rs.metadata.deletion_timestamp.is_none() {
        manage_error = manage::manage_replicas(&ctx, &rs, &rs_key, &pods)
            .await
            .err();
    }
    let new_status = status::calculate(&rs, &pods, manage_error.as_ref());
    status::update(&ctx.client, &rs, new_status.clone()).await?;
    if let Some(e) = manage_error {
        return Err(e);
    }
    Ok(status::requeue_for_availability(&rs, &new_status)
        .map_or_else(Action::await_change, Action::requeue))
}

fn selector_of(rs: &ReplicaSet) -> Result<berth_api::LabelSelector, Error> {
    let sel = rs
        .spec
        .as_ref()
        .map(|s| s.selector.clone())
        .unwrap_or_default();
    berth_api::LabelSelector::from_meta(&sel).map_err(|e| Error::Selector {
        object: format!(
            "replicaset {}/{}",
            rs.namespace().unwrap_or_default(),
            rs.name_any()
        ),
        message: e.to_string(),
    })
}

/// Upstream's ClaimPods: keep owned pods that match, release owned pods that
/// do not, adopt matching orphans (after checking the ReplicaSet is live).
async fn claim_pods(
    ctx: &Context,
    rs: &ReplicaSet,
    selector: &berth_api::LabelSelector,
    candidates: Vec<Arc<Pod>>,
) -> Result<Vec<Arc<Pod>>, Error> {
    let rs_uid = rs.uid().unwrap_or_default();
    let deleting = rs.metadata.deletion_timestamp.is_some();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &rs.namespace().unwrap_or_default());
    let mut claimed = Vec::new();
    let mut can_adopt: Option<bool> = None;
    for pod in candidates {
        let matches = !selector.is_empty() && selector.matches(pod.labels());
        let pod_uid = pod.uid().unwrap_or_default();
        match controller_of(&pod.metadata) {
            Some(r) if r.uid == rs_uid => {
                if matches || deleting {
                    claimed.push(pod);
                } else {
                    controller_ref::release(&api, &pod.name_any(), &pod_uid, &rs_uid).await?;
                }
            }
            Some(_) => {}
            None if matches && !deleting => {
                let live = match can_adopt {
                    Some(live) => live,
                    None => {
                        *can_adopt.insert(crate::controller_ref::can_adopt(&ctx.client, rs).await?)
                    }
                };
                if !live {
                    continue;
                }
                controller_ref::adopt(&api, &pod.name_any(), &pod_uid, rs).await?;
                claimed.push(pod);
            }
            None => {}
        }
    }
    Ok(claimed)
}

/// How long until the ReplicaSet should be looked at again anyway.
pub(crate) fn min_ready_requeue(min_ready_seconds: i32) -> Duration {
    Duration::from_secs(u64::try_from(min_ready_seconds.max(1)).unwrap_or(1))
}
