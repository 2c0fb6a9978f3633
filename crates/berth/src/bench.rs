//! `berth bench …`: benchmarks that start the real binary and print figures.

mod api;
mod child;
mod controllers;
mod daemonsets;
mod jobs;
mod patch;
mod scheduler;
mod up;

use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// API server: concurrent creates, one big list, many watchers.
    Api(api::ApiBenchArgs),
    /// Patches: strategic merge and server-side apply on a 50-container
    /// Deployment, and the cached OpenAPI v3 document.
    Patch(patch::PatchBenchArgs),
    /// Scheduler: nodes and pods through the API, pods bound per second.
    Scheduler(scheduler::SchedulerBenchArgs),
    /// `berth up`: cold start to node Ready and first pod Running, idle
    /// RSS and CPU, a 100-pod Deployment (in a throwaway network namespace).
    Up(up::UpBenchArgs),
    /// Controller manager: scaling and rolling Deployments on fake nodes.
    Controllers(controllers::ControllersBenchArgs),
    /// DaemonSet controller: a rollout and a rolling update over fake nodes.
    Daemonsets(daemonsets::DaemonSetsBenchArgs),
    /// Job controller: completions/s of a 10,000-completion Job on fake nodes.
    Jobs(jobs::JobsBenchArgs),
}

pub async fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Api(args) => api::run(args).await,
        BenchCommand::Patch(args) => patch::run(args).await,
        BenchCommand::Scheduler(args) => scheduler::run(args).await,
        BenchCommand::Controllers(args) => controllers::run(args).await,
        BenchCommand::Up(args) => up::run_bench(args).await,
        BenchCommand::Jobs(args) => jobs::run(args).await,
        BenchCommand::Daemonsets(args) => daemonsets::run(args).await,
    }
}

/// Percentile of sorted samples (nearest rank).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
    }
}
