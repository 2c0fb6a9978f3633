//! The patch benchmark of issue "Full kubectl … fidelity": strategic-merge
//! and server-side-apply patches on a 50-container Deployment from
//! concurrent clients, and the latency of the cached OpenAPI v3 document.

use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::api::wait_ready;
use super::child::ServerChild;
use super::child::client;
use super::percentile;

#[derive(Args, Debug)]
pub struct PatchBenchArgs {
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Patches of each kind.
    #[arg(long, default_value_t = 10_000)]
    pub patches: usize,
    /// Containers in the Deployment.
    #[arg(long, default_value_t = 50)]
    pub containers: usize,
}

fn containers(n: usize, image: &str) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({"name": format!("c{i}"), "image": image, "ports": [{"containerPort": 8000 + i}],
            "env": [{"name": "INDEX", "value": i.to_string()}]})
        })
        .collect()
}

fn deployment(n: usize) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "big"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "big"}},
            "template": {"metadata": {"labels": {"app": "big"}}, "spec": {"containers": containers(n, "busybox:1.36")}}}})
}

/// Runs `total` patches over `clients` tasks; returns (patches/s, latencies ms).
async fn run_patches(
    apis: &[Api<Deployment>],
    total: usize,
    ssa: bool,
    n: usize,
) -> Result<(f64, Vec<f64>)> {
    let started = Instant::now();
    let per = total.div_ceil(apis.len());
    let tasks: Vec<_> = apis
        .iter()
        .enumerate()
        .map(|(w, api)| {
            let api = api.clone();
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per);
                for i in 0..per {
                    let t = Instant::now();
                    if ssa {
                        // Each client is its own manager of one container's image.
                        let mut applied = deployment(n);
                        applied["spec"]["template"]["spec"]["containers"] = json!([{"name": format!("c{}", w % n), "image": format!("busybox:{i}")}]);
                        let params = PatchParams::apply(&format!("bench-{w}")).force();
                        api.patch("big", &params, &Patch::Apply(&applied)).await?;
                    } else {
                        let patch = json!({"spec": {"template": {"spec": {"containers": [
                            {"name": format!("c{}", (w + i) % n), "image": format!("busybox:{i}")}]}}}});
                        api.patch("big", &PatchParams::default(), &Patch::Strategic(&patch)).await?;
                    }
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                Ok::<_, kube::Error>(lat)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by(f64::total_cmp);
    Ok((all.len() as f64 / started.elapsed().as_secs_f64(), all))
}

async fn openapi_latency(c: &kube::Client) -> Result<Vec<f64>> {
    let mut lat = Vec::new();
    for _ in 0..50 {
        let req = http::Request::get("/openapi/v3/apis/apps/v1").body(Vec::new())?;
        let t = Instant::now();
        let body = c.request_text(req).await?;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        if !body.contains("io.k8s.api.apps.v1.Deployment") {
            bail!("the apps/v1 document lacks the Deployment schema");
        }
    }
    lat.sort_by(f64::total_cmp);
    Ok(lat)
}

pub async fn run(args: PatchBenchArgs) -> Result<()> {
    let server = ServerChild::start()?;
    let admin = client(&server.kubeconfig).await?;
    wait_ready(&admin).await?;
    let n = args.containers.max(1);
    let api: Api<Deployment> = Api::namespaced(admin.clone(), "default");
    api.create(
        &PostParams::default(),
        &serde_json::from_value(deployment(n))?,
    )
    .await?;
    let mut apis = Vec::new();
    for _ in 0..args.clients.max(1) {
        apis.push(Api::namespaced(
            client(&server.kubeconfig).await?,
            "default",
        ));
    }
    println!(
        "berth bench patch: {} clients, {} patches of each kind, Deployment with {n} containers",
        args.clients, args.patches
    );
    for (label, ssa) in [("strategic merge", false), ("server-side apply", true)] {
        let (rate, lat) = run_patches(&apis, args.patches, ssa, n).await?;
        println!(
            "{label}: {rate:.0} patches/s; latency p50 {:.2} ms, p99 {:.2} ms",
            percentile(&lat, 50.0),
            percentile(&lat, 99.0)
        );
    }
    let d = api.get("big").await?;
    let count = d
        .spec
        .and_then(|s| s.template.spec)
        .map(|s| s.containers.len())
        .unwrap_or(0);
    if count != n {
        bail!("the Deployment has {count} containers after patching, want {n}");
    }
    let lat = openapi_latency(&admin).await?;
    println!(
        "openapi v3 apps/v1 (cached, client-measured over HTTPS): p50 {:.2} ms, p99 {:.2} ms",
        percentile(&lat, 50.0),
        percentile(&lat, 99.0)
    );
    Ok(())
}
