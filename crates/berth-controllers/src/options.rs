//! The controller manager's options, validated before anything starts.

use std::net::Ipv4Addr;
use std::time::Duration;

use k8s_openapi::ByteString;
use kube::config::Kubeconfig;

use crate::Error;

/// Everything the controllers can be tuned with (upstream flag names in
/// the field docs).
#[derive(Clone, Debug)]
pub struct ControllerOptions {
    /// `--leader-elect`: wait for the Lease before doing anything.
    pub leader_elect: bool,
    /// The Lease and its timings (`--leader-elect-*`).
    pub lease: berth_lease::LeaseConfig,
    /// `--allocate-node-cidrs`: give each Node a podCIDR.
    pub allocate_node_cidrs: bool,
    /// `--cluster-cidr` (IPv4): where podCIDRs come from.
    pub cluster_cidr: (Ipv4Addr, u8),
    /// `--node-cidr-mask-size`: the prefix length of each node's podCIDR.
    pub node_cidr_mask_size: u8,
    /// `--node-monitor-grace-period`: a node whose Lease is older is unreachable.
    pub node_monitor_grace_period: Duration,
    /// `--node-monitor-period`: how often node health is checked.
    pub node_monitor_period: Duration,
    /// `--concurrent-replicaset-syncs`.
    pub concurrent_replicaset_syncs: u16,
    /// `--concurrent-deployment-syncs`.
    pub concurrent_deployment_syncs: u16,
    /// `--concurrent-gc-syncs`.
    pub concurrent_gc_syncs: u16,
    /// `--concurrent-namespace-syncs`.
    pub concurrent_namespace_syncs: u16,
    /// `--concurrent-endpoint-syncs`.
    pub concurrent_endpoint_syncs: u16,
    /// `--concurrent-service-endpoint-syncs` (EndpointSlices).
    pub concurrent_service_endpoint_syncs: u16,
    /// `--concurrent-job-syncs`.
    pub concurrent_job_syncs: u16,
    /// `--concurrent-ttl-after-finished-syncs`.
    pub concurrent_ttl_after_finished_syncs: u16,
    /// Job pod-recreation backoff: base 10 s doubling to 6 min (the base is
    /// Berth's `--job-pod-failure-backoff`; upstream fixes it).
    pub job_backoff: crate::job::Backoff,
    /// `--concurrent-statefulset-syncs`.
    pub concurrent_statefulset_syncs: u16,
    /// `--concurrent-daemonset-syncs`.
    pub concurrent_daemonset_syncs: u16,
    /// `--concurrent-cron-job-syncs`.
    pub concurrent_cron_job_syncs: u16,
    /// Hidden `--cronjob-clock-scale`: the CronJob controller's clock runs
    /// this many times faster than real time (tests only; 1 = real time).
    pub cron_job_clock_scale: u32,
    /// The cluster CA (PEM) published as `kube-root-ca.crt`.
    pub root_ca_pem: Option<String>,
}

impl ControllerOptions {
    /// Upstream's defaults; `identity` names this candidate in the Lease.
    pub fn new(identity: &str) -> Self {
        Self {
            leader_elect: true,
            lease: berth_lease::LeaseConfig::new("kube-controller-manager", identity),
            allocate_node_cidrs: true,
            cluster_cidr: (Ipv4Addr::new(10, 42, 0, 0), 16),
            node_cidr_mask_size: 24,
            node_monitor_grace_period: Duration::from_secs(40),
            node_monitor_period: Duration::from_secs(5),
            concurrent_replicaset_syncs: 5,
            concurrent_deployment_syncs: 5,
            concurrent_gc_syncs: 20,
            concurrent_namespace_syncs: 10,
            concurrent_endpoint_syncs: 5,
            concurrent_service_endpoint_syncs: 5,
            concurrent_job_syncs: 5,
            concurrent_ttl_after_finished_syncs: 5,
            job_backoff: crate::job::Backoff::default(),
            concurrent_statefulset_syncs: 5,
            concurrent_daemonset_syncs: 2,
            concurrent_cron_job_syncs: 5,
            cron_job_clock_scale: 1,
            root_ca_pem: None,
        }
    }

    /// Sets `cluster_cidr` from `a.b.c.d/n`, checking the node mask fits.
    pub fn set_cluster_cidr(&mut self, cidr: &str) -> Result<(), Error> {
        let bad = || {
            Error::Config(format!(
                "--cluster-cidr {cidr:?}: want an IPv4 CIDR such as 10.42.0.0/16"
            ))
        };
        let (ip, bits) = cidr.split_once('/').ok_or_else(bad)?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| bad())?;
        let bits: u8 = bits.parse().map_err(|_| bad())?;
        if bits > 32 {
            return Err(bad());
        }
        let mask = if bits == 0 {
            0
        } else {
            u32::MAX << (32 - bits)
        };
        self.cluster_cidr = (Ipv4Addr::from(u32::from(ip) & mask), bits);
        self.validate()
    }

    /// The CronJob controller's clock: real time, or sped up for tests.
    pub fn cron_job_clock(&self) -> std::sync::Arc<dyn crate::cronjob::clock::Clock> {
        match self.cron_job_clock_scale {
            0 | 1 => std::sync::Arc::new(crate::cronjob::clock::SystemClock),
            n => std::sync::Arc::new(crate::cronjob::clock::ScaledClock::new(n)),
        }
    }

    /// Checks the options hang together.
    pub fn validate(&self) -> Result<(), Error> {
        let (_, bits) = self.cluster_cidr;
        if self.node_cidr_mask_size < bits || self.node_cidr_mask_size > 30 {
            return Err(Error::Config(format!(
                "--node-cidr-mask-size {} must be between the --cluster-cidr prefix /{bits} and 30",
                self.node_cidr_mask_size
            )));
        }
        if self.node_monitor_grace_period.is_zero() || self.node_monitor_period.is_zero() {
            return Err(Error::Config(
                "--node-monitor-period and --node-monitor-grace-period must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// The CA (PEM) of the current context's cluster: `certificate-authority-data`
/// decoded, or the `certificate-authority` file read.
pub fn root_ca_from_kubeconfig(kubeconfig: &Kubeconfig) -> Option<String> {
    let context_name = kubeconfig.current_context.as_deref()?;
    let context = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context_name)?
        .context
        .as_ref()?;
    let cluster = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == context.cluster)?
        .cluster
        .as_ref()?;
    if let Some(data) = &cluster.certificate_authority_data {
        let bytes: ByteString =
            serde_json::from_value(serde_json::Value::String(data.clone())).ok()?;
        return String::from_utf8(bytes.0).ok();
    }
    std::fs::read_to_string(cluster.certificate_authority.as_ref()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_cidr_is_parsed_and_masked() {
        let mut o = ControllerOptions::new("t");
        o.set_cluster_cidr("10.42.7.9/16").expect("valid");
        assert_eq!(o.cluster_cidr, (Ipv4Addr::new(10, 42, 0, 0), 16));
        assert!(
            o.set_cluster_cidr("10.42.0.0/25").is_err(),
            "/24 nodes do not fit in a /25"
        );
        assert!(o.set_cluster_cidr("nonsense").is_err());
    }
}
