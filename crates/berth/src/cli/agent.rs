//! `berth agent`: flags and wiring of the node agent (issue 6).

use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Result;
use berth_agent::AgentConfig;
use clap::Args;

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
        config.validate()?;
        Ok(config)
    }
}

pub async fn run(args: AgentArgs, shutdown: impl Future<Output = ()>) -> Result<()> {
    let config = args.config()?;
    let client = super::scheduler::client(&args.kubeconfig).await?;
    berth_agent::run(client, config, shutdown).await?;
    Ok(())
}
