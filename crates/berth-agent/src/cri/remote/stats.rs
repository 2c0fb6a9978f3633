//! [`StatsService`] over the CRI client.

use async_trait::async_trait;

use super::{RemoteRuntime, err};
use crate::cri::stats::StatsService;
use crate::cri::{CriError, api};

#[async_trait]
impl StatsService for RemoteRuntime {
    async fn list_container_stats(&self) -> Result<Vec<api::ContainerStats>, CriError> {
        let req = api::ListContainerStatsRequest { filter: None };
        let resp = self.runtime.clone().list_container_stats(req).await;
        Ok(resp
            .map_err(err("ListContainerStats", ""))?
            .into_inner()
            .stats)
    }
}
