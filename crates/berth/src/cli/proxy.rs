//! `berth proxy`: the service proxy alone (Services → nftables on this
//! node). `berth agent` and `berth up` run the same proxy in-process.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use berth_proxy::ProxyOptions;
use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct ProxyArgs {
    /// Kubeconfig of the API server.
    #[arg(long)]
    pub kubeconfig: PathBuf,
    /// The name of this node (decides which endpoints are local).
    #[arg(long)]
    pub node_name: String,
    /// Pod CIDRs (comma-separated): other sources reaching a cluster IP are
    /// masqueraded.
    #[arg(long, value_delimiter = ',', default_value = "10.42.0.0/16")]
    pub cluster_cidr: Vec<String>,
    /// Masquerade all traffic to cluster IPs.
    #[arg(long)]
    pub masquerade_all: bool,
    /// The nftables table name (one per IP family).
    #[arg(long, default_value = berth_proxy::proxy::DEFAULT_TABLE)]
    pub nft_table: String,
    /// Coalesce API events this long before a sync, in milliseconds.
    #[arg(long, default_value_t = 10)]
    pub sync_debounce_ms: u64,
    /// Delete the proxy's table and exit.
    #[arg(long)]
    pub cleanup: bool,
}

/// Options for a proxy on `node_name` whose pods live in `cluster_cidrs`.
pub fn options(node_name: &str, cluster_cidrs: &[String]) -> Result<ProxyOptions> {
    let mut o = ProxyOptions::new(node_name);
    o.cluster_cidrs = cluster_cidrs
        .iter()
        .map(|c| c.parse().with_context(|| format!("--cluster-cidr {c:?}")))
        .collect::<Result<_>>()?;
    o.validate()?;
    Ok(o)
}

impl ProxyArgs {
    pub fn options(&self) -> Result<ProxyOptions> {
        let mut o = options(&self.node_name, &self.cluster_cidr)?;
        o.table_name = self.nft_table.clone();
        o.masquerade_all = self.masquerade_all;
        o.sync_debounce = Duration::from_millis(self.sync_debounce_ms);
        o.validate()?;
        Ok(o)
    }
}

pub async fn run(args: ProxyArgs, shutdown: impl Future<Output = ()>) -> Result<()> {
    let options = args.options()?;
    if args.cleanup {
        return Ok(berth_proxy::cleanup(&options).await?);
    }
    let client = super::scheduler::client(&args.kubeconfig).await?;
    berth_proxy::run(client, options, shutdown).await?;
    Ok(())
}
