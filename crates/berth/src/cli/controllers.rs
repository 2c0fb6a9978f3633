//! `berth controller-manager`: flags (named as upstream's
//! kube-controller-manager) → [`ControllerOptions`] → run.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use berth_controllers::{ControllerOptions, root_ca_from_kubeconfig};
use clap::{ArgAction, Args};
use kube::config::{KubeConfigOptions, Kubeconfig};

#[derive(Args, Debug, Clone)]
pub struct ControllerManagerArgs {
    /// Kubeconfig of the API server to reconcile against.
    #[arg(long)]
    pub kubeconfig: PathBuf,
    /// Hold the kube-system/kube-controller-manager Lease before running.
    #[arg(long, action = ArgAction::Set, default_value_t = true)]
    pub leader_elect: bool,
    /// How long a Lease stays valid after its last renewal.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub leader_elect_lease_duration: Duration,
    /// How long the leader keeps trying to renew before giving up.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub leader_elect_renew_deadline: Duration,
    /// How often candidates retry and the leader renews.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub leader_elect_retry_period: Duration,
    /// Namespace of the leader-election Lease.
    #[arg(long, default_value = "kube-system")]
    pub leader_elect_resource_namespace: String,
    /// Name of the leader-election Lease.
    #[arg(long, default_value = "kube-controller-manager")]
    pub leader_elect_resource_name: String,
    /// Give each Node a podCIDR from --cluster-cidr.
    #[arg(long, action = ArgAction::Set, default_value_t = true)]
    pub allocate_node_cidrs: bool,
    /// The range node podCIDRs are allocated from.
    #[arg(long, default_value = "10.42.0.0/16")]
    pub cluster_cidr: String,
    /// The prefix length of each node's podCIDR.
    #[arg(long, default_value_t = 24)]
    pub node_cidr_mask_size: u8,
    /// A node whose Lease is not renewed for this long is unreachable.
    #[arg(long, default_value = "40s", value_parser = parse_duration)]
    pub node_monitor_grace_period: Duration,
    /// How often node health is checked.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub node_monitor_period: Duration,
    /// ReplicaSets synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_replicaset_syncs: u16,
    /// Deployments synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_deployment_syncs: u16,
    /// Garbage-collector workers.
    #[arg(long, default_value_t = 20)]
    pub concurrent_gc_syncs: u16,
    /// Namespaces synced concurrently.
    #[arg(long, default_value_t = 10)]
    pub concurrent_namespace_syncs: u16,
    /// Services whose Endpoints are synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_endpoint_syncs: u16,
    /// Services whose EndpointSlices are synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_service_endpoint_syncs: u16,
    /// Jobs synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_job_syncs: u16,
    /// Finished Jobs checked for ttlSecondsAfterFinished concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_ttl_after_finished_syncs: u16,
    /// Base of the Job pod-recreation backoff after failures (doubling,
    /// capped at 6 min). Berth-specific: upstream fixes it at 10s.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub job_pod_failure_backoff: Duration,
    /// CronJobs synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_cron_job_syncs: u16,
    /// Runs the CronJob controller's clock this many times faster than real
    /// time (integration tests only).
    #[arg(long, default_value_t = 1, hide = true)]
    pub cronjob_clock_scale: u32,
    /// StatefulSets synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_statefulset_syncs: u16,
    /// DaemonSets synced concurrently.
    #[arg(long, default_value_t = 2)]
    pub concurrent_daemonset_syncs: u16,
}

/// Parses `1h2m3s`, `500ms`, `40s` as Go's time.ParseDuration does (no fractions).
pub fn parse_duration(s: &str) -> Result<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        bail!("empty duration");
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let n: u64 = rest[..digits]
            .parse()
            .with_context(|| format!("duration {s:?}: want e.g. 40s"))?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        total += match &rest[..unit] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            u => bail!("duration {s:?}: unknown unit {u:?}"),
        };
        rest = &rest[unit..];
    }
    Ok(total)
}

impl ControllerManagerArgs {
    /// Validates the flags into options, before anything starts.
    pub fn options(&self, kubeconfig: &Kubeconfig) -> Result<ControllerOptions> {
        let mut o = ControllerOptions::new(&identity());
        o.leader_elect = self.leader_elect;
        o.lease.namespace = self.leader_elect_resource_namespace.clone();
        o.lease.name = self.leader_elect_resource_name.clone();
        o.lease.lease_duration = self.leader_elect_lease_duration;
        o.lease.renew_deadline = self.leader_elect_renew_deadline;
        o.lease.retry_period = self.leader_elect_retry_period;
        o.allocate_node_cidrs = self.allocate_node_cidrs;
        o.node_cidr_mask_size = self.node_cidr_mask_size;
        o.node_monitor_grace_period = self.node_monitor_grace_period;
        o.node_monitor_period = self.node_monitor_period;
        o.concurrent_replicaset_syncs = self.concurrent_replicaset_syncs.max(1);
        o.concurrent_deployment_syncs = self.concurrent_deployment_syncs.max(1);
        o.concurrent_gc_syncs = self.concurrent_gc_syncs.max(1);
        o.concurrent_namespace_syncs = self.concurrent_namespace_syncs.max(1);
        o.concurrent_endpoint_syncs = self.concurrent_endpoint_syncs.max(1);
        o.concurrent_service_endpoint_syncs = self.concurrent_service_endpoint_syncs.max(1);
        o.concurrent_job_syncs = self.concurrent_job_syncs.max(1);
        o.concurrent_ttl_after_finished_syncs = self.concurrent_ttl_after_finished_syncs.max(1);
        o.job_backoff.base = self.job_pod_failure_backoff;
        o.concurrent_statefulset_syncs = self.concurrent_statefulset_syncs.max(1);
        o.concurrent_daemonset_syncs = self.concurrent_daemonset_syncs.max(1);
        o.concurrent_cron_job_syncs = self.concurrent_cron_job_syncs.max(1);
        o.cron_job_clock_scale = self.cronjob_clock_scale;
        o.root_ca_pem = root_ca_from_kubeconfig(kubeconfig);
        o.set_cluster_cidr(&self.cluster_cidr)?;
        if o.lease.renew_deadline >= o.lease.lease_duration {
            bail!(
                "--leader-elect-renew-deadline must be shorter than --leader-elect-lease-duration"
            );
        }
        Ok(o)
    }
}

/// This candidate's name in the Lease: hostname, pid and start time.
fn identity() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_else(|_| "berth".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}_{}_{nanos:x}", host.trim(), std::process::id())
}

pub async fn run(args: ControllerManagerArgs, shutdown: impl Future<Output = ()>) -> Result<()> {
    let kubeconfig = Kubeconfig::read_from(&args.kubeconfig)
        .with_context(|| format!("reading {}", args.kubeconfig.display()))?;
    let options = args.options(&kubeconfig)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("loading the kubeconfig")?;
    let client = kube::Client::try_from(config).context("building the API client")?;
    println!(
        "berth: controller manager starting (identity {})",
        options.lease.identity
    );
    berth_controllers::run(client, options, shutdown).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse_as_go_writes_them() {
        assert_eq!(
            parse_duration("40s").expect("valid"),
            Duration::from_secs(40)
        );
        assert_eq!(
            parse_duration("1m30s").expect("valid"),
            Duration::from_secs(90)
        );
        assert_eq!(
            parse_duration("500ms").expect("valid"),
            Duration::from_millis(500)
        );
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }
}
