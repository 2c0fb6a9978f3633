//! `berth scheduler`: flags and wiring of the scheduler (issue 9).

use std::future::Future;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct SchedulerArgs {
    /// Kubeconfig of the API server to schedule for.
    #[arg(long)]
    pub kubeconfig: PathBuf,
}

pub async fn run(args: SchedulerArgs, shutdown: impl Future<Output = ()>) -> Result<()> {
    let _ = (args, shutdown);
    bail!("berth scheduler is not wired to the API yet")
}
