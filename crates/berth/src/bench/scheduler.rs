//! `berth bench scheduler` (issue 9), after upstream's scheduler_perf: a
//! real `berth server` child, the scheduler in this process, N Node objects
//! and M pods created through the API by concurrent clients; pods bound per
//! second from the first pod created to the last binding seen on a watch.
//!
//! Scenarios: `plain`, `anti-affinity` (required, hostname, per app),
//! `spread` (zone, maxSkew 1, DoNotSchedule, per app), and `decision`
//! (plain pods created before the scheduler starts: its own decision rate).
//! Each runs on a fresh server. "Scheduler RSS" is this whole bench process
//! (scheduler, load clients and the measuring watch), so it over-states the
//! scheduler alone.

mod binding_watch;
mod workload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use berth_scheduler::SchedulerOptions;
use berth_scheduler::service::SchedulerStats;
use clap::{Args, ValueEnum};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::Client;
use kube::api::{Api, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use tokio::sync::oneshot;

use super::child::{ServerChild, client};
use binding_watch::BindingWatch;
use workload::{NAMESPACE, PodShape};

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Plain,
    AntiAffinity,
    Spread,
    Decision,
}

#[derive(Args, Debug)]
pub struct SchedulerBenchArgs {
    /// Node objects to create.
    #[arg(long, default_value_t = 5000)]
    pub nodes: usize,
    /// Pods of the plain and decision scenarios.
    #[arg(long, default_value_t = 50_000)]
    pub pods: usize,
    /// Pods of the anti-affinity scenario.
    #[arg(long, default_value_t = 10_000)]
    pub anti_affinity_pods: usize,
    /// Pods of the spread scenario.
    #[arg(long, default_value_t = 20_000)]
    pub spread_pods: usize,
    /// Apps (label values) the anti-affinity and spread pods are split into.
    #[arg(long, default_value_t = 100)]
    pub apps: usize,
    /// Concurrent clients creating objects.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Scenarios to run, in order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "plain,anti-affinity,spread,decision"
    )]
    pub scenarios: Vec<Scenario>,
    /// Give up waiting for bindings after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
}

pub async fn run(args: SchedulerBenchArgs) -> Result<()> {
    println!(
        "berth bench scheduler: {} nodes, {} clients; pods: plain/decision {}, anti-affinity {}, spread {} ({} apps)",
        args.nodes, args.clients, args.pods, args.anti_affinity_pods, args.spread_pods, args.apps
    );
    for scenario in &args.scenarios {
        let (shape, pods) = match scenario {
            Scenario::Plain | Scenario::Decision => (PodShape::Plain, args.pods),
            Scenario::AntiAffinity => (PodShape::AntiAffinity, args.anti_affinity_pods),
            Scenario::Spread => (PodShape::ZoneSpread, args.spread_pods),
        };
        let prepared = *scenario == Scenario::Decision;
        run_scenario(&args, *scenario, shape, pods, prepared).await?;
    }
    Ok(())
}

/// Timings of one scenario, in phase order.
#[derive(Default)]
struct Phases {
    nodes: Duration,
    pods_created: Duration,
    scheduler_sync: Duration,
    end_to_end: Duration,
}

async fn run_scenario(
    args: &SchedulerBenchArgs,
    scenario: Scenario,
    shape: PodShape,
    pods: usize,
    prepared: bool,
) -> Result<()> {
    let server = ServerChild::start()?;
    let admin = client(&server.kubeconfig).await?;
    wait_ready(&admin).await?;
    create_namespace(&admin).await?;
    let clients = clients(&server.kubeconfig, args.clients).await?;
    let mut phases = Phases::default();
    let started = Instant::now();
    create_nodes(&clients, args.nodes).await?;
    phases.nodes = started.elapsed();
    let mut bindings = BindingWatch::start(&admin, pods).await?;
    let stats = Arc::new(SchedulerStats::default());
    let mut scheduler = None;
    if !prepared {
        scheduler = Some(start_scheduler(&admin, &stats, &mut phases).await?);
    }
    let first_created = Instant::now();
    create_pods(&clients, pods, shape, args.apps).await?;
    phases.pods_created = first_created.elapsed();
    let measured_from = if prepared {
        scheduler = Some(start_scheduler(&admin, &stats, &mut phases).await?);
        Instant::now() - phases.scheduler_sync
    } else {
        first_created
    };
    let last = bindings.wait(Duration::from_secs(args.timeout)).await;
    let bound = bindings.count();
    phases.end_to_end = last.map_or(measured_from.elapsed(), |t| {
        t.saturating_duration_since(measured_from)
    });
    let bench_rss = super::child::rss_mib(std::process::id());
    let server_rss = server.rss_mib();
    if let Some((stop, task)) = scheduler {
        let _ = stop.send(());
        let _ = task.await;
    }
    report(
        scenario, args.nodes, pods, bound, &phases, &stats, bench_rss, server_rss,
    );
    if bound < pods {
        bail!(
            "{scenario:?}: only {bound} of {pods} pods were bound within {}s",
            args.timeout
        );
    }
    Ok(())
}

type SchedulerTask = (oneshot::Sender<()>, tokio::task::JoinHandle<()>);

