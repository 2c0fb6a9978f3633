//! The Container Runtime Interface as Berth uses it: two traits shaped like
//! CRI v1's `RuntimeService` and `ImageService`, with the tonic client over a
//! Unix socket ([`RemoteRuntime`]) and a recording fake ([`FakeRuntime`]).
//!
//! Messages are CRI's own protobuf types (re-exported as [`api`]), so the
//! vocabulary stays upstream's: `PodSandbox`, `ContainerStatus`, `ImageSpec`.

mod fake;
pub mod remote;
pub mod stats;
pub mod streaming;

use std::time::Duration;

use async_trait::async_trait;

pub use fake::{FakeCall, FakeRuntime};
pub use k8s_cri::v1 as api;
pub use remote::RemoteRuntime;

/// What failed talking to the container runtime. Each variant names the
/// operation and the object it was about.
#[derive(Debug, thiserror::Error)]
pub enum CriError {
    #[error("connecting to the container runtime at {endpoint}: {message}")]
    Connect { endpoint: String, message: String },
    #[error("unsupported container runtime endpoint {0:?}: want unix:///path")]
    Endpoint(String),
    #[error("{op} {id}: not found")]
    NotFound { op: &'static str, id: String },
    #[error("{op} {id}: {message}")]
    Call {
        op: &'static str,
        id: String,
        message: String,
    },
}

impl CriError {
    /// True when the runtime says the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CriError::NotFound { .. })
    }

    /// A `Call` error (or `NotFound`, from the gRPC status code).
    pub fn from_status(op: &'static str, id: &str, status: &tonic::Status) -> Self {
        let id = id.to_string();
        if status.code() == tonic::Code::NotFound || status.message().contains("not found") {
            CriError::NotFound { op, id }
        } else {
            let message = status.message().to_string();
            CriError::Call { op, id, message }
        }
    }
}

/// CRI `RuntimeService`: pod sandboxes and containers.
#[async_trait]
pub trait RuntimeService: Send + Sync {
    /// The runtime's name and version (`containerd`, `1.6.20`).
    async fn version(&self) -> Result<api::VersionResponse, CriError>;
    /// Creates and starts a sandbox; returns its id.
    async fn run_pod_sandbox(&self, config: &api::PodSandboxConfig) -> Result<String, CriError>;
    async fn stop_pod_sandbox(&self, id: &str) -> Result<(), CriError>;
    async fn remove_pod_sandbox(&self, id: &str) -> Result<(), CriError>;
    async fn pod_sandbox_status(&self, id: &str) -> Result<api::PodSandboxStatus, CriError>;
    async fn list_pod_sandboxes(&self) -> Result<Vec<api::PodSandbox>, CriError>;
    /// Creates a container in a sandbox; returns its id.
    async fn create_container(
        &self,
        sandbox_id: &str,
        config: &api::ContainerConfig,
        sandbox_config: &api::PodSandboxConfig,
    ) -> Result<String, CriError>;
    async fn start_container(&self, id: &str) -> Result<(), CriError>;
    /// SIGTERM (or the image's stop signal), then SIGKILL after `timeout`.
    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<(), CriError>;
    async fn remove_container(&self, id: &str) -> Result<(), CriError>;
    async fn list_containers(&self) -> Result<Vec<api::Container>, CriError>;
    async fn container_status(&self, id: &str) -> Result<api::ContainerStatus, CriError>;
    /// Runs `cmd` in the container and waits for it, up to `timeout`.
    async fn exec_sync(
        &self,
        id: &str,
        cmd: &[String],
        timeout: Duration,
    ) -> Result<api::ExecSyncResponse, CriError>;
    /// Whether the runtime's pod network is ready (CRI `Status`, condition
    /// NetworkReady): sandboxes with their own network namespace need it.
    async fn network_ready(&self) -> Result<bool, CriError> {
        Ok(true)
    }
}

/// CRI `ImageService`.
#[async_trait]
pub trait ImageService: Send + Sync {
    /// Pulls an image; returns the image reference (its id).
    async fn pull_image(
        &self,
        image: &str,
        auth: Option<api::AuthConfig>,
    ) -> Result<String, CriError>;
    /// The image if it is present.
    async fn image_status(&self, image: &str) -> Result<Option<api::Image>, CriError>;
    async fn list_images(&self) -> Result<Vec<api::Image>, CriError>;
}

/// Both services, as one object (containerd serves both on one socket).
pub trait Runtime: RuntimeService + ImageService {}
impl<T: RuntimeService + ImageService> Runtime for T {}
