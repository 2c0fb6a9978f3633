//! `berth down` and `berth reset`, for a node `berth up` (or `berth agent`)
//! ran on.
//!
//! `down` stops and removes every pod sandbox (and so every container) in
//! the node's private containerd, which keeps running pods across a stopped
//! `berth up` otherwise. `reset` does that, stops containerd, undoes what the
//! node set up on the machine (mounts under the data dir, the service proxy's
//! nftables tables, the pod network's bridge and routes) and deletes the
//! data dir. Both refuse while the cluster's API server still answers: stop
//! `berth up` first (Ctrl-C or SIGTERM).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use berth_agent::containerd::{Containerd, ContainerdPaths};
use berth_agent::cri::RuntimeService;
use berth_agent::cri::remote::RemoteRuntime;
use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct DownArgs {
    /// The data dir of `berth up`.
    #[arg(long, default_value = "/var/lib/berth")]
    pub data_dir: PathBuf,
}

pub async fn down(args: DownArgs) -> Result<()> {
    refuse_while_running(&args.data_dir).await?;
    let stopped = stop_pods(&args.data_dir.join("agent")).await?;
    println!("berth: {stopped} pod(s) stopped and removed");
    Ok(())
}

pub async fn reset(args: DownArgs) -> Result<()> {
    refuse_while_running(&args.data_dir).await?;
    let stopped = stop_pods(&args.data_dir.join("agent")).await?;
    println!("berth: {stopped} pod(s) stopped and removed");
    for step in super::reset_steps::all() {
        if let Err(e) = step.run() {
            eprintln!("berth: {}: {e:#}", step.name);
        }
    }
    let unmounted = unmount_under(&args.data_dir)?;
    if unmounted > 0 {
        println!(
            "berth: {unmounted} mount(s) under {} removed",
            args.data_dir.display()
        );
    }
    match std::fs::remove_dir_all(&args.data_dir) {
        Ok(()) => println!("berth: {} removed", args.data_dir.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", args.data_dir.display())),
    }
    Ok(())
}

/// Fails when the data dir's API server answers: its agent would restart
/// the pods we stop.
async fn refuse_while_running(data_dir: &Path) -> Result<()> {
    let kubeconfig = data_dir.join("server/admin.kubeconfig");
    if !kubeconfig.exists() {
        return Ok(());
    }
    let Ok(client) = super::scheduler::client(&kubeconfig).await else {
        return Ok(());
    };
    let answered = tokio::time::timeout(Duration::from_secs(2), client.apiserver_version()).await;
    if matches!(answered, Ok(Ok(_))) {
        bail!(
            "the cluster in {} is still running: stop `berth up` first (Ctrl-C or SIGTERM)",
            data_dir.display()
        );
    }
    Ok(())
}

/// Stops and removes every pod sandbox in the agent's private containerd
/// (starting it if needed, stopping it after). Returns how many there were.
async fn stop_pods(agent_dir: &Path) -> Result<usize> {
    if !ContainerdPaths::new(agent_dir).config().exists() {
        return Ok(0);
    }
    let containerd = Containerd::start(agent_dir)
        .await
        .context("starting the node's containerd")?;
    let result = remove_sandboxes(&containerd.paths.endpoint()).await;
    containerd.stop().await;
    result
}

async fn remove_sandboxes(endpoint: &str) -> Result<usize> {
    let runtime = RemoteRuntime::connect(endpoint).await?;
    let sandboxes = runtime.list_pod_sandboxes().await?;
    for sandbox in &sandboxes {
        runtime
            .stop_pod_sandbox(&sandbox.id)
            .await
            .with_context(|| format!("stopping pod sandbox {}", sandbox.id))?;
        runtime
            .remove_pod_sandbox(&sandbox.id)
            .await
            .with_context(|| format!("removing pod sandbox {}", sandbox.id))?;
    }
    Ok(sandboxes.len())
}

/// Mount points at or under `dir`, deepest first, from a mountinfo text.
fn mounts_under(mountinfo: &str, dir: &Path) -> Vec<PathBuf> {
    let mut points: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points.dedup();
    points
}

/// Lazily unmounts everything under `dir`; returns how many.
fn unmount_under(dir: &Path) -> Result<usize> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").context("reading mountinfo")?;
    let points = mounts_under(&info, dir);
    for p in &points {
        let status = std::process::Command::new("umount")
            .arg("-l")
            .arg(p)
            .status()
            .with_context(|| format!("running umount {}", p.display()))?;
        if !status.success() {
            eprintln!("berth: umount -l {} failed ({status})", p.display());
        }
    }
    Ok(points.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_under_the_data_dir_come_deepest_first() {
        let info = "\
22 1 8:1 / / rw - ext4 /dev/sda1 rw
40 22 0:50 / /var/lib/berth/agent/containerd/state/run/x/rootfs rw - overlay overlay rw
41 22 0:51 / /var/lib/berth/agent/pods/a\\040b/volumes rw - tmpfs tmpfs rw
42 22 0:52 / /var/lib/berthx rw - tmpfs tmpfs rw
43 22 0:53 / /var/lib/berth/agent rw - tmpfs tmpfs rw
";
        let got = mounts_under(info, Path::new("/var/lib/berth"));
        assert_eq!(
            got,
            vec![
                PathBuf::from("/var/lib/berth/agent/containerd/state/run/x/rootfs"),
                PathBuf::from("/var/lib/berth/agent/pods/a b/volumes"),
                PathBuf::from("/var/lib/berth/agent"),
            ]
        );
    }
}
