//! `berth bench controllers` (issue 4).

use anyhow::{Result, bail};
use clap::Args;

#[derive(Args, Debug)]
pub struct ControllersBenchArgs {
    /// Replicas to scale a Deployment to.
    #[arg(long, default_value_t = 10000)]
    pub replicas: usize,
}

pub async fn run(args: ControllersBenchArgs) -> Result<()> {
    let _ = args;
    bail!("berth bench controllers is not written yet")
}