async fn start_scheduler(
    client: &Client,
    stats: &Arc<SchedulerStats>,
    phases: &mut Phases,
) -> Result<SchedulerTask> {
    let mut options = SchedulerOptions::new("bench-scheduler");
    options.stats = Arc::clone(stats);
    let (stop, stopped) = oneshot::channel::<()>();
    let client = client.clone();
    let started = Instant::now();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(error) = berth_scheduler::run(client, options, shutdown).await {
            eprintln!("berth bench scheduler: scheduler stopped: {error}");
        }
    });
    while !stats.is_synced() {
        if task.is_finished() || started.elapsed() > Duration::from_secs(300) {
            bail!("the scheduler did not sync its caches");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    phases.scheduler_sync = started.elapsed();
    Ok((stop, task))
}

#[allow(clippy::too_many_arguments)]
fn report(
    scenario: Scenario,
    nodes: usize,
    pods: usize,
    bound: usize,
    phases: &Phases,
    stats: &SchedulerStats,
    bench_rss: f64,
    server_rss: f64,
) {
    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    let scheduled = SchedulerStats::get(&stats.scheduled);
    let cycle_secs = SchedulerStats::get(&stats.cycle_nanos) as f64 / 1e9;
    let attempts =
        scheduled + SchedulerStats::get(&stats.unschedulable) + SchedulerStats::get(&stats.errors);
    println!("scenario {scenario:?}: {nodes} nodes, {bound}/{pods} pods bound");
    println!(
        "  nodes created:        {:>8.2} s  ({:.0} nodes/s)",
        phases.nodes.as_secs_f64(),
        rate(nodes, phases.nodes)
    );
    println!(
        "  scheduler caches synced in {:.2} s",
        phases.scheduler_sync.as_secs_f64()
    );
    println!(
        "  pods created:         {:>8.2} s  ({:.0} pods/s)",
        phases.pods_created.as_secs_f64(),
        rate(pods, phases.pods_created)
    );
    let from = if scenario == Scenario::Decision {
        "scheduler start"
    } else {
        "first pod created"
    };
    println!(
        "  bound ({from} -> last binding seen): {:.2} s  => {:.0} pods/s",
        phases.end_to_end.as_secs_f64(),
        rate(bound, phases.end_to_end)
    );
    if scenario == Scenario::Decision {
        let after_sync = phases.end_to_end.saturating_sub(phases.scheduler_sync);
        println!(
            "  bound (caches synced -> last binding seen): {:.2} s  => {:.0} pods/s",
            after_sync.as_secs_f64(),
            rate(bound, after_sync)
        );
    }
    println!(
        "  scheduling cycles: {attempts} ({} unschedulable, {} bind failures); {:.2} s inside cycles => {:.0} decisions/s, {:.0} us/decision",
        SchedulerStats::get(&stats.unschedulable),
        SchedulerStats::get(&stats.bind_failures),
        cycle_secs,
        attempts as f64 / cycle_secs.max(1e-9),
        cycle_secs * 1e6 / (attempts.max(1) as f64)
    );
    println!(
        "  RSS: bench process (scheduler + load clients + watch) {bench_rss:.0} MiB, API server {server_rss:.0} MiB"
    );
}

async fn clients(kubeconfig: &std::path::Path, n: usize) -> Result<Vec<Client>> {
    let mut clients = Vec::with_capacity(n.max(1));
    for _ in 0..n.max(1) {
        clients.push(client(kubeconfig).await?);
    }
    Ok(clients)
}

async fn wait_ready(client: &Client) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    for _ in 0..300 {
        if api.list(&ListParams::default().limit(1)).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the API server did not become ready")
}

async fn create_namespace(client: &Client) -> Result<()> {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(NAMESPACE.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    Ok(())
}

/// Runs `work(i)` for `i` in `0..total`, split over the clients.
async fn spread_over<F, Fut>(clients: &[Client], total: usize, work: F) -> Result<()>
where
    F: Fn(Client, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let n = clients.len();
    let tasks: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(w, c)| {
            let (c, work) = (c.clone(), work.clone());
            tokio::spawn(async move {
                for i in (w..total).step_by(n) {
                    work(c.clone(), i).await?;
                }
                Ok::<_, anyhow::Error>(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok(())
}

async fn create_nodes(clients: &[Client], nodes: usize) -> Result<()> {
    spread_over(clients, nodes, |c, i| async move {
        let api: Api<Node> = Api::all(c);
        let node = workload::node(i);
        let created = api.create(&PostParams::default(), &node).await?;
        let has_status = created
            .status
            .and_then(|s| s.allocatable)
            .is_some_and(|a| !a.is_empty());
        if !has_status {
            let name = node.metadata.name.unwrap_or_default();
            api.patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(workload::node_status()),
            )
            .await?;
        }
        Ok(())
    })
    .await
}

async fn create_pods(clients: &[Client], pods: usize, shape: PodShape, apps: usize) -> Result<()> {
    spread_over(clients, pods, move |c, i| async move {
        let api: Api<Pod> = Api::namespaced(c, NAMESPACE);
        api.create(&PostParams::default(), &workload::pod(i, shape, apps))
            .await?;
        Ok(())
    })
    .await
}
