//! CRI's resource usage calls (`ListContainerStats`), which the kubelet
//! API's `/stats/summary` is built from.

use async_trait::async_trait;

use super::{CriError, api};

/// CRI `RuntimeService`'s stats of the containers it runs.
#[async_trait]
pub trait StatsService: Send + Sync {
    /// CPU, memory and writable-layer usage of every container.
    async fn list_container_stats(&self) -> Result<Vec<api::ContainerStats>, CriError>;
}

/// The fake runtime reports no usage.
#[async_trait]
impl StatsService for super::FakeRuntime {
    async fn list_container_stats(&self) -> Result<Vec<api::ContainerStats>, CriError> {
        Ok(Vec::new())
    }
}
