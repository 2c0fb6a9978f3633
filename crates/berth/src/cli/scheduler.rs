//! `berth scheduler`: flags and wiring of the scheduler (issue 9).

use std::future::Future;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use berth_scheduler::SchedulerOptions;
use berth_scheduler::service::SchedulerConfiguration;
use clap::Args;
use kube::config::{KubeConfigOptions, Kubeconfig};

#[derive(Args, Debug, Clone)]
pub struct SchedulerArgs {
    /// Kubeconfig of the API server to schedule for.
    #[arg(long)]
    pub kubeconfig: PathBuf,
    /// Elect a leader through the kube-system/kube-scheduler Lease.
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// A KubeSchedulerConfiguration file (YAML or JSON; a subset is honoured).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Bindings written to the API concurrently.
    #[arg(long, default_value_t = 64)]
    pub bind_concurrency: usize,
}

impl SchedulerArgs {
    /// Validated options (the configuration file is read and its profiles
    /// built before anything touches the API).
    pub fn options(&self) -> Result<SchedulerOptions> {
        let mut options = SchedulerOptions::new(&identity());
        if let Some(path) = &self.config {
            options.config = SchedulerConfiguration::from_file(path)?;
            options.config.build_profiles()?;
        }
        if self.leader_elect {
            options = options.with_leader_election();
        }
        options.bind_concurrency = self.bind_concurrency;
        Ok(options)
    }
}

pub async fn run(args: SchedulerArgs, shutdown: impl Future<Output = ()>) -> Result<()> {
    let options = args.options()?;
    let client = client(&args.kubeconfig).await?;
    berth_scheduler::run(client, options, shutdown).await?;
    Ok(())
}

/// A kube-rs client from a kubeconfig file.
pub async fn client(kubeconfig: &Path) -> Result<kube::Client> {
    let kc = Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    Ok(kube::Client::try_from(config)?)
}

/// `hostname_pid`, unique per scheduler process (the Lease holder identity).
fn identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    let host = if host.is_empty() { "berth" } else { host };
    format!("{host}_{}", std::process::id())
}
