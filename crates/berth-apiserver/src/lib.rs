//! Berth's Kubernetes-compatible API server.
//!
//! It is: the HTTPS surface kubectl, helm and client libraries talk to —
//! authentication (client certificates, static tokens), discovery, the
//! generic registry (CRUD, list/watch, patch, subresources) over the
//! [`berth_store::Store`], admission, Status errors, tables, OpenAPI and
//! metrics — and the start-up that makes certificates and the admin
//! kubeconfig.
//!
//! It is not: a controller. Everything that reconciles (garbage collection,
//! namespace cleanup, endpoints) is an API client in another crate. RBAC is
//! not enforced yet: every authenticated user is allowed.

pub mod allocator;
mod apply;
pub mod authn;
mod conversion;
mod custom;
mod discovery;
pub mod error;
mod handler;
mod key_locks;
mod kubelet;
mod metrics;
pub mod object;
mod openapi;
mod patch;
pub mod pki;
mod protobuf;
mod registry;
pub mod request;
mod resources;
mod reviews;
pub mod server;
pub mod state;
mod table;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use berth_store::Store;
use berth_store::cache::{WatchCache, WatchCacheConfig};
use berth_store::sqlite::{SqliteConfig, SqliteStore};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use allocator::Cidr;
pub use handler::handle;
pub use state::{ApiState, ServerConfig};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ApiServerError {
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
    #[error(transparent)]
    Authn(#[from] authn::AuthnError),
    #[error("store: {0}")]
    Store(#[from] berth_store::StoreError),
    #[error(transparent)]
    Serve(#[from] server::ServeError),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// A running API server.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub kubeconfig: std::path::PathBuf,
    pub state: Arc<ApiState>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting connections and waits for the listener to end.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }

    /// Waits until the listener ends (it ends only on shutdown).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// The machine's own IPv4 addresses, from the kernel's routing trie.
fn host_addresses() -> Vec<IpAddr> {
    let Ok(trie) = std::fs::read_to_string("/proc/net/fib_trie") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut last: Option<IpAddr> = None;
    for line in trie.lines() {
        let t = line.trim_start_matches([' ', '|', '-', '+']).trim();
        if let Ok(ip) = t.parse::<IpAddr>() {
            last = Some(ip);
        } else if t.contains("/32 host LOCAL")
            && let Some(ip) = last.filter(|ip| !out.contains(ip))
        {
            out.push(ip);
        }
    }
    out
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

async fn open_store(data_dir: &Path) -> Result<Arc<dyn Store>, ApiServerError> {
    let dir = data_dir.join("db");
    std::fs::create_dir_all(&dir).map_err(|source| ApiServerError::Io {
        path: dir.clone(),
        source,
    })?;
    let sqlite = SqliteStore::open(&dir.join("state.db"), SqliteConfig::default())?;
    let cache = WatchCache::new(Arc::new(sqlite), WatchCacheConfig::default()).await?;
    Ok(Arc::new(cache))
}

/// Compacts history older than one interval, every interval (as upstream
/// asks etcd to every five minutes).
fn spawn_compaction(store: Arc<dyn Store>, every: Duration) {
    tokio::spawn(async move {
        let mut previous = 0;
        loop {
            tokio::time::sleep(every).await;
            if previous > 0
                && let Err(e) = store.compact(previous).await
            {
                tracing::warn!(error = %e, revision = previous, "compaction failed");
            }
            previous = store.current_revision().await.unwrap_or(previous);
        }
    });
}

/// When an event last happened: its newest timestamp.
fn event_last_seen(obj: &serde_json::Value) -> Option<jiff::Timestamp> {
    let at = |p: &[&str]| object::get_str(obj, p).and_then(|t| t.parse::<jiff::Timestamp>().ok());
    [
        at(&["series", "lastObservedTime"]),
        at(&["lastTimestamp"]),
        at(&["deprecatedLastTimestamp"]),
        at(&["eventTime"]),
        at(&["metadata", "creationTimestamp"]),
    ]
    .into_iter()
    .flatten()
    .max()
}

/// Deletes events that last happened longer than `ttl` ago, as upstream's
/// etcd leases on events do.
fn spawn_event_ttl(store: Arc<dyn Store>, ttl: Duration) {
    let every = (ttl / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let Ok(page) = store.list("/core/events/", Default::default()).await else {
                continue;
            };
            let cutoff =
                jiff::Timestamp::now() - jiff::SignedDuration::try_from(ttl).unwrap_or_default();
            for kv in page.items {
                let Ok(obj) = serde_json::from_slice::<serde_json::Value>(&kv.value) else {
                    continue;
                };
                if event_last_seen(&obj).is_some_and(|t| t < cutoff) {
                    let _ = store.delete(&kv.key, Some(kv.mod_revision)).await;
                }
            }
        }
    });
}

/// Starts an API server: certificates, kubeconfig, store, listener.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ApiServerError> {
    let data_dir = config.data_dir.clone();
    std::fs::create_dir_all(&data_dir).map_err(|source| ApiServerError::Io {
        path: data_dir.clone(),
        source,
    })?;
    let mut ips = host_addresses();
    ips.push(IpAddr::V4(config.service_cluster_ip_range.nth(1)));
    if !config.bind_address.is_unspecified() {
        ips.push(config.bind_address);
    }
    let names: Vec<String> = hostname().into_iter().collect();
    let pki = pki::ensure(&data_dir.join("pki"), &pki::serving_sans(&ips, &names))?;
    let tokens = match &config.token_auth_file {
        Some(path) => Some(authn::TokenAuthenticator::from_file(path)?),
        None => None,
    };
    let listener = server::bind(SocketAddr::new(config.bind_address, config.secure_port)).await?;
    let addr = listener.local_addr().map_err(|source| ApiServerError::Io {
        path: data_dir.clone(),
        source,
    })?;
    let host = if config.bind_address.is_unspecified() {
        IpAddr::from([127, 0, 0, 1])
    } else {
        config.bind_address
    };
    let url = format!("https://{}", SocketAddr::new(host, addr.port()));
    let kubeconfig = data_dir.join("admin.kubeconfig");
    pki::write_private(
        &kubeconfig,
        &pki::kubeconfig(&url, &pki.ca.cert_pem, &pki.admin, "admin"),
    )?;
    let store = open_store(&data_dir).await?;
    let state = Arc::new(ApiState::new(config, store.clone(), tokens));
    state.bootstrap().await?;
    spawn_compaction(store.clone(), Duration::from_secs(300));
    spawn_event_ttl(store, state.config.event_ttl);
    match kubelet::client_config(&pki.admin) {
        Ok(c) => {
            let _ = state.kubelet_client.set(Arc::new(c));
        }
        Err(e) => tracing::warn!(error = %e, "no kubelet client: logs and exec will fail"),
    }
    let tls = server::tls_config(&pki)?;
    let (tx, mut rx) = watch::channel(false);
    let shutdown = async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let task = tokio::spawn(server::serve(listener, tls, state.clone(), shutdown));
    tracing::info!(%addr, kubeconfig = %kubeconfig.display(), "API server listening");
    Ok(RunningServer {
        addr,
        kubeconfig,
        state,
        shutdown: tx,
        task,
    })
}
