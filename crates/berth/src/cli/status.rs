//! `berth status`: one screen on the cluster's health — the API server
//! (version, readiness, uptime, memory), the store (file sizes, revision),
//! the leaders of the controller manager and scheduler, and the nodes.
//!
//! Everything is read through the API (and the store's files when the data
//! dir is on this machine), so it works for `berth up` and split clusters.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Args;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};

#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    /// The data dir of `berth up` (its admin kubeconfig and store are there).
    #[arg(long, default_value = "/var/lib/berth")]
    pub data_dir: PathBuf,
    /// A kubeconfig to use instead of the data dir's admin kubeconfig.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
}

impl StatusArgs {
    fn kubeconfig(&self) -> PathBuf {
        self.kubeconfig
            .clone()
            .unwrap_or_else(|| self.data_dir.join("server/admin.kubeconfig"))
    }
}

pub async fn run(args: StatusArgs) -> Result<()> {
    let kubeconfig = args.kubeconfig();
    let client = super::scheduler::client(&kubeconfig)
        .await
        .with_context(|| format!("is Berth running? (kubeconfig {})", kubeconfig.display()))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut out = String::new();
    out.push_str(&api_server(&client, now).await?);
    out.push_str(&store(&client, &args.data_dir.join("server/db")).await);
    for (component, lease) in [
        ("controllers", "kube-controller-manager"),
        ("scheduler", berth_scheduler::service::LEASE_NAME),
    ] {
        out.push_str(&leader(&client, component, lease).await);
    }
    out.push_str(&nodes(&client).await?);
    print!("{out}");
    Ok(())
}

async fn get_text(client: &Client, path: &str) -> Result<String> {
    let req = http::Request::get(path).body(Vec::new())?;
    Ok(client.request_text(req).await?)
}

/// A metric's value from the Prometheus text exposition.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

async fn api_server(client: &Client, now: Duration) -> Result<String> {
    let version = client
        .apiserver_version()
        .await
        .context("reading the API server's version")?;
    let ready = get_text(client, "/readyz")
        .await
        .map_or_else(|e| format!("not ready ({e})"), |t| t.trim().to_string());
    let metrics = get_text(client, "/metrics").await.unwrap_or_default();
    let uptime = metric(&metrics, "process_start_time_seconds")
        .map(|s| human(now.saturating_sub(Duration::from_secs_f64(s))))
        .unwrap_or_else(|| "?".into());
    let rss = metric(&metrics, "process_resident_memory_bytes")
        .map(|b| format!("{:.0} MiB", b / 1_048_576.0))
        .unwrap_or_else(|| "?".into());
    Ok(format!(
        "berth       {}\napi-server  {} ({}), {ready}, up {uptime}, rss {rss}\n",
        env!("CARGO_PKG_VERSION"),
        version.git_version,
        version.platform,
    ))
}

/// Sizes of the store's files, and the latest revision.
async fn store(client: &Client, db_dir: &Path) -> String {
    let size = |name: &str| std::fs::metadata(db_dir.join(name)).map(|m| m.len()).ok();
    let files = match (size("state.db"), size("state.db-wal")) {
        (Some(db), wal) => format!(
            "sqlite {} ({}, wal {})",
            db_dir.join("state.db").display(),
            bytes(db),
            bytes(wal.unwrap_or(0))
        ),
        (None, _) => "store files not on this machine".into(),
    };
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let revision = namespaces
        .list_metadata(&ListParams::default().limit(1))
        .await
        .ok()
        .and_then(|l| l.metadata.resource_version)
        .unwrap_or_else(|| "?".into());
    format!("store       {files}, revision {revision}\n")
}

async fn leader(client: &Client, component: &str, lease: &str) -> String {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    let line = match leases.get_opt(lease).await {
        Ok(Some(l)) => {
            let spec = l.spec.unwrap_or_default();
            let holder = spec.holder_identity.unwrap_or_else(|| "nobody".into());
            let renewed = spec
                .renew_time
                .map(|t| format!(", renewed {} ago", since(t.0)))
                .unwrap_or_default();
            format!("leader {holder}{renewed}")
        }
        Ok(None) => "no leader lease (leader election off, or not running)".into(),
        Err(e) => format!("unknown ({e})"),
    };
    format!("{component:<12}{line}\n")
}

async fn nodes(client: &Client) -> Result<String> {
    let nodes: Api<Node> = Api::all(client.clone());
    let list = nodes.list(&ListParams::default()).await?;
    let mut out = format!("nodes       {}\n", list.items.len());
    for node in &list.items {
        let status = node.status.clone().unwrap_or_default();
        let ready = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Ready")
            .map(|c| {
                if c.status == "True" {
                    "Ready"
                } else {
                    "NotReady"
                }
            })
            .unwrap_or("Unknown");
        let kubelet = status
            .node_info
            .map(|i| i.kubelet_version)
            .unwrap_or_default();
        out.push_str(&format!("  {:<24}{ready:<10}{kubelet}\n", node.name_any()));
    }
    Ok(out)
}

fn since(t: jiff::Timestamp) -> String {
    let d = jiff::Timestamp::now().duration_since(t);
    human(Duration::from_secs(d.as_secs().max(0).unsigned_abs()))
}

/// `3d4h`, `2h5m`, `4m10s`, `12s`, as kubectl prints ages.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
    }
}

fn bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_read_by_exact_name() {
        let text = "# HELP x\nprocess_start_time_seconds_x 1\nprocess_start_time_seconds 17.5\n";
        assert_eq!(metric(text, "process_start_time_seconds"), Some(17.5));
        assert_eq!(metric(text, "missing"), None);
    }

    #[test]
    fn durations_and_sizes_print_as_people_read_them() {
        assert_eq!(human(Duration::from_secs(12)), "12s");
        assert_eq!(human(Duration::from_secs(250)), "4m10s");
        assert_eq!(human(Duration::from_secs(7500)), "2h5m");
        assert_eq!(human(Duration::from_secs(100_000)), "1d3h");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1_048_576), "3.0 MiB");
    }
}
