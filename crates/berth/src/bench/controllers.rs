//! `berth bench controllers` (issue 4): a Deployment scaled 0 → N replicas
//! on fake nodes (time until every pod is created, and until all are
//! available with the fake kubelet), then a rolling update of M replicas,
//! and the resident memory of the controller manager.
//!
//! The API server (`berth server`) and the controller manager (`berth
//! controller-manager`, no leader election) are child processes of this
//! very binary; the fake kubelet runs in this process. The RSS printed is
//! the controller manager's, read from /proc.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::Args;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

use super::child::{ManagerChild, ServerChild, client, peak_rss_mib, rss_mib};

// The fake kubelet is test code kept in berth-testkit, which the binary
// does not depend on; the same source is compiled in here.
#[allow(dead_code, clippy::all)]
#[path = "../../../berth-testkit/src/fake_kubelet.rs"]
mod fake_kubelet;

#[derive(Args, Debug)]
pub struct ControllersBenchArgs {
    /// Replicas to scale a Deployment to.
    #[arg(long, default_value_t = 10000)]
    pub replicas: i32,
    /// Fake nodes the pods are bound to.
    #[arg(long, default_value_t = 100)]
    pub nodes: usize,
    /// Replicas of the Deployment that is rolled to a new image.
    #[arg(long, default_value_t = 1000)]
    pub rolling: i32,
    /// Give up on a phase after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

fn deployment(name: &str, replicas: i32) -> Result<Deployment> {
    Ok(serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}
    }))?)
}

/// Polls `check` every 50 ms until it is true; returns the time taken.
async fn until<F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        if started.elapsed() > timeout {
            bail!("{what}: not done after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(started.elapsed())
}

async fn pods_created(rs: &Api<ReplicaSet>, app: &str, n: i32) -> bool {
    let lp = ListParams::default().labels(&format!("app={app}"));
    rs.list(&lp).await.is_ok_and(|l| {
        l.items
            .iter()
            .map(|r| r.status.as_ref().map_or(0, |s| s.replicas))
            .sum::<i32>()
            >= n
    })
}

async fn complete(d: &Api<Deployment>, name: &str, n: i32) -> bool {
    let Ok(d) = d.get(name).await else {
        return false;
    };
    let Some(s) = d.status.as_ref() else {
        return false;
    };
    s.observed_generation == d.metadata.generation
        && s.updated_replicas == Some(n)
        && s.replicas == Some(n)
        && s.available_replicas == Some(n)
}

pub async fn run(args: ControllersBenchArgs) -> Result<()> {
    let server = ServerChild::start()?;
    let client = client(&server.kubeconfig).await?;
    let timeout = Duration::from_secs(args.timeout);
    let mut kubelet_config = fake_kubelet::FakeKubeletConfig::nodes(args.nodes);
    kubelet_config.concurrency = 128;
    let _kubelet = fake_kubelet::FakeKubelet::start(client.clone(), kubelet_config).await?;
    let manager = ManagerChild::start(&server.kubeconfig, &[])?;
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
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "bench");
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "bench");
    println!(
        "berth bench controllers: {} replicas on {} fake nodes; rolling update of {}",
        args.replicas, args.nodes, args.rolling
    );
    println!(
        "  (API server and controller manager are child processes; the fake kubelet runs in this one)"
    );

    deployments
        .create(&PostParams::default(), &deployment("scale", 0)?)
        .await?;
    until("deployment observed", timeout, || {
        complete(&deployments, "scale", 0)
    })
    .await?;
    let rss_before = rss_mib(manager.pid());
    let scale = Patch::Merge(json!({"spec": {"replicas": args.replicas}}));
    deployments
        .patch("scale", &PatchParams::default(), &scale)
        .await?;
    let started = Instant::now();
    until("pods created", timeout, || {
        pods_created(&replica_sets, "scale", args.replicas)
    })
    .await?;
    let created = started.elapsed();
    until("pods available", timeout, || {
        complete(&deployments, "scale", args.replicas)
    })
    .await?;
    let available = started.elapsed();
    let rss_at_scale = rss_mib(manager.pid());
    println!(
        "scale 0 -> {}: all pods created in {:.2} s ({:.0} pods/s), all available in {:.2} s",
        args.replicas,
        created.as_secs_f64(),
        f64::from(args.replicas) / created.as_secs_f64(),
        available.as_secs_f64()
    );
    println!(
        "controller-manager RSS: {rss_before:.1} MiB before, {rss_at_scale:.1} MiB at {} pods; API server {:.1} MiB",
        args.replicas,
        server.rss_mib()
    );

    deployments
        .patch(
            "scale",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 0}})),
        )
        .await?;
    until("scaled back to 0", timeout, || {
        complete(&deployments, "scale", 0)
    })
    .await?;
    deployments
        .create(&PostParams::default(), &deployment("roll", args.rolling)?)
        .await?;
    until("rolling deployment available", timeout, || {
        complete(&deployments, "roll", args.rolling)
    })
    .await?;
    let image = Patch::Strategic(
        json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}}}}),
    );
    deployments
        .patch("roll", &PatchParams::default(), &image)
        .await?;
    let rolled = until("rolling update complete", timeout, || {
        complete(&deployments, "roll", args.rolling)
    })
    .await?;
    println!(
        "rolling update of {} replicas (maxSurge 25%, maxUnavailable 25%): {:.2} s",
        args.rolling,
        rolled.as_secs_f64()
    );
    println!(
        "controller-manager peak RSS: {:.1} MiB",
        peak_rss_mib(manager.pid())
    );
    Ok(())
}
