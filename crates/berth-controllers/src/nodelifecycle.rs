//! Node lifecycle, as upstream's `pkg/controller/nodelifecycle`: a node
//! whose Lease (or Ready heartbeat) is older than the grace period gets its
//! conditions set to Unknown; Ready=Unknown/False nodes get the
//! `node.kubernetes.io/unreachable` / `not-ready` taints (NoSchedule and
//! NoExecute) and their pods are marked not ready; the NoExecute taint
//! manager ([`eviction`]) deletes pods once their tolerations run out.
//!
//! Health is judged from the Lease's `renewTime` as written by the kubelet,
//! on this machine's clock (upstream uses its own observation time, which
//! is immune to clock skew between machines).

mod eviction;
pub mod taints;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::events::Recorder;
use crate::informer::{Change, Informer};
use crate::{Error, workqueue};

pub const LEASE_NAMESPACE: &str = "kube-node-lease";

pub struct Context {
    pub client: Client,
    pub leases: Store<Lease>,
    pub pods: Store<Pod>,
    pub recorder: Recorder,
    pub grace: Duration,
    pub monitor_period: Duration,
}

/// Wires the controller; `leases` should watch `kube-node-lease` only.
pub fn register(
    client: Client,
    nodes: &mut Informer<Node>,
    leases: &mut Informer<Lease>,
    pods: &mut Informer<Pod>,
    grace: Duration,
    monitor_period: Duration,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let (queue, rx) = workqueue::queue::<Node>();
    let q = queue.clone();
    nodes.on_change(move |change| {
        if let Change::Applied { new, .. } = change {
            q.add(ObjectRef::from_obj(*new));
        }
    });
    let q = queue.clone();
    leases.on_change(move |change| q.add_named(None, &change.object().name_any()));
    let q = queue.clone();
    pods.on_change(move |change| {
        if let Change::Applied { old: None, new } = change
            && let Some(node) = new.spec.as_ref().and_then(|s| s.node_name.as_deref())
        {
            q.add_named(None, node);
        }
    });
    let ctx = Arc::new(Context {
        recorder: Recorder::new(client.clone(), "node-controller"),
        client,
        leases: leases.store(),
        pods: pods.store(),
        grace,
        monitor_period,
    });
    workqueue::run(
        "nodelifecycle",
        nodes.primary(),
        (queue, rx),
        reconcile,
        ctx,
        4,
    )
}

fn ready_condition(node: &Node) -> Option<&NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

/// The last sign of life: the Lease renewal or the Ready heartbeat,
/// whichever is newer (the creation time for a node that never reported).
fn last_heartbeat(node: &Node, lease: Option<&Lease>) -> Timestamp {
    let renew = lease
        .and_then(|l| l.spec.as_ref()?.renew_time.as_ref())
        .map(|t| t.0);
    let beat = ready_condition(node)
        .and_then(|c| c.last_heartbeat_time.as_ref())
        .map(|t| t.0);
    let created = node.metadata.creation_timestamp.as_ref().map(|t| t.0);
    [renew, beat, created]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

async fn reconcile(node: Arc<Node>, ctx: Arc<Context>) -> Result<Action, Error> {
    let name = node.name_any();
    let lease = ctx
        .leases
        .get(&ObjectRef::new(&name).within(LEASE_NAMESPACE));
    let now = Timestamp::now();
    let silent_for = now.duration_since(last_heartbeat(&node, lease.as_deref()));
    let grace = jiff::SignedDuration::try_from(ctx.grace).unwrap_or(jiff::SignedDuration::MAX);
    let mut node = (*node).clone();
    if silent_for > grace {
        mark_unknown(&ctx.client, &mut node, now).await?;
    }
    let ready = ready_condition(&node)
        .map(|c| c.status.clone())
        .unwrap_or_else(|| "Unknown".into());
    taints::sync(&ctx.client, &mut node, &ready, now).await?;
    if ready != "True" {
        eviction::mark_pods_not_ready(&ctx, &name).await?;
    }
    let next_eviction = eviction::evict(&ctx, &node, now).await?;
    let next_check = if silent_for > grace {
        ctx.monitor_period
    } else {
        Duration::try_from(grace - silent_for).unwrap_or(ctx.monitor_period)
            + Duration::from_millis(200)
    };
    Ok(Action::requeue(
        next_eviction.map_or(next_check, |e| e.min(next_check)),
    ))
}

/// Upstream's tryUpdateNodeHealth when the kubelet went silent: every
/// condition becomes Unknown, "Kubelet stopped posting node status.".
async fn mark_unknown(client: &Client, node: &mut Node, now: Timestamp) -> Result<(), Error> {
    let conditions = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    if !conditions.is_empty() && conditions.iter().all(|c| c.status == "Unknown") {
        return Ok(());
    }
    let mut updated: Vec<NodeCondition> = conditions
        .into_iter()
        .map(|mut c| {
            if c.status != "Unknown" {
                c.status = "Unknown".into();
                c.reason = Some("NodeStatusUnknown".into());
                c.message = Some("Kubelet stopped posting node status.".into());
                c.last_transition_time = Some(Time(now));
            }
            c
        })
        .collect();
    if !updated.iter().any(|c| c.type_ == "Ready") {
        updated.push(NodeCondition {
            type_: "Ready".into(),
            status: "Unknown".into(),
            reason: Some("NodeStatusNeverUpdated".into()),
            message: Some("Kubelet never posted node status.".into()),
            last_transition_time: Some(Time(now)),
            last_heartbeat_time: None,
        });
    }
    let api: Api<Node> = Api::all(client.clone());
    let patch = json!({"status": {"conditions": updated}});
    *node = api
        .patch_status(
            &node.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
        .map_err(|e| Error::api("marking unknown", node.name_any(), e))?;
    tracing::info!(node = %node.name_any(), "node stopped posting status; marked Unknown");
    Ok(())
}
