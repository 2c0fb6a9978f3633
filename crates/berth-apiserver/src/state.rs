//! The API server's shared state and the work it does on its own: creating
//! the system namespaces and the `kubernetes` Service on start, keeping the
//! resource table in step with CRDs, and the namespace-phase cache that
//! admission reads.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_store::{ListOptions, Store, StoreError};
use parking_lot::{Mutex, RwLock};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::allocator::{Cidr, ServiceAllocator};
use crate::authn::TokenAuthenticator;
use crate::custom;
use crate::error::{ApiError, ApiResult, Target};
use crate::metrics::Metrics;
use crate::object;
use crate::registry::admission_holdings;
use crate::resources::ResourceTable;

/// Everything `berth server` is configured with (flags named as upstream).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub bind_address: IpAddr,
    pub secure_port: u16,
    pub service_cluster_ip_range: Cidr,
    pub service_node_port_range: (u16, u16),
    pub token_auth_file: Option<PathBuf>,
    /// The longest a watch stays open without `timeoutSeconds`.
    pub min_request_timeout: Duration,
    pub bookmark_interval: Duration,
    /// Requests in flight beyond which new ones get 429.
    pub max_requests_inflight: usize,
    /// How long an event is kept after it last happened (`--event-ttl`).
    pub event_ttl: Duration,
}

impl ServerConfig {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            bind_address: IpAddr::from([0, 0, 0, 0]),
            secure_port: 6443,
            service_cluster_ip_range: Cidr {
                base: u32::from_be_bytes([10, 43, 0, 0]),
                prefix: 16,
            },
            service_node_port_range: (30000, 32767),
            token_auth_file: None,
            min_request_timeout: Duration::from_secs(1800),
            bookmark_interval: Duration::from_secs(60),
            max_requests_inflight: 1200,
            event_ttl: Duration::from_secs(3600),
        }
    }
}

/// Shared by every request.
pub struct ApiState {
    pub config: ServerConfig,
    pub store: Arc<dyn Store>,
    resources: RwLock<Arc<ResourceTable>>,
    pub services: ServiceAllocator,
    pub metrics: Metrics,
    pub tokens: Option<TokenAuthenticator>,
    pub inflight: Semaphore,
    /// Turns for read-modify-write requests on one key.
    pub key_locks: crate::key_locks::KeyLocks,
    /// How this server connects to kubelets (set once at start).
    pub kubelet_client: std::sync::OnceLock<Arc<rustls::ClientConfig>>,
    namespaces: Mutex<HashMap<String, (String, Instant)>>,
}

/// How long a namespace's phase is trusted without a store read.
const NAMESPACE_CACHE_TTL: Duration = Duration::from_secs(1);

const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

impl ApiState {
    pub fn new(
        config: ServerConfig,
        store: Arc<dyn Store>,
        tokens: Option<TokenAuthenticator>,
    ) -> Self {
        let services = ServiceAllocator::new(
            config.service_cluster_ip_range,
            config.service_node_port_range,
        );
        let inflight = Semaphore::new(config.max_requests_inflight);
        Self {
            config,
            store,
            resources: RwLock::new(Arc::new(ResourceTable::builtin())),
            services,
            metrics: Metrics::default(),
            tokens,
            inflight,
            key_locks: Default::default(),
            kubelet_client: std::sync::OnceLock::new(),
            namespaces: Mutex::new(HashMap::new()),
        }
    }

    pub fn resources(&self) -> Arc<ResourceTable> {
        self.resources.read().clone()
    }

    /// The phase of a namespace (`None` when it does not exist).
    pub async fn namespace_phase(&self, ns: &str) -> ApiResult<Option<String>> {
        if let Some((phase, at)) = self.namespaces.lock().get(ns)
            && at.elapsed() < NAMESPACE_CACHE_TTL
        {
            return Ok(Some(phase.clone()));
        }
        let key = format!("/core/namespaces/{ns}");
        let target = Target::new("", "namespaces", ns);
        let kv = self
            .store
            .get(&key)
            .await
            .map_err(|e| ApiError::from_store(e, &target))?;
        let Some(kv) = kv else {
            self.namespaces.lock().remove(ns);
            return Ok(None);
        };
        let obj: Value = serde_json::from_slice(&kv.value)?;
        let terminating = object::get(&obj, &["metadata", "deletionTimestamp"]).is_some()
            || object::get_str(&obj, &["status", "phase"]) == Some("Terminating");
        let phase = if terminating { "Terminating" } else { "Active" }.to_string();
        if !terminating {
            self.namespaces
                .lock()
                .insert(ns.to_string(), (phase.clone(), Instant::now()));
        }
        Ok(Some(phase))
    }

