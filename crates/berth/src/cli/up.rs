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

fn hostname() -> String {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let h = h.trim().to_ascii_lowercase();
    if h.is_empty() { "berth".into() } else { h }
}

pub async fn run(args: UpArgs, signal: impl Future<Output = ()>) -> Result<()> {
    let mut config = ServerConfig::new(args.data_dir.join("server"));
    config.secure_port = args.secure_port;
    let server = berth_apiserver::start(config)
        .await
        .context("starting the API server")?;
    let kubeconfig = server.kubeconfig.display().to_string();
    let (stop, stopped) = watch::channel(false);
    let until_stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let kc = vec!["--kubeconfig".to_string(), kubeconfig.clone()];
    let controllers: super::controllers::ControllerManagerArgs = args_of(&kc)?;
    let scheduler: super::scheduler::SchedulerArgs = args_of(&kc)?;
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(super::controllers::run(
        controllers,
        until_stopped(stopped.clone()),
    ));
    tasks.spawn(super::scheduler::run(
        scheduler,
        until_stopped(stopped.clone()),
    ));
    if !args.disable_agent {
        let node = args.node_name.clone().unwrap_or_else(hostname);
        let mut words = kc.clone();
        words.extend([
            "--node-name".into(),
            node,
            "--data-dir".into(),
            args.data_dir.join("agent").display().to_string(),
        ]);
        let agent: super::agent::AgentArgs = args_of(&words)?;
        tasks.spawn(super::agent::run(agent, until_stopped(stopped.clone())));
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
