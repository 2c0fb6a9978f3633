//! The StatefulSet controller: pods with a stable identity (`<set>-<n>`,
//! hostname and subdomain for the governing headless Service) and stable
//! storage (one claim per `volumeClaimTemplates` entry and pod), started in
//! order and stopped in reverse order, updated through ControllerRevisions,
//! as upstream's `pkg/controller/statefulset`.
//!
//! Per sync: claim the pods (selector and name both say the set's; orphans
//! adopted, strangers released); find or save the update revision
//! ([`revision`]); run one pass over the pods ([`control`]); write status
//! ([`status`]); prune history beyond `revisionHistoryLimit`.
//!
//! No expectations are kept, unlike ReplicaSet: pod names are fixed, so the
//! API server refuses a second creation and a pass over a stale cache can
//! only wait or repeat an idempotent deletion.
//!
//! It is not the PVC binder: claims are created and owned here, bound
//! elsewhere.

mod claims;
pub mod control;
pub mod identity;
mod pod_control;
pub mod revision;
pub mod rolling;
mod status;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};

use crate::controller_ref::{self, controller_of};
use crate::events::Recorder;
use crate::informer::{Change, Informer};
use crate::{Error, history, workqueue};

/// What the reconciler shares between syncs.
pub struct Context {
    pub client: Client,
    pub pods: Store<Pod>,
    pub claims: Store<PersistentVolumeClaim>,
    pub revisions: Store<ControllerRevision>,
    pub recorder: Recorder,
}

/// The informers the controller reads.
pub struct Informers<'a> {
    pub stateful_sets: &'a mut Informer<StatefulSet>,
    pub pods: &'a mut Informer<Pod>,
    pub revisions: &'a mut Informer<ControllerRevision>,
    pub claims: &'a mut Informer<PersistentVolumeClaim>,
}

/// Wires the controller to the informers; returns its run future.
pub fn register(
    client: Client,
    i: Informers<'_>,
    concurrency: u16,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let (queue, rx) = workqueue::queue::<StatefulSet>();
    let q = queue.clone();
    i.stateful_sets.on_change(move |change| {
        if let Change::Applied { new, .. } = change {
            q.add(ObjectRef::from_obj(*new));
        }
    });
    let q = queue.clone();
    let sets = i.stateful_sets.store();
    i.pods
        .on_change(move |change| on_pod_change(change, &q, &sets));
    let q = queue.clone();
    i.revisions.on_change(move |change| {
        let r = change.object();
        if let Some(owner) = owner_set(&r.metadata) {
            q.add_named(r.namespace().as_deref(), &owner);
        }
    });
    let q = queue.clone();
    let sets = i.stateful_sets.store();
    i.claims.on_change(move |change| {
        if let Change::Deleted(claim) = change {
            enqueue_claim_owner(claim, &q, &sets);
        }
    });
    let ctx = Arc::new(Context {
        recorder: Recorder::new(client.clone(), "statefulset-controller"),
        client,
        pods: i.pods.store(),
        claims: i.claims.store(),
        revisions: i.revisions.store(),
    });
    workqueue::run(
        "statefulset",
        i.stateful_sets.primary(),
        (queue, rx),
        reconcile,
        ctx,
        concurrency,
    )
}

