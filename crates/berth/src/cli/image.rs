//! `berth image …`: images in the node's containerd (issue 6).

use std::path::PathBuf;

use anyhow::{Context, Result};
use berth_agent::containerd::ContainerdPaths;
use berth_agent::image;
use clap::Subcommand;

#[derive(Subcommand, Debug, Clone)]
pub enum ImageCommand {
    /// Load an OCI or docker archive into the node's containerd (`k8s.io`
    /// namespace, through containerd's `ctr`).
    Import {
        /// The archive.
        file: PathBuf,
        /// The agent's data dir (its private containerd's socket is there).
        #[arg(long, default_value = "/var/lib/berth/agent")]
        data_dir: PathBuf,
        /// Another containerd socket instead (`unix:///…`).
        #[arg(long)]
        container_runtime_endpoint: Option<String>,
    },
    /// Build an OCI archive of a busybox image (`berth.local/busybox:1`)
    /// from the host's busybox-static, for offline machines.
    BuildBusybox {
        /// Where to write the archive.
        out: PathBuf,
        /// The busybox binary.
        #[arg(long, default_value = image::BUSYBOX_PATH)]
        busybox: PathBuf,
    },
    /// Build an OCI archive of the demo web image (`berth.local/hello:1`:
    /// busybox httpd on port 80 answering "Hello from Berth! I am <pod>").
    BuildDemo {
        /// Where to write the archive.
        out: PathBuf,
        /// The image's name (a second tag makes a "new version" to roll to).
        #[arg(long, default_value = image::DEMO_IMAGE)]
        name: String,
        /// The busybox binary.
        #[arg(long, default_value = image::BUSYBOX_PATH)]
        busybox: PathBuf,
    },
}

pub async fn run(cmd: ImageCommand) -> Result<()> {
    match cmd {
        ImageCommand::Import {
            file,
            data_dir,
            container_runtime_endpoint,
        } => {
            let socket = match container_runtime_endpoint {
                Some(e) => berth_agent::cri::remote::socket_path(&e)?,
                None => ContainerdPaths::new(&data_dir).socket(),
            };
            image::import(&socket, &file)
                .await
                .with_context(|| format!("importing {}", file.display()))?;
            println!("imported {}", file.display());
        }
        ImageCommand::BuildBusybox { out, busybox } => {
            image::write_archive(&image::busybox_recipe(), &busybox, &out)?;
            println!("{} written to {}", image::BUSYBOX_IMAGE, out.display());
        }
        ImageCommand::BuildDemo { out, name, busybox } => {
            let recipe = image::ImageRecipe {
                name: &name,
                ..image::demo_recipe()
            };
            image::write_archive(&recipe, &busybox, &out)?;
            println!("{name} written to {}", out.display());
        }
    }
    Ok(())
}
