//! `berth up`: the whole single-node cluster in one process. Every
//! component is an API client over loopback, exactly as if it ran alone;
//! they share one shutdown signal.

use std::future::Future;

use anyhow::{Context, Result};
use berth_apiserver::ServerConfig;
use clap::{Args, FromArgMatches};
use tokio::sync::watch;

use super::UpArgs;

/// A component's flags parsed from words, so `berth up` uses exactly the
/// defaults the standalone command has.
fn args_of<T: Args + FromArgMatches>(words: &[String]) -> Result<T> {
    let cmd = T::augment_args(clap::Command::new("berth-up-component").no_binary_name(true));
    let matches = cmd.try_get_matches_from(words)?;
    Ok(T::from_arg_matches(&matches)?)
}

pub fn hostname() -> String {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let h = h.trim().to_ascii_lowercase();
    if h.is_empty() { "berth".into() } else { h }
}

/// Every component's flags, parsed (and so validated) before anything starts.
struct Components {
    controllers: super::controllers::ControllerManagerArgs,
    scheduler: super::scheduler::SchedulerArgs,
    agent: Option<super::agent::AgentArgs>,
}

fn components(args: &UpArgs, kubeconfig: &str) -> Result<Components> {
    let kc = vec!["--kubeconfig".to_string(), kubeconfig.to_string()];
    // Node IPAM gives the node its podCIDR, which the agent's pod network
    // (CNI bridge) is built on: keep it on whatever the default becomes.
    let mut cm_words = kc.clone();
    cm_words.push("--allocate-node-cidrs=true".into());
    cm_words.extend(args.controller_manager_arg.iter().cloned());
    let mut sched_words = kc.clone();
    sched_words.extend(args.scheduler_arg.iter().cloned());
    let agent = if args.disable_agent {
        None
    } else {
        let node = args.node_name.clone().unwrap_or_else(hostname);
        let mut words = kc;
        words.extend([
            "--node-name".into(),
            node,
            "--data-dir".into(),
            args.data_dir.join("agent").display().to_string(),
        ]);
        words.extend(args.agent_arg.iter().cloned());
        Some(args_of(&words).context("--agent-arg")?)
    };
    Ok(Components {
        controllers: args_of(&cm_words).context("--controller-manager-arg")?,
        scheduler: args_of(&sched_words).context("--scheduler-arg")?,
        agent,
    })
}

pub async fn run(args: UpArgs, signal: impl Future<Output = ()>) -> Result<()> {
    let server_dir = args.data_dir.join("server");
    let planned = server_dir.join("admin.kubeconfig").display().to_string();
    let parts = components(&args, &planned)?;
    let mut config = ServerConfig::new(server_dir);
    config.secure_port = args.secure_port;
    let server = berth_apiserver::start(config)
        .await
        .context("starting the API server")?;
    let kubeconfig = server.kubeconfig.display().to_string();
    let (stop, stopped) = watch::channel(false);
    let until_stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(super::controllers::run(
        parts.controllers,
        until_stopped(stopped.clone()),
    ));
    tasks.spawn(super::scheduler::run(
        parts.scheduler,
        until_stopped(stopped.clone()),
    ));
    if let Some(agent) = parts.agent {
        tasks.spawn(super::agent::run(agent, until_stopped(stopped.clone())));
    }
    if !args.disable_dns {
        let dns = dns_options(&server)?;
        let client = super::scheduler::client(&server.kubeconfig).await?;
        let until = until_stopped(stopped.clone());
        tasks.spawn(async move { Ok(berth_dns::run(client, dns, until).await?) });
    }
    println!(
        "berth: cluster is up; API server on https://{}",
        server.addr
    );
    println!("berth: kubeconfig: {kubeconfig}");
    println!("berth: try: KUBECONFIG={kubeconfig} kubectl get nodes");
    let failed = tokio::select! {
        _ = signal => None,
        done = tasks.join_next() => done,
    };
    let _ = stop.send(true);
    while let Some(done) = tasks.join_next().await {
        report(done);
    }
    server.shutdown().await;
    match failed {
        Some(done) => report_fatal(done),
        None => Ok(()),
    }
}

/// The cluster DNS on this node's address, port 53, published as
/// `kube-dns` at the tenth address of the service range.
fn dns_options(server: &berth_apiserver::RunningServer) -> Result<berth_dns::DnsOptions> {
    let node_ip: std::net::IpAddr = berth_agent::node::default_ip()
        .parse()
        .context("this node's address")?;
    let service_ip = std::net::IpAddr::V4(server.state.config.service_cluster_ip_range.nth(10));
    let options = super::dns::options(node_ip, service_ip);
    options.validate()?;
    Ok(options)
}

fn report(done: Result<Result<()>, tokio::task::JoinError>) {
    match done {
        Ok(Err(e)) => tracing::warn!(
            error = format!("{e:#}"),
            "a component stopped with an error"
        ),
        Err(e) => tracing::warn!(error = %e, "a component panicked"),
        Ok(Ok(())) => {}
    }
}

/// A component that ended before the cluster was asked to stop ends `berth up`.
fn report_fatal(done: Result<Result<()>, tokio::task::JoinError>) -> Result<()> {
    match done {
        Ok(Ok(())) => anyhow::bail!("a component stopped unexpectedly"),
        Ok(Err(e)) => Err(e.context("a component failed")),
        Err(e) => Err(anyhow::anyhow!("a component panicked: {e}")),
    }
}
