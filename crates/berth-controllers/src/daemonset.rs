//! The DaemonSet controller: one pod per eligible node, as upstream's
//! `pkg/controller/daemon`.
//!
//! Per sync: find or create the ControllerRevision of the current template
//! ([`revisions`]); claim the DaemonSet's pods through the pod index
//! ([`pods`]) and group them by node; unless earlier creations/deletions
//! are still unobserved, plan the pods each node should have ([`manage`]:
//! eligibility by [`eligibility`], failed pods replaced with [`backoff`]),
//! carry the plan out ([`sync_nodes`]: pods pinned to their node by
//! required node affinity, left to the scheduler to bind), then one
//! RollingUpdate step ([`rolling`]); prune history; write status
//! ([`status`]).
//!
//! It is not a scheduler: pods are created unbound, with a required node
//! affinity naming their node.

mod backoff;
pub mod eligibility;
mod expectations;
mod handlers;
mod manage;
pub mod pods;
pub mod revisions;
pub mod rolling;
mod status;
mod sync_nodes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};

use crate::events::{EventType, Recorder};
use crate::informer::{Change, Informer};
use crate::{Error, workqueue};
use backoff::Backoff;
use eligibility::DaemonPod;
use expectations::Expectations;
use manage::{Manage, Plan};
use pods::{NodePods, PodIndex};
use revisions::History;

/// What the reconciler shares between syncs.
pub struct Context {
    pub client: Client,
    pub pods: Store<Pod>,
    pub nodes: Store<Node>,
    pub revisions: Store<ControllerRevision>,
    index: Arc<PodIndex>,
    expectations: Arc<Expectations>,
    backoff: Backoff,
    pub recorder: Recorder,
}

/// `namespace/name`, the expectations key.
pub fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// The informers the controller reads.
pub struct Informers<'a> {
    pub daemon_sets: &'a mut Informer<DaemonSet>,
    pub pods: &'a mut Informer<Pod>,
    pub nodes: &'a mut Informer<Node>,
    pub revisions: &'a mut Informer<ControllerRevision>,
}

/// Wires the controller to the informers; returns its run future.
pub fn register(
    client: Client,
    i: Informers<'_>,
    concurrency: u16,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let (queue, rx) = workqueue::queue::<DaemonSet>();
    let expectations = Arc::new(Expectations::default());
    let index = Arc::new(PodIndex::default());
    let (q, exp) = (queue.clone(), expectations.clone());
    i.daemon_sets.on_change(move |change| match change {
        Change::Applied { new, .. } => q.add(ObjectRef::from_obj(*new)),
        Change::Deleted(ds) => {
            exp.forget(&key(&ds.namespace().unwrap_or_default(), &ds.name_any()))
        }
    });
    let handler = handlers::PodHandler {
        queue: queue.clone(),
        expectations: expectations.clone(),
        index: index.clone(),
        daemon_sets: i.daemon_sets.store(),
    };
    i.pods.on_change(move |change| handler.handle(change));
    let (q, ds_store) = (queue.clone(), i.daemon_sets.store());
    i.nodes
        .on_change(move |change| handlers::on_node(change, &q, &ds_store));
    let q = queue.clone();
    i.revisions
        .on_change(move |change| handlers::on_revision(change, &q));
    let ctx = Arc::new(Context {
        recorder: Recorder::new(client.clone(), "daemonset-controller"),
        client,
        pods: i.pods.store(),
        nodes: i.nodes.store(),
        revisions: i.revisions.store(),
        index,
        expectations,
        backoff: Backoff::default(),
    });
    workqueue::run(
        "daemonset",
        i.daemon_sets.primary(),
        (queue, rx),
        reconcile,
        ctx,
        concurrency,
    )
}

fn selector_of(ds: &DaemonSet) -> Result<berth_api::LabelSelector, Error> {
    let sel = ds
        .spec
        .as_ref()
        .map(|s| s.selector.clone())
        .unwrap_or_default();
    berth_api::LabelSelector::from_meta(&sel).map_err(|e| Error::Selector {
        object: format!(
            "daemonset {}/{}",
            ds.namespace().unwrap_or_default(),
            ds.name_any()
        ),
        message: e.to_string(),
    })
}

fn is_rolling_update(ds: &DaemonSet) -> bool {
    ds.spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate")
}

