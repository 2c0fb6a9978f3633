//! The agent's wiring: containerd (private or given), the pause image, node
//! registration, the Lease heartbeat, the status writer, the PLEG, the pod
//! network reconciler (CNI conflist, host-gw routes, readiness gate), and the
//! pod watch that feeds one [`PodWorker`] per pod UID.

mod workers;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::watcher;
use tokio_util::sync::CancellationToken;

use crate::clock::SystemClock;
use crate::containerd::{Containerd, ContainerdPaths};
use crate::cri::remote::socket_path;
use crate::cri::{ImageService, RemoteRuntime, Runtime, RuntimeService};
use crate::error::AgentError;
use crate::image::{self, PAUSE_IMAGE};
use crate::kubelet_api::{KubeletApiConfig, KubeletApiServer, KubeletRuntime};
use crate::network::masquerade::NftNatTable;
use crate::network::routes::IpRouteTable;
use crate::network::{self, CniConfig, DnsSettings, PodNetwork, PodNetworkMode, ResolvConf};
use crate::node::{self, NodeFacts};
use crate::pod_api::KubePodApi;
use crate::pod_worker::{NodeAllocatable, WorkerContext};
use crate::status_manager::StatusManager;
use workers::Workers;

/// How the agent runs; validated by [`AgentConfig::validate`] before
/// anything starts.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub node_name: String,
    pub data_dir: PathBuf,
    /// `unix:///…` of an existing CRI runtime; `None` starts a private containerd.
    pub runtime_endpoint: Option<String>,
    /// Where container logs go, in upstream's layout (`/var/log/pods`).
    pub pod_log_dir: PathBuf,
    pub node_ip: Option<IpAddr>,
    /// The busybox binary the pause image is built from.
    pub busybox: PathBuf,
    /// How pods get their network (Berth's bridge, the user's CNI, or none).
    pub pod_network: PodNetworkMode,
    /// CNI plugins (`--cni-bin-dir`).
    pub cni_bin_dir: PathBuf,
    /// CNI configuration (`--cni-conf-dir`): written by the agent in
    /// Bridge mode, the user's otherwise.
    pub cni_conf_dir: PathBuf,
    /// `--cluster-cidr`: holds every node's podCIDR; pod traffic leaving
    /// it is masqueraded (Bridge mode).
    pub cluster_cidr: String,
    /// `--cluster-dns`: the nameservers of ClusterFirst pods.
    pub cluster_dns: Vec<IpAddr>,
    /// `--cluster-domain`.
    pub cluster_domain: String,
    /// `--resolv-conf`: the node's resolver configuration (Default pods);
    /// `None` when the flag is empty.
    pub resolv_conf: Option<PathBuf>,
    /// `--kubelet-address`: where the kubelet API listens.
    pub kubelet_address: IpAddr,
    /// `--kubelet-port` (10250; 0 picks a free port, which the Node advertises).
    pub kubelet_port: u16,
    /// The cluster CA (DER) that kubelet API clients must chain to.
    pub client_ca: Vec<Vec<u8>>,
}

impl AgentConfig {
    pub fn new(node_name: &str, data_dir: PathBuf) -> Self {
        Self {
            node_name: node_name.into(),
            pod_log_dir: data_dir.join("pods-log"),
            runtime_endpoint: None,
            node_ip: None,
            busybox: PathBuf::from(image::BUSYBOX_PATH),
            pod_network: PodNetworkMode::Bridge {
                bridge: network::DEFAULT_BRIDGE.into(),
            },
            cni_bin_dir: PathBuf::from(network::DEFAULT_CNI_BIN_DIR),
            cni_conf_dir: ContainerdPaths::new(&data_dir).cni_conf_dir,
            cluster_cidr: "10.42.0.0/16".into(),
            cluster_dns: vec![IpAddr::from([10, 43, 0, 10])],
            cluster_domain: "cluster.local".into(),
            resolv_conf: Some(PathBuf::from("/etc/resolv.conf")),
            kubelet_address: IpAddr::from([0, 0, 0, 0]),
            kubelet_port: 10250,
            client_ca: Vec::new(),
            data_dir,
        }
    }

    /// The CNI settings the network reconciler works with.
    pub fn cni(&self) -> CniConfig {
        CniConfig {
            mode: self.pod_network.clone(),
            bin_dir: self.cni_bin_dir.clone(),
            conf_dir: self.cni_conf_dir.clone(),
            ipam_data_dir: self.data_dir.join("cni").join("networks"),
            cluster_cidr: self.cluster_cidr.clone(),
        }
    }

