//! `berth why pod NAME`: why a pod is (or would be) placed where it is, or
//! pending. Lists nodes, pods and namespaces from the API into a scheduler
//! snapshot, runs the pod's profile on every node (no sampling) and prints,
//! node by node, the plugin that rejected it with the numbers behind it
//! (requested vs free), then the best feasible nodes with their scores.
//!
//! Not here: default topology-spread constraints from workload selectors,
//! nominated pods' reservations, `why service` (another command).

mod service;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use berth_scheduler::explain::{Explanation, ResourceUse, explain};
use berth_scheduler::framework::Profile;
use berth_scheduler::pod_info::PodInfo;
use berth_scheduler::service::SchedulerConfiguration;
use berth_scheduler::snapshot::Snapshot;
use clap::{Args, Subcommand};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::Client;
use kube::api::{Api, ListParams};

/// How many feasible nodes to print.
const BEST_NODES: usize = 5;

#[derive(Subcommand, Debug, Clone)]
pub enum WhyCommand {
    /// Why a pod is pending, or why it went where it went: each node's
    /// verdict (plugin and numbers) and the best-scoring nodes.
    Pod(WhyPodArgs),
    /// A Service's endpoints (ready or not, and why), the nftables rules
    /// that carry it on this node, and its DNS names.
    Service(service::WhyServiceArgs),
}

#[derive(Args, Debug, Clone)]
pub struct WhyPodArgs {
    /// The pod's name.
    pub name: String,
    /// The pod's namespace.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// The data dir of `berth up` (its admin kubeconfig is there).
    #[arg(long, default_value = "/var/lib/berth")]
    pub data_dir: PathBuf,
    /// A kubeconfig to use instead of the data dir's admin kubeconfig.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The scheduler's KubeSchedulerConfiguration, if it runs with one.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub async fn run(cmd: WhyCommand) -> Result<()> {
    match cmd {
        WhyCommand::Service(args) => service::run(args).await,
        WhyCommand::Pod(args) => {
            let kubeconfig = args
                .kubeconfig
                .clone()
                .unwrap_or_else(|| args.data_dir.join("server/admin.kubeconfig"));
            let client = super::scheduler::client(&kubeconfig)
                .await
                .with_context(|| {
                    format!("is Berth running? (kubeconfig {})", kubeconfig.display())
                })?;
            let text = match &args.config {
                Some(path) => {
                    let profiles = SchedulerConfiguration::from_file(path)?.build_profiles()?;
                    why_pod_with(&client, &args.namespace, &args.name, &profiles).await?
                }
                None => why_pod(&client, &args.namespace, &args.name).await?,
            };
            print!("{text}");
            Ok(())
        }
    }
}

/// The explanation for one pod with the default profile.
pub async fn why_pod(client: &Client, namespace: &str, name: &str) -> Result<String> {
    let profiles = SchedulerConfiguration::default().build_profiles()?;
    why_pod_with(client, namespace, name, &profiles).await
}

async fn why_pod_with(
    client: &Client,
    namespace: &str,
    name: &str,
    profiles: &[Profile],
) -> Result<String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod = pods
        .get(name)
        .await
        .with_context(|| format!("getting pod {namespace}/{name}"))?;
    let bound = pod.spec.as_ref().and_then(|s| s.node_name.clone());
    // Explain the decision as the scheduler made it: before the binding.
    let mut unbound = pod.clone();
    if let Some(spec) = unbound.spec.as_mut() {
        spec.node_name = None;
    }
    let info = PodInfo::new(Arc::new(unbound)).context("reading the pod's scheduling data")?;
    let scheduler_name = info
        .pod()
        .spec
        .as_ref()
        .and_then(|s| s.scheduler_name.clone())
        .unwrap_or_else(|| "default-scheduler".into());
    let profile = profiles
        .iter()
        .find(|p| p.scheduler_name() == scheduler_name)
        .with_context(|| format!("no scheduler profile named {scheduler_name:?}"))?;
    let snapshot = list_snapshot(client, info.key()).await?;
    let explanation = explain(profile, &snapshot, &info);
    Ok(render(
        &info,
        bound.as_deref(),
        &scheduler_name,
        &explanation,
    ))
}

