//! [`StreamingService`] over the CRI client.

use async_trait::async_trait;

use super::{RemoteRuntime, err};
use crate::cri::streaming::StreamingService;
use crate::cri::{CriError, api};

#[async_trait]
impl StreamingService for RemoteRuntime {
    async fn exec(&self, req: api::ExecRequest) -> Result<String, CriError> {
        let id = req.container_id.clone();
        let resp = self.runtime.clone().exec(req).await;
        Ok(resp.map_err(err("Exec", &id))?.into_inner().url)
    }

    async fn attach(&self, req: api::AttachRequest) -> Result<String, CriError> {
        let id = req.container_id.clone();
        let resp = self.runtime.clone().attach(req).await;
        Ok(resp.map_err(err("Attach", &id))?.into_inner().url)
    }

    async fn port_forward(&self, req: api::PortForwardRequest) -> Result<String, CriError> {
        let id = req.pod_sandbox_id.clone();
        let resp = self.runtime.clone().port_forward(req).await;
        Ok(resp.map_err(err("PortForward", &id))?.into_inner().url)
    }
}
