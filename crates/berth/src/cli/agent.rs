//! `berth agent`: flags and wiring of the node agent (issue 6).

use std::future::Future;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct AgentArgs {
    /// Kubeconfig of the API server.
    #[arg(long)]
    pub kubeconfig: PathBuf,
}

pub async fn run(args: AgentArgs, shutdown: impl Future<Output = ()>) -> Result<()> {
    let _ = (args, shutdown);
    bail!("berth agent is not built yet")
}