/// Nodes, namespaces and every assigned, unfinished pod except `skip`.
async fn list_snapshot(client: &Client, skip: &str) -> Result<Snapshot> {
    let lp = ListParams::default();
    let mut snapshot = Snapshot::new();
    for node in Api::<Node>::all(client.clone()).list(&lp).await? {
        snapshot.upsert_node(node)?;
    }
    for ns in Api::<Namespace>::all(client.clone()).list(&lp).await? {
        let name = ns.metadata.name.clone().unwrap_or_default();
        snapshot.set_namespace_labels(&name, ns.metadata.labels.unwrap_or_default());
    }
    for pod in Api::<Pod>::all(client.clone()).list(&lp).await? {
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
        let (Some(node), false) = (node, matches!(phase, Some("Succeeded" | "Failed"))) else {
            continue;
        };
        let info = PodInfo::new(Arc::new(pod))?;
        if info.key() != skip {
            snapshot.add_pod(Arc::new(info), &node);
        }
    }
    Ok(snapshot)
}

fn render(pod: &PodInfo, bound: Option<&str>, scheduler_name: &str, e: &Explanation) -> String {
    let mut out = String::new();
    let nominated = pod
        .pod()
        .status
        .as_ref()
        .and_then(|s| s.nominated_node_name.as_deref());
    let _ = writeln!(
        out,
        "Pod {} (priority {}, scheduler {scheduler_name}): {}",
        pod.key(),
        pod.priority(),
        match (bound, nominated) {
            (Some(node), _) => format!("bound to {node}"),
            (None, Some(node)) => format!("pending, nominated to {node}"),
            (None, None) => "pending".to_owned(),
        }
    );
    let _ = writeln!(out, "Requests: {}", requests(pod));
    if let Some((plugin, message)) = &e.pre_filter {
        let _ = writeln!(
            out,
            "PreFilter {plugin} rejected the pod on every node: {message}"
        );
    }
    let total = e.rejected.len() + e.ranked.len();
    let _ = writeln!(
        out,
        "Nodes: {total}, feasible {}, rejected {}",
        e.ranked.len(),
        e.rejected.len()
    );
    for r in &e.rejected {
        let _ = write!(
            out,
            "  {}: rejected by {}: {}",
            r.node,
            r.plugin,
            r.reasons.join(", ")
        );
        if !r.resources.is_empty() {
            let numbers: Vec<String> = r.resources.iter().map(resource_numbers).collect();
            let _ = write!(out, " [{}]", numbers.join("; "));
        }
        out.push('\n');
    }
    if !e.ranked.is_empty() {
        let _ = writeln!(out, "Best nodes:");
    }
    for r in e.ranked.iter().take(BEST_NODES) {
        let parts: Vec<String> = r
            .by_plugin
            .iter()
            .map(|(name, score, weight)| format!("{name} {score}×{weight}"))
            .collect();
        let _ = writeln!(
            out,
            "  {}: score {} ({})",
            r.node,
            r.total,
            parts.join(", ")
        );
    }
    if let Some(message) = &e.fit_error {
        let _ = writeln!(out, "Summary: {message}");
    }
    out
}

fn requests(pod: &PodInfo) -> String {
    let r = &pod.requests;
    let mut parts = vec![
        format!("cpu {}", quantity("cpu", r.milli_cpu)),
        format!("memory {}", quantity("memory", r.memory)),
    ];
    if r.ephemeral_storage > 0 {
        parts.push(format!(
            "ephemeral-storage {}",
            quantity("memory", r.ephemeral_storage)
        ));
    }
    for (name, value) in &r.scalar {
        parts.push(format!("{name} {value}"));
    }
    parts.join(", ")
}

fn resource_numbers(u: &ResourceUse) -> String {
    let q = |v| quantity(&u.resource, v);
    format!(
        "{}: requested {}, free {} of {} allocatable",
        u.resource,
        q(u.requested),
        q(u.free),
        q(u.allocatable)
    )
}

/// Millicores as `1500m`, bytes as `512Mi` (or plain bytes), counts as is.
fn quantity(resource: &str, value: i64) -> String {
    const MI: i64 = 1024 * 1024;
    match resource {
        "cpu" => format!("{value}m"),
        "memory" | "ephemeral-storage" if value % MI == 0 => format!("{}Mi", value / MI),
        _ => value.to_string(),
    }
}
