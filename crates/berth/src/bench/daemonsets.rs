//! `berth bench daemonsets` (issue 5): a DaemonSet rolled out over N fake
//! nodes (time until every node runs an available daemon pod), then a
//! rolling update of its template with `maxUnavailable` (time until every
//! pod is updated and available). Node registration is timed separately.
//!
//! The API server and the controller manager are child processes of this
//! very binary; the fake kubelet runs in this process and binds each
//! daemon pod to the node its required node affinity names (there is no
//! scheduler), so the figures are the controller's and the API server's.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

use super::child::{ManagerChild, ServerChild, client, peak_rss_mib};

// The fake kubelet is test code kept in berth-testkit, which the binary
// does not depend on; the same source is compiled in here.
#[allow(dead_code, clippy::all)]
#[path = "../../../berth-testkit/src/fake_kubelet.rs"]
mod fake_kubelet;

#[derive(Args, Debug)]
pub struct DaemonSetsBenchArgs {
    /// Fake nodes the DaemonSet runs on.
    #[arg(long, default_value_t = 1000)]
    pub nodes: usize,
    /// `maxUnavailable` of the rolling update (a number or a percentage).
    #[arg(long, default_value = "10%")]
    pub max_unavailable: String,
    /// `maxSurge` of the rolling update (0 for none).
    #[arg(long, default_value = "0")]
    pub max_surge: String,
    /// Give up on a phase after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

fn int_or_percent(s: &str) -> serde_json::Value {
    s.parse::<i64>().map_or_else(|_| json!(s), |n| json!(n))
}

fn daemon_set(args: &DaemonSetsBenchArgs) -> Result<DaemonSet> {
    Ok(serde_json::from_value(json!({
        "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {
                "maxUnavailable": int_or_percent(&args.max_unavailable),
                "maxSurge": int_or_percent(&args.max_surge)}},
            "template": {"metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}
    }))?)
}

/// Polls the DaemonSet every 50 ms until `check` holds for its status at
/// its current generation; returns the time taken.
async fn until(
    api: &Api<DaemonSet>,
    what: &str,
    timeout: Duration,
    check: impl Fn(&k8s_openapi::api::apps::v1::DaemonSetStatus) -> bool,
) -> Result<Duration> {
    let started = Instant::now();
    loop {
        if let Ok(ds) = api.get("agent").await
            && let Some(s) = ds.status.as_ref()
            && s.observed_generation == ds.metadata.generation
            && check(s)
        {
            return Ok(started.elapsed());
        }
        if started.elapsed() > timeout {
            bail!("{what}: not done after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn rolled_out(n: i32) -> impl Fn(&k8s_openapi::api::apps::v1::DaemonSetStatus) -> bool {
    move |s| {
        s.desired_number_scheduled == n
            && s.updated_number_scheduled == Some(n)
            && s.number_available == Some(n)
            && s.current_number_scheduled == n
    }
}

async fn create_namespace(client: &kube::Client) -> Result<()> {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some("bench".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    Ok(())
}

/// Creates the DaemonSet; prints when every node has its pod and when all
/// pods are available.
async fn rollout(api: &Api<DaemonSet>, args: &DaemonSetsBenchArgs, n: i32) -> Result<()> {
    let timeout = Duration::from_secs(args.timeout);
    api.create(&PostParams::default(), &daemon_set(args)?)
        .await?;
    let started = Instant::now();
    let created = until(api, "daemon pods created", timeout, |s| {
        s.current_number_scheduled == n
    })
    .await?;
    until(api, "rollout", timeout, rolled_out(n)).await?;
    println!(
        "rollout over {n} nodes: every node has its pod after {:.2} s, all available after {:.2} s",
        created.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Changes the image; prints when every pod is updated and available.
async fn rolling_update(api: &Api<DaemonSet>, args: &DaemonSetsBenchArgs, n: i32) -> Result<()> {
    let image = Patch::Strategic(
        json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}}}}),
    );
    api.patch("agent", &PatchParams::default(), &image).await?;
    let timeout = Duration::from_secs(args.timeout);
    let updated = until(api, "rolling update", timeout, rolled_out(n)).await?;
    println!(
        "rolling update over {n} nodes (maxUnavailable {}, maxSurge {}): all updated and available after {:.2} s",
        args.max_unavailable,
        args.max_surge,
        updated.as_secs_f64()
    );
    Ok(())
}

pub async fn run(args: DaemonSetsBenchArgs) -> Result<()> {
    let server = ServerChild::start()?;
    let client = client(&server.kubeconfig).await?;
    let n = i32::try_from(args.nodes).context("too many nodes")?;
    println!(
        "berth bench daemonsets: a DaemonSet over {} fake nodes, then a rolling update (maxUnavailable {}, maxSurge {})",
        args.nodes, args.max_unavailable, args.max_surge
    );
    println!(
        "  (API server and controller manager are child processes; the fake kubelet runs in this one)"
    );
    let mut kubelet_config = fake_kubelet::FakeKubeletConfig::nodes(args.nodes);
    kubelet_config.concurrency = 128;
    let registering = Instant::now();
    let _kubelet = fake_kubelet::FakeKubelet::start(client.clone(), kubelet_config).await?;
    println!(
        "node registration ({} nodes with Leases, one at a time): {:.2} s",
        args.nodes,
        registering.elapsed().as_secs_f64()
    );
    let manager = ManagerChild::start(&server.kubeconfig, &["--allocate-node-cidrs=false"])?;
    create_namespace(&client).await?;
    let api: Api<DaemonSet> = Api::namespaced(client.clone(), "bench");
    rollout(&api, &args, n).await?;
    rolling_update(&api, &args, n).await?;
    println!(
        "controller-manager peak RSS: {:.1} MiB; API server RSS {:.1} MiB",
        peak_rss_mib(manager.pid()),
        server.rss_mib()
    );
    Ok(())
}
