//! `berth bench up` (issue 8): how fast a cold `berth up` becomes useful
//! and how little it costs at rest.
//!
//! Phases: cold start → kubeconfig written → node Ready; the demo image
//! imported; a 1-replica hello Deployment → first pod Running; idle RSS and
//! CPU of the `berth up` process (containerd reported separately); a scale
//! to 100 replicas → all Running.
//!
//! Everything runs inside a network namespace the benchmark creates (the
//! bench re-executes itself there with `nsenter --net`), so the cluster's
//! bridge, routes and nftables rules never touch the machine's own
//! network; the namespace and data dir are removed at the end.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use super::child::{client, cpu_seconds, rss_mib};

#[derive(Args, Debug)]
pub struct UpBenchArgs {
    /// Replicas of the scaled Deployment.
    #[arg(long, default_value_t = 100)]
    pub replicas: usize,
    /// Seconds of idle sampling for RSS and CPU.
    #[arg(long, default_value_t = 10)]
    pub idle_seconds: u64,
    /// Internal: already inside the benchmark's network namespace.
    #[arg(long, hide = true)]
    pub inside: bool,
}

/// The namespace, deleted on drop.
struct NetNs(String);

impl NetNs {
    fn create() -> Result<Self> {
        let name = format!("berth-bench-up-{}", std::process::id());
        run("ip", &["netns", "add", &name])?;
        let ns = Self(name);
        let n = ns.0.as_str();
        run("ip", &["-n", n, "link", "set", "lo", "up"])?;
        // A node address and a default route, as a machine has (a veth
        // pair with both ends inside: nothing leaves the namespace).
        run(
            "ip",
            &[
                "-n", n, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
            ],
        )?;
        run("ip", &["-n", n, "link", "set", "eth1", "up"])?;
        run(
            "ip",
            &["-n", n, "addr", "add", "192.168.123.1/24", "dev", "eth0"],
        )?;
        run("ip", &["-n", n, "link", "set", "eth0", "up"])?;
        run("ip", &["-n", n, "route", "add", "default", "dev", "eth0"])?;
        Ok(ns)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.0])
            .status();
    }
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!(
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

pub async fn run_bench(args: UpBenchArgs) -> Result<()> {
    if args.inside {
        return inside(&args).await;
    }
    let ns = NetNs::create()?;
    let exe = std::env::current_exe().context("finding the berth binary")?;
    // nsenter, not `ip netns exec`: that remounts /sys, hiding the cgroup
    // mounts runc needs.
    let status = Command::new("nsenter")
        .arg(format!("--net=/var/run/netns/{}", ns.0))
        .arg(&exe)
        .args(["bench", "up", "--inside"])
        .args(["--replicas", &args.replicas.to_string()])
        .args(["--idle-seconds", &args.idle_seconds.to_string()])
        .status()
        .context("running the benchmark in its network namespace")?;
    drop(ns);
    if !status.success() {
        bail!("the benchmark failed ({status})");
    }
    Ok(())
}

/// `berth up` as a child; on drop: SIGKILL, then `berth reset` of its dir.
struct UpChild {
    child: Child,
    data_dir: PathBuf,
}

impl Drop for UpChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Ok(exe) = std::env::current_exe() {
            let _ = Command::new(exe)
                .args(["reset", "--data-dir"])
                .arg(&self.data_dir)
                .stdout(Stdio::null())
                .status();
        }
    }
}

