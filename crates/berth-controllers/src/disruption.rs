//! The disruption controller: keeps each PodDisruptionBudget's status
//! (currentHealthy, desiredHealthy, expectedPods, disruptionsAllowed,
//! disruptedPods, the DisruptionAllowed condition) up to date, as
//! upstream's `pkg/controller/disruption`.
//!
//! Per sync: the ready pods matching the budget's selector in its namespace
//! are healthy, except those being deleted and those the eviction
//! subresource recorded in `disruptedPods` less than [`DELETION_TIMEOUT`]
//! ago; the expected count comes from the pods' controllers' scale
//! ([`expected`]) when the budget is a percentage or `maxUnavailable`.
//! A failed sync sets disruptionsAllowed to 0 with reason SyncFailed.
//!
//! It is not the eviction check: the API server's `pods/eviction` spends
//! `disruptionsAllowed`; this controller only computes it.

pub mod expected;
pub mod status;

use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};

use crate::events::{EventType, Recorder};
use crate::informer::{Change, Informer};
use crate::{Error, workqueue};

/// How long a pod recorded in `disruptedPods` is expected to take to be
/// deleted; afterwards it counts again (upstream's DeletionTimeout).
pub const DELETION_TIMEOUT: jiff::SignedDuration = jiff::SignedDuration::from_secs(120);

/// What the reconciler shares between syncs.
pub struct Context {
    pub client: Client,
    pub pods: Store<Pod>,
    pub replica_sets: Store<ReplicaSet>,
    pub deployments: Store<Deployment>,
    pub recorder: Recorder,
}

/// Wires the controller to the informers; returns its run future.
pub fn register(
    client: Client,
    pdbs: &mut Informer<PodDisruptionBudget>,
    pods: &mut Informer<Pod>,
    replica_sets: &Informer<ReplicaSet>,
    deployments: &Informer<Deployment>,
    concurrency: u16,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let (queue, rx) = workqueue::queue::<PodDisruptionBudget>();
    let q = queue.clone();
    pdbs.on_change(move |change| {
        if let Change::Applied { new, .. } = change {
            q.add(ObjectRef::from_obj(*new));
        }
    });
    let q = queue.clone();
    let pdb_store = pdbs.store();
    pods.on_change(move |change| {
        let old = match change {
            Change::Applied { old, .. } => old.clone(),
            Change::Deleted(_) => None,
        };
        for pod in std::iter::once(change.object()).chain(old.as_deref()) {
            for pdb in covering(&pdb_store, pod) {
                q.add(ObjectRef::from_obj(&*pdb));
            }
        }
    });
    let ctx = Arc::new(Context {
        recorder: Recorder::new(client.clone(), "controllermanager"),
        client,
        pods: pods.store(),
        replica_sets: replica_sets.store(),
        deployments: deployments.store(),
    });
    workqueue::run(
        "disruption",
        pdbs.primary(),
        (queue, rx),
        reconcile,
        ctx,
        concurrency,
    )
}

/// The budget's selector; `None` when it is absent or empty (a policy/v1
/// budget with an empty selector matches no pod).
pub fn selector_of(pdb: &PodDisruptionBudget) -> Result<Option<berth_api::LabelSelector>, Error> {
    let Some(sel) = pdb.spec.as_ref().and_then(|s| s.selector.as_ref()) else {
        return Ok(None);
    };
    let selector = berth_api::LabelSelector::from_meta(sel).map_err(|e| Error::Selector {
        object: format!(
            "poddisruptionbudget {}/{}",
            pdb.namespace().unwrap_or_default(),
            pdb.name_any()
        ),
        message: e.to_string(),
    })?;
    Ok((!selector.is_empty()).then_some(selector))
}

/// The budgets in the pod's namespace that select it.
fn covering(pdbs: &Store<PodDisruptionBudget>, pod: &Pod) -> Vec<Arc<PodDisruptionBudget>> {
    pdbs.state()
        .into_iter()
        .filter(|pdb| pdb.namespace() == pod.namespace())
        .filter(|pdb| {
            selector_of(pdb)
                .ok()
                .flatten()
                .is_some_and(|s| s.matches(pod.labels()))
        })
        .collect()
}

/// The pods in the budget's namespace that its selector matches.
fn pods_for(ctx: &Context, pdb: &PodDisruptionBudget) -> Result<Vec<Arc<Pod>>, Error> {
    let Some(selector) = selector_of(pdb)? else {
        return Ok(Vec::new());
    };
    let ns = pdb.namespace();
    Ok(ctx
        .pods
        .state()
        .into_iter()
        .filter(|p| p.namespace() == ns && selector.matches(p.labels()))
        .collect())
}

async fn reconcile(pdb: Arc<PodDisruptionBudget>, ctx: Arc<Context>) -> Result<Action, Error> {
    let now = Timestamp::now();
    match try_sync(&ctx, &pdb, now).await {
        Ok(recheck) => Ok(recheck.map_or_else(Action::await_change, Action::requeue)),
        Err(e) if e.is_conflict() => Err(e),
        Err(e) => {
            tracing::warn!(pdb = %pdb.name_any(), error = %e, "disruption budget sync failed");
            let failed = status::failed(&pdb, &e.to_string(), now);
            status::update(&ctx.client, &pdb, failed).await?;
            Err(e)
        }
    }
}

/// Upstream's trySync; returns when to look again (a disrupted pod's
/// deletion deadline), if ever.
async fn try_sync(
    ctx: &Context,
    pdb: &PodDisruptionBudget,
    now: Timestamp,
) -> Result<Option<std::time::Duration>, Error> {
    let pods = pods_for(ctx, pdb)?;
    if pods.is_empty() {
        ctx.recorder.record(
            pdb,
            EventType::Normal,
            "NoPods",
            "No matching pods found".into(),
        );
    }
    let counts = match expected::expected_pod_count(ctx, pdb, &pods).await {
        Ok(c) => c,
        Err(e) => {
            ctx.recorder.record(
                pdb,
                EventType::Warning,
                "CalculateExpectedPodCountFailed",
                format!("Failed to calculate the number of expected pods: {e}"),
            );
            return Err(e);
        }
    };
    if counts.unmanaged > 0 {
        ctx.recorder.record(
            pdb,
            EventType::Warning,
            "UnmanagedPods",
            "Pods selected by this PodDisruptionBudget were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value.".into(),
        );
    }
    let (disrupted, recheck) = status::disrupted_pods(pdb, &pods, now);
    let current_healthy = status::count_healthy(&pods, &disrupted, now);
    let new_status = status::calculate(pdb, current_healthy, counts, disrupted, now);
    status::update(&ctx.client, pdb, new_status).await?;
    Ok(recheck.and_then(|at| std::time::Duration::try_from(at.duration_since(now)).ok()))
}
