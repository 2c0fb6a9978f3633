//! `berth bench scheduler` (issue 9).

use anyhow::{Result, bail};
use clap::Args;

#[derive(Args, Debug)]
pub struct SchedulerBenchArgs {
    /// Node objects to create.
    #[arg(long, default_value_t = 5000)]
    pub nodes: usize,
}

pub async fn run(args: SchedulerBenchArgs) -> Result<()> {
    let _ = args;
    bail!("berth bench scheduler is not written yet")
}