async fn poll<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn inside(args: &UpBenchArgs) -> Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("berth-bench-up-")
        .tempdir_in("/var/tmp")
        .context("making a data dir")?;
    let data = dir.path().to_path_buf();
    let exe = std::env::current_exe().context("finding the berth binary")?;
    let started = Instant::now();
    let child = Command::new(&exe)
        .args(["up", "--node-name", "bench-node", "--data-dir"])
        .arg(&data)
        .env("BERTH_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("starting berth up")?;
    let up = UpChild {
        child,
        data_dir: data.clone(),
    };
    let kubeconfig = data.join("server/admin.kubeconfig");
    poll("the kubeconfig", Duration::from_secs(30), || async {
        kubeconfig.exists().then_some(())
    })
    .await?;
    let t_kubeconfig = started.elapsed();
    let c = client(&kubeconfig).await?;
    let nodes: Api<Node> = Api::all(c.clone());
    poll("the node Ready", Duration::from_secs(60), || async {
        let node = nodes.get_opt("bench-node").await.ok().flatten()?;
        let ready = node
            .status?
            .conditions?
            .into_iter()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        ready.then_some(())
    })
    .await?;
    let t_ready = started.elapsed();
    println!(
        "berth bench up: cold start → kubeconfig {:.2} s, → node Ready {:.2} s (target ≤ 3 s)",
        t_kubeconfig.as_secs_f64(),
        t_ready.as_secs_f64()
    );
    let t = Instant::now();
    import_demo_image(&exe, &data)?;
    println!(
        "  demo image built and imported in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    first_pod(&c, started).await?;
    idle(up.child.id(), &data, args.idle_seconds).await?;
    scale(&c, args.replicas).await?;
    drop(up);
    Ok(())
}

fn import_demo_image(exe: &Path, data: &Path) -> Result<()> {
    let archive = data.join("hello.tar");
    let archive_s = archive.to_string_lossy().to_string();
    let status = Command::new(exe)
        .args(["image", "build-demo", &archive_s])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("berth image build-demo failed");
    }
    let agent = data.join("agent").to_string_lossy().to_string();
    let status = Command::new(exe)
        .args(["image", "import", &archive_s, "--data-dir", &agent])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("berth image import failed");
    }
    Ok(())
}

fn hello(replicas: usize) -> Result<k8s_openapi::api::apps::v1::Deployment> {
    Ok(serde_json::from_value(json!({
        "metadata": {"name": "hello"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "hello"}},
            "template": {"metadata": {"labels": {"app": "hello"}},
                "spec": {"terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "hello", "image": "berth.local/hello:1",
                        "imagePullPolicy": "IfNotPresent"}]}}}
    }))?)
}

async fn running(pods: &Api<Pod>) -> usize {
    let list = pods.list(&ListParams::default().labels("app=hello")).await;
    list.map(|l| {
        l.items
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .count()
    })
    .unwrap_or(0)
}

async fn first_pod(c: &kube::Client, started: Instant) -> Result<()> {
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(c.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    let t = Instant::now();
    deployments
        .create(&PostParams::default(), &hello(1)?)
        .await?;
    poll("the first pod Running", Duration::from_secs(60), || async {
        (running(&pods).await >= 1).then_some(())
    })
    .await?;
    println!(
        "  hello Deployment → first pod Running {:.2} s after creation, {:.2} s after cold start (target ≤ 5 s)",
        t.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn idle(up_pid: u32, data: &Path, seconds: u64) -> Result<()> {
    let pid_file = berth_agent::containerd::ContainerdPaths::new(&data.join("agent")).pid_file();
    let containerd_pid: Option<u32> = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let secs = seconds.max(1) as f64;
    let before = cpu_seconds(up_pid);
    let cd_before = containerd_pid.map_or(0.0, cpu_seconds);
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let cpu = (cpu_seconds(up_pid) - before) / secs * 100.0;
    println!(
        "  idle (1 pod): berth up RSS {:.1} MiB (target ≤ 60), CPU {cpu:.2} % of a core (target ≤ 3 %)",
        rss_mib(up_pid)
    );
    if let Some(p) = containerd_pid {
        let cd_cpu = (cpu_seconds(p) - cd_before) / secs * 100.0;
        println!(
            "  containerd: RSS {:.1} MiB, CPU {cd_cpu:.2} % of a core",
            rss_mib(p)
        );
    }
    Ok(())
}

async fn scale(c: &kube::Client, replicas: usize) -> Result<()> {
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(c.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    let t = Instant::now();
    let patch = json!({"spec": {"replicas": replicas}});
    deployments
        .patch_scale("hello", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    poll(
        "every replica Running",
        Duration::from_secs(300),
        || async { (running(&pods).await >= replicas).then_some(()) },
    )
    .await?;
    println!(
        "  {replicas}-pod Deployment all Running in {:.2} s (target ≤ 20 s)",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