    /// Forgets a namespace's cached phase (after it was written).
    pub fn forget_namespace(&self, ns: &str) {
        self.namespaces.lock().remove(ns);
    }

    /// Creates what a fresh cluster has: system namespaces and the
    /// `kubernetes` Service; marks allocated Service addresses as used.
    pub async fn bootstrap(&self) -> Result<(), StoreError> {
        for ns in SYSTEM_NAMESPACES {
            let obj = json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "uid": uuid::Uuid::new_v4().to_string(),
                    "creationTimestamp": object::now_rfc3339(),
                    "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
            self.create_if_absent(&format!("/core/namespaces/{ns}"), &obj)
                .await?;
        }
        let services = self
            .store
            .list("/core/services/", ListOptions::default())
            .await?;
        for kv in &services.items {
            if let Ok(svc) = serde_json::from_slice::<Value>(&kv.value) {
                let (ips, ports) = admission_holdings(&svc);
                self.services.mark_used(&ips, &ports);
            }
        }
        let ip = self.config.service_cluster_ip_range.nth(1).to_string();
        let svc = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default", "uid": uuid::Uuid::new_v4().to_string(),
                "creationTimestamp": object::now_rfc3339(),
                "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip], "sessionAffinity": "None",
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": self.config.secure_port}]},
            "status": {"loadBalancer": {}}});
        if self
            .create_if_absent("/core/services/default/kubernetes", &svc)
            .await?
            && let Ok(addr) = ip.parse()
        {
            self.services.mark_used(&[addr], &[]);
        }
        self.refresh_crds().await
    }

    async fn create_if_absent(&self, key: &str, obj: &Value) -> Result<bool, StoreError> {
        let stored =
            object::encode_stored(obj).map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
        match self.store.create(key, stored).await {
            Ok(_) => Ok(true),
            Err(StoreError::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Re-reads every CRD: marks new ones established, removes the objects
    /// of deleted ones, and swaps in a resource table that serves them.
    pub async fn refresh_crds(&self) -> Result<(), StoreError> {
        let prefix = "/apiextensions.k8s.io/customresourcedefinitions/";
        let crds = self.store.list(prefix, ListOptions::default()).await?;
        let mut extra = Vec::new();
        for kv in &crds.items {
            let Ok(mut crd) = object::decode(kv) else {
                continue;
            };
            if object::get(&crd, &["metadata", "deletionTimestamp"]).is_some() {
                self.finish_crd_deletion(kv, crd).await?;
                continue;
            }
            if !custom::is_established(&crd) {
                crd["status"] = custom::established_status(&crd);
                let stored = object::encode_stored(&crd)
                    .map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
                match self.store.update(&kv.key, stored, kv.mod_revision).await {
                    Ok(_) | Err(StoreError::Conflict { .. }) | Err(StoreError::NotFound { .. }) => {
                    }
                    Err(e) => return Err(e),
                }
            }
            extra.extend(custom::resources_of(&crd));
        }
        let table = ResourceTable::builtin().with(extra);
        *self.resources.write() = Arc::new(table);
        Ok(())
    }

    async fn finish_crd_deletion(
        &self,
        kv: &berth_store::KeyValue,
        mut crd: Value,
    ) -> Result<(), StoreError> {
        custom::delete_objects(self.store.as_ref(), &crd).await?;
        let rest: Vec<String> = object::finalizers(&crd)
            .into_iter()
            .filter(|f| f != custom::CLEANUP_FINALIZER)
            .collect();
        let result = if rest.is_empty() {
            self.store
                .delete(&kv.key, Some(kv.mod_revision))
                .await
                .map(|_| ())
        } else {
            object::set(&mut crd, &["metadata", "finalizers"], json!(rest));
            let stored = object::encode_stored(&crd)
                .map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
            self.store
                .update(&kv.key, stored, kv.mod_revision)
                .await
                .map(|_| ())
        };
        match result {
            Ok(()) | Err(StoreError::Conflict { .. }) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
