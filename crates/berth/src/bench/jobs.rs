//! `berth bench jobs` (issue 5): one Job with many completions on fake
//! nodes whose pods succeed at once; measures the Job controller's
//! bookkeeping from the first pod created until `status.succeeded`
//! reaches the completions and the Job is Complete (completions/s).
//!
//! The API server and the controller manager are child processes of this
//! very binary; the fake kubelet (binding and finishing pods) runs in this
//! process, so its API calls share the machine with both.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::Args;
use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::watcher;
use serde_json::json;

use super::child::{ManagerChild, ServerChild, client, cpu_seconds};

// Test code kept in berth-testkit, compiled in here (see controllers.rs).
#[allow(dead_code, clippy::all)]
#[path = "../../../berth-testkit/src/fake_kubelet.rs"]
mod fake_kubelet;

#[derive(Args, Debug)]
pub struct JobsBenchArgs {
    /// `spec.completions` of the Job.
    #[arg(long, default_value_t = 10000)]
    pub completions: i32,
    /// `spec.parallelism` of the Job.
    #[arg(long, default_value_t = 500)]
    pub parallelism: i32,
    /// Fake nodes the pods are bound to.
    #[arg(long, default_value_t = 100)]
    pub nodes: usize,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
}

fn job(args: &JobsBenchArgs) -> Result<Job> {
    Ok(serde_json::from_value(json!({
        "metadata": {"name": "bench"},
        "spec": {"completions": args.completions, "parallelism": args.parallelism,
            "template": {"metadata": {"labels": {"app": "bench-job"},
                    "annotations": {fake_kubelet::OUTCOME_ANNOTATION: "succeed"}},
                "spec": {"restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "busybox:1.36"}]}}}
    }))?)
}

/// Records when the first pod of the Job appears in a watch.
fn first_pod_seen(client: &kube::Client) -> Arc<Mutex<Option<Instant>>> {
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let api: Api<Pod> = Api::namespaced(client.clone(), "bench");
    let config = watcher::Config::default().labels("app=bench-job");
    tokio::spawn(async move {
        let mut events = watcher::watcher(api, config).boxed();
        while let Some(event) = events.next().await {
            if let Ok(watcher::Event::Apply(_) | watcher::Event::InitApply(_)) = event {
                if let Ok(mut first) = s.lock() {
                    first.get_or_insert_with(Instant::now);
                }
                return;
            }
        }
    });
    seen
}

/// The API server's write counters for pods and jobs (from /metrics).
async fn request_counts(client: &kube::Client) -> Vec<String> {
    let Ok(req) = http::Request::get("/metrics").body(Vec::new()) else {
        return Vec::new();
    };
    let text = client.request_text(req).await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("apiserver_request_total"))
        .filter(|l| l.contains("resource=\"jobs\"") || l.contains("resource=\"pods\""))
        .filter(|l| {
            !l.contains("verb=\"GET\"")
                && !l.contains("verb=\"LIST\"")
                && !l.contains("verb=\"WATCH\"")
        })
        .map(str::to_string)
        .collect()
}

struct Progress {
    succeeded: i32,
    complete: bool,
}

async fn progress(jobs: &Api<Job>) -> Option<Progress> {
    let s = jobs.get("bench").await.ok()?.status?;
    let complete = s
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Complete" && c.status == "True");
    Some(Progress {
        succeeded: s.succeeded.unwrap_or(0),
        complete,
    })
}

pub async fn run(args: JobsBenchArgs) -> Result<()> {
    let server = ServerChild::start()?;
    let client = client(&server.kubeconfig).await?;
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
    println!(
        "berth bench jobs: completions {} / parallelism {} on {} fake nodes (pods succeed at once)",
        args.completions, args.parallelism, args.nodes
    );
    let first = first_pod_seen(&client);
    let jobs: Api<Job> = Api::namespaced(client.clone(), "bench");
    jobs.create(&PostParams::default(), &job(&args)?).await?;
    let created = Instant::now();
    let cpu_before = cpu_seconds(manager.pid());
    let deadline = created + Duration::from_secs(args.timeout);
    let mut halfway = None;
    loop {
        let p = progress(&jobs).await;
        if let Some(p) = &p {
            if halfway.is_none() && p.succeeded >= args.completions / 2 {
                halfway = Some(Instant::now());
            }
            if p.complete && p.succeeded >= args.completions {
                break;
            }
        }
        if Instant::now() > deadline {
            bail!(
                "job not complete after {}s: succeeded {:?}",
                args.timeout,
                p.map(|p| p.succeeded)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let done = Instant::now();
    let start = first.lock().ok().and_then(|f| *f).unwrap_or(created);
    let took = done.duration_since(start).as_secs_f64();
    println!(
        "first pod → {} succeeded and Complete: {:.2} s = {:.0} completions/s (target ≥ 1000)",
        args.completions,
        took,
        f64::from(args.completions) / took
    );
    if let Some(h) = halfway {
        println!(
            "  first half {:.2} s, second half {:.2} s; job created → first pod {:.3} s",
            h.duration_since(start).as_secs_f64(),
            done.duration_since(h).as_secs_f64(),
            start.duration_since(created).as_secs_f64()
        );
    }
    for line in request_counts(&client).await {
        println!("  {line}");
    }
    println!(
        "  CPU seconds during the run: controller-manager {:.1}, API server {:.1} (total)",
        cpu_seconds(manager.pid()) - cpu_before,
        cpu_seconds(server.pid())
    );
    Ok(())
}
