//! The proxy process: options, the watch-and-sync loop, and cleanup.
//!
//! The loop is level-triggered: any change rings a bell; after a short
//! debounce (events arriving together share one sync) the desired state is
//! recomputed from the stores and each family's table is brought in line.
//! A failed sync is retried with doubling backoff and rebuilds the table.
//! On shutdown the table is left in place, as upstream does, so traffic
//! keeps flowing while the proxy restarts; [`cleanup`] removes it.

mod informer;

use std::path::PathBuf;
use std::time::Duration;

use tokio::time::Instant;

use crate::backend::{NftBackend, RuleBackend};
use crate::cidr::Cidr;
use crate::error::ProxyError;
use crate::model::{Family, desired_state};
use crate::ruleset::{RenderOptions, Table};
use crate::sync::Syncer;

pub use informer::Informers;

/// The default table name (`table ip berth`).
pub const DEFAULT_TABLE: &str = "berth";
/// The default debounce: a change reaches nft within about this long.
pub const DEFAULT_SYNC_DEBOUNCE: Duration = Duration::from_millis(10);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// How the proxy runs; checked by [`ProxyOptions::validate`].
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// This node's name: decides which endpoints are local.
    pub node_name: String,
    /// The nftables table name, one table per family.
    pub table_name: String,
    /// Program the tables inside this network namespace (`/run/netns/X`).
    pub netns: Option<PathBuf>,
    /// The `nft` binary.
    pub nft: PathBuf,
    /// Pod CIDRs: other sources reaching a cluster IP are masqueraded.
    pub cluster_cidrs: Vec<Cidr>,
    /// Masquerade all traffic to cluster IPs.
    pub masquerade_all: bool,
    /// The families to program (default: IPv4 only).
    pub families: Vec<Family>,
    /// How long events are coalesced before a sync.
    pub sync_debounce: Duration,
}

impl ProxyOptions {
    pub fn new(node_name: &str) -> Self {
        Self {
            node_name: node_name.to_string(),
            table_name: DEFAULT_TABLE.to_string(),
            netns: None,
            nft: PathBuf::from("nft"),
            cluster_cidrs: Vec::new(),
            masquerade_all: false,
            families: vec![Family::V4],
            sync_debounce: DEFAULT_SYNC_DEBOUNCE,
        }
    }

    pub fn validate(&self) -> Result<(), ProxyError> {
        let identifier = |s: &str| {
            s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if !identifier(&self.table_name) || self.table_name.len() > 64 {
            return Err(ProxyError::Config(format!(
                "table name {:?}: want a letter then letters, digits, '-' or '_'",
                self.table_name
            )));
        }
        if self.node_name.is_empty() {
            return Err(ProxyError::Config("node name is empty".into()));
        }
        if self.families.is_empty() {
            return Err(ProxyError::Config("no IP family to program".into()));
        }
        Ok(())
    }

    /// The real backend these options describe.
    pub fn backend(&self) -> NftBackend {
        let backend = match &self.netns {
            Some(ns) => NftBackend::in_netns(ns),
            None => NftBackend::new(),
        };
        backend.with_program(&self.nft)
    }

    pub fn render_options(&self, family: Family) -> RenderOptions {
        RenderOptions {
            cluster_cidrs: self
                .cluster_cidrs
                .iter()
                .filter(|c| c.family() == family)
                .copied()
                .collect(),
            masquerade_all: self.masquerade_all,
        }
    }

    fn syncers<B: RuleBackend + Clone>(&self, backend: &B) -> Vec<Syncer<B>> {
        self.families
            .iter()
            .map(|f| {
                let table = Table::new(*f, &self.table_name);
                Syncer::new(backend.clone(), table, self.render_options(*f))
            })
            .collect()
    }
}

/// Runs the proxy with `nft` until `shutdown` resolves.
pub async fn run(
    client: kube::Client,
    options: ProxyOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ProxyError> {
    options.validate()?;
    let backend = options.backend();
    run_with_backend(client, options, backend, shutdown).await
}

/// [`run`] with any backend (tests use [`crate::FakeBackend`]).
pub async fn run_with_backend<B: RuleBackend + Clone>(
    client: kube::Client,
    options: ProxyOptions,
    backend: B,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ProxyError> {
    options.validate()?;
    let informers = Informers::start(&client, &options.node_name);
    let mut syncers = options.syncers(&backend);
    tokio::pin!(shutdown);
    tokio::select! {
        _ = &mut shutdown => return Ok(()),
        ready = informers.wait_until_ready() => if !ready {
            return Err(ProxyError::Config("the watches stopped before listing".into()));
        }
    }
    tracing::info!(node = %options.node_name, table = %options.table_name, "service proxy started");
    let mut retry = Duration::ZERO;
    loop {
        let failed = !sync_all(&mut syncers, &informers, &options).await;
        retry = if failed {
            (retry * 2).clamp(Duration::from_secs(1), MAX_RETRY)
        } else {
            Duration::ZERO
        };
        let retry_at = failed.then(|| Instant::now() + retry);
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = informers.changed.notified() => {}
            _ = sleep_until(retry_at) => {}
        }
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tokio::time::sleep(options.sync_debounce) => {}
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Syncs every family; false if any failed.
async fn sync_all<B: RuleBackend>(
    syncers: &mut [Syncer<B>],
    informers: &Informers,
    options: &ProxyOptions,
) -> bool {
    let services = informers.services.state();
    let slices = informers.slices.state();
    let node = informers.node_context(&options.node_name);
    let mut ok = true;
    for syncer in syncers {
        let family = syncer.table().family;
        let desired = desired_state(
            services.iter().map(AsRef::as_ref),
            slices.iter().map(AsRef::as_ref),
            &node,
            family,
        );
        let started = std::time::Instant::now();
        match syncer.sync(&desired).await {
            Ok(r) if r.commands > 0 => tracing::debug!(
                table = %syncer.table(), full = r.full, changed = r.changed_service_ports,
                commands = r.commands, took = ?started.elapsed(), "synced"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "sync failed; the table will be rebuilt");
                ok = false;
            }
        }
    }
    ok
}

/// Deletes the proxy's tables (every family in `options`); absent tables
/// are fine.
pub async fn cleanup(options: &ProxyOptions) -> Result<(), ProxyError> {
    options.validate()?;
    cleanup_with(&options.backend(), options).await
}

/// [`cleanup`] with any backend.
pub async fn cleanup_with<B: RuleBackend>(
    backend: &B,
    options: &ProxyOptions,
) -> Result<(), ProxyError> {
    for family in &options.families {
        let table = Table::new(*family, &options.table_name);
        let text = format!("add table {table}\ndelete table {table}\n");
        backend
            .apply(&text)
            .await
            .map_err(|source| ProxyError::Backend {
                table: table.to_string(),
                source,
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
