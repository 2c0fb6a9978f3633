//! `berth controller-manager`: flags and wiring of the controllers (issue 4).

use std::future::Future;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct ControllerManagerArgs {
    /// Kubeconfig of the API server to reconcile against.
    #[arg(long)]
    pub kubeconfig: PathBuf,
}

pub async fn run(args: ControllerManagerArgs, shutdown: impl Future<Output = ()>) -> Result<()> {
    let _ = (args, shutdown);
    bail!("berth controller-manager is not built yet")
}