    /// The DNS settings pods' resolv.conf is built from.
    pub fn dns(&self) -> DnsSettings {
        DnsSettings {
            cluster_dns: self.cluster_dns.iter().map(IpAddr::to_string).collect(),
            cluster_domain: self.cluster_domain.clone(),
            host: self.resolv_conf.as_deref().map(ResolvConf::read),
        }
    }

    pub fn validate(&self) -> Result<(), AgentError> {
        let name = &self.node_name;
        let valid = !name.is_empty()
            && name.len() <= 253
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !valid {
            return Err(AgentError::Config(format!(
                "--node-name {name:?}: want a lowercase DNS subdomain"
            )));
        }
        if let Some(e) = &self.runtime_endpoint {
            socket_path(e)?;
        }
        self.validate_network()
    }

    fn validate_network(&self) -> Result<(), AgentError> {
        let PodNetworkMode::Bridge { bridge } = &self.pod_network else {
            return Ok(());
        };
        let valid = !bridge.is_empty()
            && bridge.len() <= 15
            && bridge
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(AgentError::Config(format!(
                "--cni-bridge {bridge:?}: want a Linux interface name (at most 15 letters, digits, - or _)"
            )));
        }
        if !valid_ipv4_cidr(&self.cluster_cidr) {
            return Err(AgentError::Config(format!(
                "--cluster-cidr {:?}: want an IPv4 CIDR such as 10.42.0.0/16",
                self.cluster_cidr
            )));
        }
        for plugin in ["bridge", "host-local", "portmap", "loopback"] {
            let path = self.cni_bin_dir.join(plugin);
            if !path.exists() {
                return Err(AgentError::Config(format!(
                    "CNI plugin {} is missing (apt-get install containernetworking-plugins, or --cni-bin-dir)",
                    path.display()
                )));
            }
        }
        Ok(())
    }
}

fn valid_ipv4_cidr(cidr: &str) -> bool {
    cidr.split_once('/').is_some_and(|(ip, bits)| {
        ip.parse::<std::net::Ipv4Addr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= 32)
    })
}

/// Runs the agent until `shutdown` resolves. Pods keep running afterwards.
pub async fn run(
    client: kube::Client,
    config: AgentConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), AgentError> {
    config.validate()?;
    let mkdir = |p: &PathBuf| {
        std::fs::create_dir_all(p).map_err(|e| AgentError::Config(format!("{}: {e}", p.display())))
    };
    mkdir(&config.data_dir)?;
    mkdir(&config.pod_log_dir)?;
    let containerd = match &config.runtime_endpoint {
        Some(_) => None,
        None => {
            let paths = ContainerdPaths {
                cni_bin_dir: config.cni_bin_dir.clone(),
                cni_conf_dir: config.cni_conf_dir.clone(),
                ..ContainerdPaths::new(&config.data_dir)
            };
            Some(Containerd::start_with(paths).await?)
        }
    };
    let endpoint = match (&config.runtime_endpoint, &containerd) {
        (Some(e), _) => e.clone(),
        (None, Some(c)) => c.paths.endpoint(),
        (None, None) => return Err(AgentError::Config("no container runtime".into())),
    };
    let result = run_with_runtime(client, &config, &endpoint, shutdown).await;
    if let Some(c) = containerd {
        c.stop().await;
    }
    result
}

