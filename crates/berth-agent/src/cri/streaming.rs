//! CRI's streaming calls: `Exec`, `Attach` and `PortForward` do not stream
//! themselves; each returns the URL of a request prepared on the runtime's
//! streaming server (containerd's listens on loopback), which the kubelet
//! API then proxies the client's upgrade request to.
//!
//! It is not the streaming protocol (SPDY or WebSocket): that is between
//! the client and the runtime, passed through byte for byte.

use async_trait::async_trait;

use super::{CriError, api};

/// CRI `RuntimeService`'s streaming requests, each answered with a URL.
#[async_trait]
pub trait StreamingService: Send + Sync {
    /// Prepares `cmd` to run in a container; returns the streaming URL.
    async fn exec(&self, req: api::ExecRequest) -> Result<String, CriError>;
    /// Prepares an attach to a container's main process.
    async fn attach(&self, req: api::AttachRequest) -> Result<String, CriError>;
    /// Prepares port forwarding into a pod sandbox's network namespace.
    async fn port_forward(&self, req: api::PortForwardRequest) -> Result<String, CriError>;
}

/// The fake runtime has no streaming server: every request fails, so tests
/// of the kubelet API's other routes can use it.
#[async_trait]
impl StreamingService for super::FakeRuntime {
    async fn exec(&self, req: api::ExecRequest) -> Result<String, CriError> {
        Err(no_streaming("Exec", req.container_id))
    }

    async fn attach(&self, req: api::AttachRequest) -> Result<String, CriError> {
        Err(no_streaming("Attach", req.container_id))
    }

    async fn port_forward(&self, req: api::PortForwardRequest) -> Result<String, CriError> {
        Err(no_streaming("PortForward", req.pod_sandbox_id))
    }
}

fn no_streaming(op: &'static str, id: String) -> CriError {
    CriError::Call {
        op,
        id,
        message: "the fake runtime has no streaming server".into(),
    }
}
