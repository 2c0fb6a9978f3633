//! What a pod worker needs from the API server, as a trait: ConfigMaps and
//! Secrets for env, status writes, the final deletion. [`KubePodApi`] is the
//! kube-rs implementation; [`FakePodApi`] keeps everything in memory.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, PodStatus, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use parking_lot::Mutex;

/// An API call that failed; `NotFound` is told apart because callers treat
/// a missing object as a normal outcome.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PodApiError {
    #[error("{kind} {namespace}/{name} not found")]
    NotFound {
        kind: &'static str,
        namespace: String,
        name: String,
    },
    #[error("{kind} {namespace}/{name}: {message}")]
    Failed {
        kind: &'static str,
        namespace: String,
        name: String,
        message: String,
    },
}

#[async_trait]
pub trait PodApi: Send + Sync {
    async fn config_map(&self, namespace: &str, name: &str) -> Result<ConfigMap, PodApiError>;
    async fn secret(&self, namespace: &str, name: &str) -> Result<Secret, PodApiError>;
    /// Replaces the pod's status (merge patch of `status`).
    async fn patch_status(
        &self,
        namespace: &str,
        name: &str,
        status: &PodStatus,
    ) -> Result<(), PodApiError>;
    /// Deletes the pod with grace period 0, only if its UID is still `uid`.
    async fn delete_pod(&self, namespace: &str, name: &str, uid: &str) -> Result<(), PodApiError>;
}

/// The kube-rs implementation.
#[derive(Clone)]
pub struct KubePodApi {
    client: kube::Client,
}

impl KubePodApi {
    pub fn new(client: kube::Client) -> Self {
        Self { client }
    }
}

fn translate(kind: &'static str, namespace: &str, name: &str, e: kube::Error) -> PodApiError {
    let (namespace, name) = (namespace.to_string(), name.to_string());
    match e {
        kube::Error::Api(s) if s.code == 404 => PodApiError::NotFound {
            kind,
            namespace,
            name,
        },
        e => PodApiError::Failed {
            kind,
            namespace,
            name,
            message: e.to_string(),
        },
    }
}

#[async_trait]
impl PodApi for KubePodApi {
    async fn config_map(&self, namespace: &str, name: &str) -> Result<ConfigMap, PodApiError> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        api.get(name)
            .await
            .map_err(|e| translate("ConfigMap", namespace, name, e))
    }

    async fn secret(&self, namespace: &str, name: &str) -> Result<Secret, PodApiError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        api.get(name)
            .await
            .map_err(|e| translate("Secret", namespace, name, e))
    }

    async fn patch_status(
        &self,
        namespace: &str,
        name: &str,
        status: &PodStatus,
    ) -> Result<(), PodApiError> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let patch = serde_json::json!({ "status": status });
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(drop)
            .map_err(|e| translate("Pod", namespace, name, e))
    }

    async fn delete_pod(&self, namespace: &str, name: &str, uid: &str) -> Result<(), PodApiError> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(uid.to_string()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
            Err(e) => Err(translate("Pod", namespace, name, e)),
        }
    }
}

/// In-memory API for unit tests: ConfigMaps and Secrets by `ns/name`, the
/// last status written per pod and the deletions asked for.
#[derive(Clone, Default)]
pub struct FakePodApi {
    inner: Arc<Mutex<FakeState>>,
}

#[derive(Default)]
struct FakeState {
    config_maps: BTreeMap<String, ConfigMap>,
    secrets: BTreeMap<String, Secret>,
    statuses: BTreeMap<String, Vec<PodStatus>>,
    deleted: Vec<String>,
}

impl FakePodApi {
    pub fn add_config_map(&self, namespace: &str, cm: ConfigMap) {
        let key = format!(
            "{namespace}/{}",
            cm.metadata.name.clone().unwrap_or_default()
        );
        self.inner.lock().config_maps.insert(key, cm);
    }

    pub fn add_secret(&self, namespace: &str, s: Secret) {
        let key = format!(
            "{namespace}/{}",
            s.metadata.name.clone().unwrap_or_default()
        );
        self.inner.lock().secrets.insert(key, s);
    }

    /// Every status written for `ns/name`, oldest first.
    pub fn statuses(&self, namespace: &str, name: &str) -> Vec<PodStatus> {
        let key = format!("{namespace}/{name}");
        self.inner
            .lock()
            .statuses
            .get(&key)
            .cloned()
            .unwrap_or_default()
    }

    /// `ns/name` of every pod deleted.
    pub fn deleted(&self) -> Vec<String> {
        self.inner.lock().deleted.clone()
    }
}

fn missing(kind: &'static str, namespace: &str, name: &str) -> PodApiError {
    PodApiError::NotFound {
        kind,
        namespace: namespace.into(),
        name: name.into(),
    }
}

#[async_trait]
impl PodApi for FakePodApi {
    async fn config_map(&self, namespace: &str, name: &str) -> Result<ConfigMap, PodApiError> {
        let key = format!("{namespace}/{name}");
        let found = self.inner.lock().config_maps.get(&key).cloned();
        found.ok_or_else(|| missing("ConfigMap", namespace, name))
    }

    async fn secret(&self, namespace: &str, name: &str) -> Result<Secret, PodApiError> {
        let key = format!("{namespace}/{name}");
        let found = self.inner.lock().secrets.get(&key).cloned();
        found.ok_or_else(|| missing("Secret", namespace, name))
    }

    async fn patch_status(
        &self,
        namespace: &str,
        name: &str,
        status: &PodStatus,
    ) -> Result<(), PodApiError> {
        let key = format!("{namespace}/{name}");
        self.inner
            .lock()
            .statuses
            .entry(key)
            .or_default()
            .push(status.clone());
        Ok(())
    }

    async fn delete_pod(&self, namespace: &str, name: &str, _uid: &str) -> Result<(), PodApiError> {
        self.inner
            .lock()
            .deleted
            .push(format!("{namespace}/{name}"));
        Ok(())
    }
}
