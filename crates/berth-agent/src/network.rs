//! Pod networking on this node: how pods get their network
//! ([`PodNetworkMode`]), the CNI conflist written from the node's podCIDR
//! (`cni`), host-gw routes to the other nodes' podCIDRs (`routes`), egress
//! masquerade that keeps pod IPs between nodes (`masquerade`), the
//! readiness gate pod sandboxes wait on, and each pod's DNS configuration
//! (`dns`).
//!
//! It is not: a CNI plugin (Debian's plugins do the work, run by
//! containerd), the Service proxy or the cluster DNS server.

pub mod cni;
pub mod dns;
pub mod masquerade;
mod nodes;
pub mod routes;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

pub use dns::{DnsSettings, ResolvConf};
pub use nodes::{NetworkContext, run};

/// The bridge pods attach to unless `--cni-bridge` says otherwise.
pub const DEFAULT_BRIDGE: &str = "cni0";
/// Debian's `containernetworking-plugins`.
pub const DEFAULT_CNI_BIN_DIR: &str = "/usr/lib/cni";

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ip {command}: {message}")]
    Route { command: String, message: String },
    #[error("nft (masquerade table): {message}")]
    Nft { message: String },
}

/// How pods that do not ask for `hostNetwork` get their network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodNetworkMode {
    /// Berth's CNI: the agent writes a bridge conflist for the node's
    /// podCIDR into the conf dir and routes to other nodes' podCIDRs.
    Bridge { bridge: String },
    /// The user's CNI (Calico, Cilium …) in `--cni-conf-dir`: the agent
    /// writes nothing and programs no routes.
    UserCni,
    /// No pod network: every pod shares the node's network namespace.
    Host,
}

/// The CNI settings of a node.
#[derive(Debug, Clone)]
pub struct CniConfig {
    pub mode: PodNetworkMode,
    pub bin_dir: PathBuf,
    pub conf_dir: PathBuf,
    /// host-local's allocations (Bridge mode).
    pub ipam_data_dir: PathBuf,
    /// Every node's podCIDR is in it; traffic leaving it is masqueraded.
    pub cluster_cidr: String,
}

/// What pod workers need to know about the network.
#[derive(Debug)]
pub struct PodNetwork {
    /// Pods without `hostNetwork` get a network namespace of their own.
    pub isolated: bool,
    pub dns: DnsSettings,
    ready: AtomicBool,
}

impl PodNetwork {
    /// A pod network that is not ready until [`PodNetwork::set_ready`].
    pub fn new(isolated: bool, dns: DnsSettings) -> Self {
        Self {
            isolated,
            dns,
            ready: AtomicBool::new(!isolated),
        }
    }

    /// Every pod on the node's network, ready at once (tests, `Host` mode).
    pub fn host(dns: DnsSettings) -> Self {
        Self::new(false, dns)
    }

    /// Whether sandboxes with their own network namespace can be created
    /// (the runtime reports NetworkReady).
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }
}
