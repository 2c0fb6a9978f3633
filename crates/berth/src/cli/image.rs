//! `berth image …`: images in the node's containerd (issue 6).

use anyhow::{Result, bail};
use clap::Subcommand;

#[derive(Subcommand, Debug, Clone)]
pub enum ImageCommand {
    /// Load an OCI or docker archive into the node's containerd.
    Import {
        /// The archive.
        file: std::path::PathBuf,
    },
}

pub async fn run(cmd: ImageCommand) -> Result<()> {
    let _ = cmd;
    bail!("berth image is not built yet")
}
