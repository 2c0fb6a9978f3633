//! The scheduler as a service: watches the API, schedules pending pods with
//! the pure core of this crate, binds them through `pods/binding` and
//! explains failures with Events and the `PodScheduled` condition.
//!
//! [`run`] validates the options, optionally waits to become leader through
//! the `kube-system/kube-scheduler` Lease, then runs the scheduling loop
//! until `shutdown` resolves or leadership is lost. One task (the loop) owns
//! the snapshot and the queue; watcher tasks feed it through a channel;
//! bindings and event writes run in tasks of their own.

mod binder;
mod cluster;
mod config;
mod cycle;
mod informer;
mod priority;
mod recorder;
mod scheduling_loop;
mod stats;

use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;

use berth_lease::{LeaseConfig, LeaseError};

pub use config::{
    ConfigError, PluginConfig, PluginRef, PluginSet, ProfileConfig, SchedulerConfiguration,
};
pub use stats::SchedulerStats;

use scheduling_loop::{LoopParams, SchedulingLoop};

/// The Lease upstream's kube-scheduler elects through.
pub const LEASE_NAME: &str = "kube-scheduler";

/// How the service runs. Build it with [`SchedulerOptions::new`].
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Profiles and plugin settings.
    pub config: SchedulerConfiguration,
    /// Leader election settings; `None` runs without election.
    pub leader_election: Option<LeaseConfig>,
    /// This instance's name in Events and the Lease.
    pub identity: String,
    /// Bindings written concurrently.
    pub bind_concurrency: usize,
    /// Reports (Events, conditions) buffered before new ones are dropped.
    pub event_buffer: usize,
    /// Counters the caller may read while the service runs.
    pub stats: Arc<SchedulerStats>,
}

impl SchedulerOptions {
    /// Default profile, no leader election.
    pub fn new(identity: &str) -> Self {
        Self {
            config: SchedulerConfiguration::default(),
            leader_election: None,
            identity: identity.to_owned(),
            bind_concurrency: 64,
            event_buffer: 4096,
            stats: Arc::new(SchedulerStats::default()),
        }
    }

    /// Elects through the `kube-system/kube-scheduler` Lease.
    pub fn with_leader_election(mut self) -> Self {
        self.leader_election = Some(LeaseConfig::new(LEASE_NAME, &self.identity));
        self
    }
}

/// Why the service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Leader election failed.
    #[error("leader election: {0}")]
    Lease(#[from] LeaseError),
    /// The watchers stopped (the loop cannot see the cluster any more).
    #[error("the API watchers stopped")]
    WatchersStopped,
}

/// Runs the scheduler until `shutdown` resolves (Ok) or leadership is lost
/// or the watchers die (Err for the latter two cases except a clean stop).
pub async fn run(
    client: kube::Client,
    options: SchedulerOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServiceError> {
    let profiles = options.config.build_profiles()?;
    let mut shutdown = pin!(shutdown);
    let mut leadership = match options.leader_election.clone() {
        None => None,
        Some(lease) => {
            tracing::info!(identity = %lease.identity, "waiting to become leader");
            tokio::select! {
                leadership = berth_lease::acquire(client.clone(), lease) => Some(leadership?),
                () = &mut shutdown => return Ok(()),
            }
        }
    };
    let names: HashSet<String> = profiles
        .iter()
        .map(|p| p.scheduler_name().to_owned())
        .collect();
    tracing::info!(profiles = ?names, "scheduler started");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let params = LoopParams {
        client,
        profiles,
        identity: options.identity.clone(),
        bind_concurrency: options.bind_concurrency,
        event_buffer: options.event_buffer,
        stats: Arc::clone(&options.stats),
    };
    let mut scheduling = pin!(SchedulingLoop::start(params).run(stop_rx));
    let lost = async {
        match leadership.as_mut() {
            Some(l) => l.lost().await,
            None => std::future::pending().await,
        }
    };
    let result = tokio::select! {
        result = &mut scheduling => result,
        () = &mut shutdown => {
            let _ = stop_tx.send(true);
            scheduling.await
        }
        () = lost => {
            tracing::error!("leadership lost; stopping");
            let _ = stop_tx.send(true);
            scheduling.await
        }
    };
    if let Some(leadership) = leadership {
        leadership.release().await;
    }
    result
}
