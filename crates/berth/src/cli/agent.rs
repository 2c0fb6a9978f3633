//! `berth agent`: flags and wiring of the node agent (issue 6).

use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use berth_agent::AgentConfig;
use berth_agent::network::PodNetworkMode;
use clap::Args;
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug, Clone)]
pub struct AgentArgs {
    /// Kubeconfig of the API server.
    #[arg(long)]
    pub kubeconfig: PathBuf,
    /// The name of this node.
    #[arg(long)]
    pub node_name: String,
    /// Where the agent keeps its state (and its private containerd).
    #[arg(long, default_value = "/var/lib/berth/agent")]
    pub data_dir: PathBuf,
    /// An existing CRI runtime (`unix:///run/containerd/containerd.sock`);
    /// without it the agent starts and supervises its own containerd.
    #[arg(long)]
    pub container_runtime_endpoint: Option<String>,
    /// Where container logs are kept (upstream: /var/log/pods).
    #[arg(long)]
    pub pod_log_dir: Option<PathBuf>,
    /// The node's IP (default: the address of the default route).
    #[arg(long)]
    pub node_ip: Option<IpAddr>,
    /// How pods get their network: `bridge` (Berth's CNI: a bridge on the
    /// node's podCIDR and routes to other nodes) or `host` (every pod shares
    /// the node's network; no CNI).
    #[arg(long, default_value = "bridge", value_parser = ["bridge", "host"])]
    pub pod_network: String,
    /// The Linux bridge pods attach to (bridge mode).
    #[arg(long, default_value = berth_agent::network::DEFAULT_BRIDGE)]
    pub cni_bridge: String,
    /// Where CNI plugins are (Debian's containernetworking-plugins).
    #[arg(long, default_value = berth_agent::network::DEFAULT_CNI_BIN_DIR)]
    pub cni_bin_dir: PathBuf,
    /// Your own CNI configuration (Calico, Cilium …): the agent then writes
    /// no CNI configuration and programs no routes. Default: Berth's, under
    /// the data dir (with --container-runtime-endpoint: /etc/cni/net.d).
    #[arg(long)]
    pub cni_conf_dir: Option<PathBuf>,
    /// The range every node's podCIDR comes from (the controller manager's
    /// --cluster-cidr): pod traffic leaving it is masqueraded.
    #[arg(long, default_value = "10.42.0.0/16")]
    pub cluster_cidr: String,
    /// Nameservers of ClusterFirst pods (comma-separated; the cluster DNS
    /// Service, the tenth address of the service range).
    #[arg(long, value_delimiter = ',', default_value = "10.43.0.10")]
    pub cluster_dns: Vec<IpAddr>,
    /// The cluster's DNS domain.
    #[arg(long, default_value = "cluster.local")]
    pub cluster_domain: String,
    /// The resolver configuration Default pods get ("" for none).
    #[arg(long, default_value = "/etc/resolv.conf")]
    pub resolv_conf: String,
    /// Where the kubelet API (logs, exec, attach, port-forward) listens.
    #[arg(long, default_value = "0.0.0.0")]
    pub kubelet_address: IpAddr,
    /// The kubelet API's port; 0 picks a free one (the Node advertises it).
    #[arg(long, default_value_t = 10250)]
    pub kubelet_port: u16,
    /// Do not run the service proxy in this process (run `berth proxy`, or
    /// another proxy, instead).
    #[arg(long)]
    pub disable_proxy: bool,
}

impl AgentArgs {
    /// The validated configuration, before anything starts.
    pub fn config(&self) -> Result<AgentConfig> {
        let mut config = AgentConfig::new(&self.node_name, self.data_dir.clone());
        config.runtime_endpoint = self.container_runtime_endpoint.clone();
        if let Some(dir) = &self.pod_log_dir {
            config.pod_log_dir = dir.clone();
        }
        config.node_ip = self.node_ip;
        config.kubelet_address = self.kubelet_address;
        config.kubelet_port = self.kubelet_port;
        self.network(&mut config);
        config.validate()?;
        Ok(config)
    }
}

impl AgentArgs {
    fn network(&self, config: &mut AgentConfig) {
        config.pod_network = match (self.pod_network.as_str(), &self.cni_conf_dir) {
            ("host", _) => PodNetworkMode::Host,
            (_, Some(_)) => PodNetworkMode::UserCni,
            _ => PodNetworkMode::Bridge {
                bridge: self.cni_bridge.clone(),
            },
        };
        config.cni_bin_dir = self.cni_bin_dir.clone();
        if let Some(dir) = &self.cni_conf_dir {
            config.cni_conf_dir = dir.clone();
        } else if self.container_runtime_endpoint.is_some() {
            config.cni_conf_dir = PathBuf::from("/etc/cni/net.d");
        }
        config.cluster_cidr = self.cluster_cidr.clone();
        config.cluster_dns = self.cluster_dns.clone();
        config.cluster_domain = self.cluster_domain.clone();
        config.resolv_conf =
            Some(PathBuf::from(&self.resolv_conf)).filter(|p| !p.as_os_str().is_empty());
    }
}

pub async fn run(args: AgentArgs, shutdown: impl Future<Output = ()>) -> Result<()> {
    let mut config = args.config()?;
    let kc = kube::config::Kubeconfig::read_from(&args.kubeconfig)
        .with_context(|| format!("reading {}", args.kubeconfig.display()))?;
    let kube_config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await?;
    // Only holders of a certificate from the cluster's CA (the API server)
    // may use the kubelet API.
    config.client_ca = kube_config.root_cert.clone().unwrap_or_default();
    let client = kube::Client::try_from(kube_config)?;
    let proxy = if args.disable_proxy {
        None
    } else {
        Some(super::proxy::options(
            &args.node_name,
            std::slice::from_ref(&args.cluster_cidr),
        )?)
    };
    let stop = CancellationToken::new();
    let proxy = proxy.map(|o| {
        tokio::spawn(berth_proxy::run(
            client.clone(),
            o,
            stop.clone().cancelled_owned(),
        ))
    });
    let stopping = stop.clone();
    let agent = berth_agent::run(client, config, async move {
        shutdown.await;
        stopping.cancel();
    })
    .await;
    stop.cancel();
    if let Some(p) = proxy {
        p.await.context("the service proxy panicked")??;
    }
    Ok(agent?)
}
