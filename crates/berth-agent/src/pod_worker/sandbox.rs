//! The pod sandbox: created once the pod network is ready (pods on the
//! node's network do not wait), its IP read back from the runtime.

use std::time::Duration;

use super::containers::RETRY;
use super::{PodWorker, Sandbox, spec};
use crate::cri::api;

/// How soon a pod waiting for the pod network (NetworkReady) looks again.
const NETWORK_RETRY: Duration = Duration::from_secs(1);

impl PodWorker {
    /// True once a sandbox exists (adopted or created).
    pub(super) async fn ensure_sandbox(&mut self) -> bool {
        if self.sandbox.is_some() {
            return true;
        }
        if !self.adopted {
            self.adopted = true;
            self.adopt().await;
            if self.sandbox.is_some() {
                return true;
            }
        }
        if !self.network_ready() {
            tracing::debug!(pod = ?self.pod.metadata.name, "network is not ready: waiting for the pod network");
            let now = self.ctx.clock.now();
            self.requeue_at(now + NETWORK_RETRY);
            return false;
        }
        let config = self.sandbox_config();
        if let Err(e) = std::fs::create_dir_all(&config.log_directory) {
            tracing::warn!(dir = config.log_directory, error = %e, "creating the pod log directory");
        }
        match self.ctx.runtime.run_pod_sandbox(&config).await {
            Ok(id) => {
                let ip = self.sandbox_ip(&id).await;
                tracing::info!(pod = ?self.pod.metadata.name, sandbox = id, "pod sandbox started");
                self.sandbox = Some(Sandbox { id, config, ip });
                true
            }
            Err(e) => {
                tracing::warn!(pod = ?self.pod.metadata.name, error = %e, "FailedCreatePodSandBox");
                let now = self.ctx.clock.now();
                self.requeue_at(now + RETRY);
                false
            }
        }
    }

    pub(super) fn sandbox_config(&self) -> api::PodSandboxConfig {
        let ctx = &self.ctx;
        spec::sandbox_config(&self.pod, &ctx.node_name, &ctx.pod_log_dir, &ctx.network)
    }

    pub(super) fn node_network(&self) -> bool {
        let spec = self.pod.spec.clone().unwrap_or_default();
        spec::uses_node_network(&spec, &self.ctx.network)
    }

    /// Pods on the node's network never wait for the pod network.
    fn network_ready(&self) -> bool {
        self.node_network() || self.ctx.network.ready()
    }

    pub(super) async fn sandbox_ip(&self, id: &str) -> String {
        let status = self.ctx.runtime.pod_sandbox_status(id).await;
        let ip = status
            .ok()
            .and_then(|s| s.network)
            .map(|n| n.ip)
            .unwrap_or_default();
        if ip.is_empty() {
            self.ctx.host_ip.clone()
        } else {
            ip
        }
    }
}