fn owner_set(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<String> {
    controller_of(meta)
        .filter(|r| r.kind == "StatefulSet")
        .map(|r| r.name.clone())
}

fn on_pod_change(
    change: &Change<'_, Pod>,
    queue: &workqueue::Queue<StatefulSet>,
    sets: &Store<StatefulSet>,
) {
    let pod = change.object();
    let ns = pod.namespace();
    let owner = owner_set(&pod.metadata);
    if let Change::Applied { old: Some(old), .. } = change
        && let Some(previous) = owner_set(&old.metadata)
        && Some(&previous) != owner.as_ref()
    {
        queue.add_named(ns.as_deref(), &previous);
    }
    match owner {
        Some(set) => queue.add_named(ns.as_deref(), &set),
        None if matches!(change, Change::Applied { .. }) => {
            for set in sets.state() {
                if set.namespace() == ns && selects(&set, pod) {
                    queue.add(ObjectRef::from_obj(&*set));
                }
            }
        }
        None => {}
    }
}

/// A claim that went away may unblock the pod that will mount it next.
fn enqueue_claim_owner(
    claim: &PersistentVolumeClaim,
    queue: &workqueue::Queue<StatefulSet>,
    sets: &Store<StatefulSet>,
) {
    let name = claim.name_any();
    for set in sets.state() {
        if set.namespace() != claim.namespace() {
            continue;
        }
        let templates = set
            .spec
            .as_ref()
            .and_then(|s| s.volume_claim_templates.as_ref());
        let prefix_of = |t: &PersistentVolumeClaim| format!("{}-{}-", t.name_any(), set.name_any());
        if templates
            .into_iter()
            .flatten()
            .any(|t| name.starts_with(&prefix_of(t)))
        {
            queue.add(ObjectRef::from_obj(&*set));
        }
    }
}

/// The set's selector matches the pod and the pod's name is one of the set's.
fn selects(set: &StatefulSet, pod: &Pod) -> bool {
    selector_of(set).is_ok_and(|s| !s.is_empty() && s.matches(pod.labels()))
        && identity::is_member(set, pod)
}

fn selector_of(set: &StatefulSet) -> Result<berth_api::LabelSelector, Error> {
    let sel = set
        .spec
        .as_ref()
        .map(|s| s.selector.clone())
        .unwrap_or_default();
    berth_api::LabelSelector::from_meta(&sel).map_err(|e| Error::Selector {
        object: format!(
            "statefulset {}/{}",
            set.namespace().unwrap_or_default(),
            set.name_any()
        ),
        message: e.to_string(),
    })
}

async fn reconcile(set: Arc<StatefulSet>, ctx: Arc<Context>) -> Result<Action, Error> {
    selector_of(&set)?;
    let ns = set.namespace();
    let candidates: Vec<Arc<Pod>> = ctx
        .pods
        .state()
        .into_iter()
        .filter(|p| p.namespace() == ns)
        .collect();
    let pods = claim_pods(&ctx, &set, candidates).await?;
    let mut all: Vec<ControllerRevision> = ctx
        .revisions
        .state()
        .iter()
        .filter(|r| r.namespace() == ns)
        .map(|r| (**r).clone())
        .collect();
    adopt_orphan_revisions(&ctx, &set, &mut all).await?;
    let owned = history::owned_by(&all, &set.uid().unwrap_or_default());
    let revisions = revision::resolve(&ctx.client, &set, &owned).await?;
    let new_status = status::calculate(&set, &pods, &revisions);
    let pass = if set.metadata.deletion_timestamp.is_none() {
        control::Pass::new(&ctx, &set, &revisions).run(&pods).await
    } else {
        Ok(())
    };
    status::update(&ctx.client, &set, &new_status).await?;
    revision::truncate(&ctx.client, &set, &owned, &pods, &revisions).await?;
    pass?;
    Ok(status::requeue_for_availability(&set, &new_status)
        .map_or_else(Action::await_change, Action::requeue))
}

/// Upstream's adoptOrphanRevisions: revisions without a controller whose
/// labels the selector matches become the set's (a set deleted with
/// `--cascade=orphan` and created again keeps its history and its pods'
/// revisions). `all` is updated to show the adoptions.
async fn adopt_orphan_revisions(
    ctx: &Context,
    set: &StatefulSet,
    all: &mut [ControllerRevision],
) -> Result<(), Error> {
    if set.metadata.deletion_timestamp.is_some() {
        return Ok(());
    }
    let selector = selector_of(set)?;
    let orphans = |r: &ControllerRevision| {
        controller_of(&r.metadata).is_none() && !selector.is_empty() && selector.matches(r.labels())
    };
    if !all.iter().any(orphans) || !crate::controller_ref::can_adopt(&ctx.client, set).await? {
        return Ok(());
    }
    let api: Api<ControllerRevision> =
        Api::namespaced(ctx.client.clone(), &set.namespace().unwrap_or_default());
    for revision in all.iter_mut().filter(|r| orphans(r)) {
        let uid = revision.uid().unwrap_or_default();
        controller_ref::adopt(&api, &revision.name_any(), &uid, set).await?;
        revision
            .metadata
            .owner_references
            .get_or_insert_with(Vec::new)
            .push(controller_ref::new_controller_ref(set));
    }
    Ok(())
}

/// Upstream's ClaimPods with the isMemberOf filter: keep owned pods that
/// still match, release owned pods that do not, adopt matching orphans
/// (after checking the set is live).
async fn claim_pods(
    ctx: &Context,
    set: &StatefulSet,
    candidates: Vec<Arc<Pod>>,
) -> Result<Vec<Arc<Pod>>, Error> {
    let uid = set.uid().unwrap_or_default();
    let deleting = set.metadata.deletion_timestamp.is_some();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &set.namespace().unwrap_or_default());
    let mut claimed = Vec::new();
    let mut can_adopt: Option<bool> = None;
    for pod in candidates {
        let matches = selects(set, &pod);
        let pod_uid = pod.uid().unwrap_or_default();
        match controller_of(&pod.metadata) {
            Some(r) if r.uid == uid => {
                if matches || deleting {
                    claimed.push(pod);
                } else {
                    controller_ref::release(&api, &pod.name_any(), &pod_uid, &uid).await?;
                }
            }
            Some(_) => {}
            None if matches && !deleting => {
                let live = match can_adopt {
                    Some(live) => live,
                    None => {
                        *can_adopt.insert(crate::controller_ref::can_adopt(&ctx.client, set).await?)
                    }
                };
                if live {
                    controller_ref::adopt(&api, &pod.name_any(), &pod_uid, set).await?;
                    claimed.push(pod);
                }
            }
            None => {}
        }
    }
    Ok(claimed)
}
