//! The agent's wiring: containerd (private or given), the pause image, node
//! registration, the Lease heartbeat, the status writer, the PLEG, and the
//! pod watch that feeds one [`PodWorker`] per pod UID.

mod workers;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::watcher;
use tokio_util::sync::CancellationToken;

use crate::clock::SystemClock;
use crate::containerd::Containerd;
use crate::cri::remote::socket_path;
use crate::cri::{ImageService, RemoteRuntime, Runtime, RuntimeService};
use crate::error::AgentError;
use crate::image::{self, PAUSE_IMAGE};
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
}

impl AgentConfig {
    pub fn new(node_name: &str, data_dir: PathBuf) -> Self {
        Self {
            node_name: node_name.into(),
            pod_log_dir: data_dir.join("pods-log"),
            data_dir,
            runtime_endpoint: None,
            node_ip: None,
            busybox: PathBuf::from(image::BUSYBOX_PATH),
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
        Ok(())
    }
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
        None => Some(Containerd::start(&config.data_dir).await?),
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
    let facts = NodeFacts {
        name: config.node_name.clone(),
        ip: config
            .node_ip
            .map_or_else(node::default_ip, |ip| ip.to_string()),
        runtime_version: format!("{}://{}", version.runtime_name, version.runtime_version),
        data_dir: config.data_dir.clone(),
    };
    node::register(&client, &facts)
        .await
        .map_err(|source| AgentError::Api {
            what: "registering the node",
            source,
        })?;
    let cancel = CancellationToken::new();
    let status = StatusManager::new();
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
    });
    let mut tasks = vec![
        tokio::spawn(status.clone().run(ctx.api.clone(), cancel.clone())),
        tokio::spawn(heartbeat(client.clone(), facts.clone(), cancel.clone())),
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