async fn run_with_runtime(
    client: kube::Client,
    config: &AgentConfig,
    endpoint: &str,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), AgentError> {
    let runtime = Arc::new(RemoteRuntime::connect(endpoint).await?);
    let version = runtime.version().await?;
    ensure_pause_image(runtime.as_ref(), config, endpoint).await?;
    let node_ip = config
        .node_ip
        .map_or_else(node::default_ip, |ip| ip.to_string());
    let kubelet = KubeletApiServer::bind(&KubeletApiConfig {
        node_name: config.node_name.clone(),
        address: SocketAddr::new(config.kubelet_address, config.kubelet_port),
        names: vec![
            node_ip.clone(),
            config.node_name.clone(),
            "localhost".into(),
        ],
        client_ca: config.client_ca.clone(),
    })
    .await?;
    let kubelet_port = kubelet.local_addr()?.port();
    let facts = register(&client, config, &version, node_ip, kubelet_port).await?;
    let cancel = CancellationToken::new();
    let status = StatusManager::new();
    let isolated = config.pod_network != PodNetworkMode::Host;
    let pod_network = Arc::new(PodNetwork::new(isolated, config.dns()));
    let ctx = Arc::new(WorkerContext {
        node_name: config.node_name.clone(),
        runtime: runtime.clone() as Arc<dyn Runtime>,
        api: Arc::new(KubePodApi::new(client.clone())),
        status: status.clone(),
        clock: Arc::new(SystemClock),
        runtime_name: version.runtime_name.clone(),
        host_ip: facts.ip.clone(),
        pod_log_dir: config.pod_log_dir.clone(),
        node: NodeAllocatable {
            cpu_cores: node::capacity::cpu_count() as f64,
            memory_bytes: node::capacity::memory_bytes() as f64,
        },
        network: pod_network.clone(),
    });
    let network = network::NetworkContext {
        node_name: config.node_name.clone(),
        cni: config.cni(),
        runtime: runtime.clone() as Arc<dyn Runtime>,
        network: pod_network,
        routes: Arc::new(IpRouteTable),
        nat: Arc::new(NftNatTable),
    };
    let mut tasks = vec![
        tokio::spawn(status.clone().run(ctx.api.clone(), cancel.clone())),
        tokio::spawn(heartbeat(client.clone(), facts.clone(), cancel.clone())),
        tokio::spawn(network::run(client.clone(), network, cancel.clone())),
        tokio::spawn({
            let cancel = cancel.clone();
            kubelet.serve(runtime.clone() as Arc<dyn KubeletRuntime>, async move {
                cancel.cancelled().await
            })
        }),
    ];
    let workers = Workers::new(ctx, cancel.clone());
    tasks.push(tokio::spawn(crate::pleg::run(
        runtime.clone(),
        config.node_name.clone(),
        workers.wakers(),
        cancel.clone(),
    )));
    tracing::info!(node = config.node_name, endpoint, "node agent running");
    tokio::select! {
        _ = shutdown => {}
        _ = watch_pods(client, &config.node_name, workers) => {}
    }
    cancel.cancel();
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    tracing::info!("node agent stopped");
    Ok(())
}

/// Registers (or updates) this node's Node object.
async fn register(
    client: &kube::Client,
    config: &AgentConfig,
    version: &crate::cri::api::VersionResponse,
    ip: String,
    kubelet_port: u16,
) -> Result<NodeFacts, AgentError> {
    let facts = NodeFacts {
        name: config.node_name.clone(),
        ip,
        runtime_version: format!("{}://{}", version.runtime_name, version.runtime_version),
        data_dir: config.data_dir.clone(),
        kubelet_port,
    };
    node::register(client, &facts)
        .await
        .map_err(|source| AgentError::Api {
            what: "registering the node",
            source,
        })?;
    Ok(facts)
}

/// Imports Berth's pause image if containerd does not have it.
async fn ensure_pause_image(
    runtime: &dyn ImageService,
    config: &AgentConfig,
    endpoint: &str,
) -> Result<(), AgentError> {
    if runtime.image_status(PAUSE_IMAGE).await?.is_some() {
        return Ok(());
    }
    let archive = config.data_dir.join("images").join("pause.tar");
    image::write_archive(&image::pause_recipe(), &config.busybox, &archive)?;
    image::import(&socket_path(endpoint)?, &archive).await?;
    tracing::info!(image = PAUSE_IMAGE, "pause image imported");
    Ok(())
}

/// Renews the Lease every 10 s and refreshes the Node status every minute.
async fn heartbeat(client: kube::Client, facts: NodeFacts, cancel: CancellationToken) {
    let mut ticks: u32 = 0;
    loop {
        if let Err(e) = node::renew_lease(&client, &facts.name).await {
            tracing::warn!(error = %e, "renewing the node lease");
        }
        if ticks % 6 == 5
            && let Err(e) = node::update_status(&client, &facts).await
        {
            tracing::warn!(error = %e, "updating the node status");
        }
        ticks = ticks.wrapping_add(1);
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(node::LEASE_RENEW_INTERVAL) => {}
        }
    }
}

/// Watches the pods bound to this node and hands each event to its worker.
async fn watch_pods(client: kube::Client, node: &str, mut workers: Workers) {
    let api: Api<Pod> = Api::all(client);
    let config = watcher::Config::default().fields(&format!("spec.nodeName={node}"));
    let mut stream = watcher(api, config).boxed();
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Apply(pod)) | Ok(watcher::Event::InitApply(pod)) => {
                workers.apply(pod)
            }
            Ok(watcher::Event::Delete(pod)) => workers.delete(&pod),
            Ok(watcher::Event::Init) => workers.begin_relist(),
            Ok(watcher::Event::InitDone) => workers.end_relist().await,
            Err(e) => {
                tracing::warn!(error = %e, "pod watch failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