/// One sync's view of the world.
struct View {
    nodes: Vec<Arc<Node>>,
    pods: Vec<Arc<Pod>>,
    by_node: NodePods,
    daemon_pod: DaemonPod,
    history: History,
}

async fn reconcile(ds: Arc<DaemonSet>, ctx: Arc<Context>) -> Result<Action, Error> {
    if ds.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let selector = selector_of(&ds)?;
    if selector.is_empty() {
        let msg = "This daemon set is selecting all pods. A non-empty selector is required.";
        ctx.recorder
            .record(&*ds, EventType::Warning, "SelectingAll", msg.into());
        return Ok(Action::await_change());
    }
    let ns = ds.namespace().unwrap_or_default();
    let ds_key = key(&ns, &ds.name_any());
    let revision_api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
    let history = revisions::construct(&revision_api, &ctx.revisions, &ds).await?;
    let pods = pods::claim(&ctx, &ds, &selector).await?;
    let view = View {
        nodes: ctx.nodes.state(),
        by_node: pods::by_node(&pods),
        pods,
        daemon_pod: DaemonPod::of(&ds),
        history,
    };
    let satisfied = ctx.expectations.satisfied(&ds_key);
    let result = if satisfied {
        update(&ctx, &ds, &ds_key, &view, &revision_api).await
    } else {
        Ok(None)
    };
    let stored = write_status(&ctx, &ds, &view, satisfied).await;
    let requeue = result?;
    Ok(next_look(&ds, &stored?, requeue))
}

/// Computes the status from this sync's view and stores it.
async fn write_status(
    ctx: &Context,
    ds: &DaemonSet,
    view: &View,
    observed: bool,
) -> Result<DaemonSetStatus, Error> {
    let generation = revisions::template_generation(ds);
    let counts = status::calculate(
        ds,
        &view.daemon_pod,
        &view.nodes,
        &view.by_node,
        &view.history.hash,
        generation,
    );
    let collisions = view.history.collision_count;
    status::store(&ctx.client, ds, &counts, observed, collisions).await?;
    Ok(counts)
}

/// When to sync again: after a backoff, or after `minReadySeconds` while
/// ready pods are not yet available (upstream's last line of defence).
fn next_look(ds: &DaemonSet, counts: &DaemonSetStatus, backoff: Option<Duration>) -> Action {
    let min_ready = ds
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let mut requeue = backoff;
    if min_ready > 0 && counts.number_ready != counts.number_available.unwrap_or(0) {
        let again = Duration::from_secs(u64::try_from(min_ready).unwrap_or(1));
        requeue = Some(requeue.map_or(again, |r| r.min(again)));
    }
    requeue.map_or_else(Action::await_change, Action::requeue)
}

/// Manage, then (when nothing is pending) one rolling-update step, then
/// history cleanup; returns when to look again, if a backoff asks for it.
async fn update(
    ctx: &Context,
    ds: &DaemonSet,
    ds_key: &str,
    view: &View,
    revision_api: &Api<ControllerRevision>,
) -> Result<Option<Duration>, Error> {
    let hash = view.history.hash.as_str();
    let observed = ds
        .status
        .as_ref()
        .and_then(|s| s.observed_generation)
        .unwrap_or(0);
    let manage = Manage {
        daemon_pod: &view.daemon_pod,
        hash,
        surge: rolling::allows_surge(ds) && is_rolling_update(ds),
        min_ready_seconds: ds
            .spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0),
        backoff_prefix: format!("{}/{observed}", ds.uid().unwrap_or_default()),
        backoff: &ctx.backoff,
        now: Instant::now(),
    };
    let plan = manage.plan(&view.nodes, &view.by_node);
    record(ctx, ds, &plan);
    sync_nodes::run(ctx, ds, &plan, hash).await?;
    if ctx.expectations.satisfied(ds_key) && is_rolling_update(ds) {
        let step = rolling::Step {
            ds,
            daemon_pod: &view.daemon_pod,
            hash,
            generation: revisions::template_generation(ds),
            now: Timestamp::now(),
        };
        let step = step.plan(&view.nodes, &view.by_node);
        sync_nodes::run(ctx, ds, &step, hash).await?;
    }
    revisions::cleanup(revision_api, ds, &view.history.old, &view.pods).await?;
    Ok(plan.requeue_after)
}

fn record(ctx: &Context, ds: &DaemonSet, plan: &Plan) {
    for (kind, reason, message) in &plan.events {
        ctx.recorder.record(ds, *kind, reason, message.clone());
    }
}
