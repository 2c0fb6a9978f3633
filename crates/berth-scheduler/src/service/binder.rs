//! The binding cycle's API write: `POST pods/{name}/binding`, in a task of
//! its own so the scheduling loop moves on to the next pod at once (it has
//! already assumed this one in the snapshot).

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};

use super::recorder::PodRef;

/// What became of one binding.
#[derive(Debug)]
pub(crate) struct BindOutcome {
    /// `namespace/name` of the pod.
    pub key: String,
    /// The API's answer.
    pub result: Result<(), kube::Error>,
}

/// Spawns binding writes, at most `concurrency` at a time.
pub(crate) struct Binder {
    client: Client,
    permits: Arc<Semaphore>,
    outcomes: mpsc::UnboundedSender<BindOutcome>,
}

impl Binder {
    /// A binder reporting to `outcomes`.
    pub fn new(
        client: Client,
        concurrency: usize,
        outcomes: mpsc::UnboundedSender<BindOutcome>,
    ) -> Self {
        Self {
            client,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            outcomes,
        }
    }

    /// Binds `pod` to `node` in the background.
    pub fn bind(&self, key: String, pod: PodRef, node: String) {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &pod.namespace);
        let permits = Arc::clone(&self.permits);
        let outcomes = self.outcomes.clone();
        tokio::spawn(async move {
            let result = match permits.acquire().await {
                Ok(_permit) => post_binding(&api, &pod, &node).await,
                Err(_) => return,
            };
            let _ = outcomes.send(BindOutcome { key, result });
        });
    }
}

async fn post_binding(api: &Api<Pod>, pod: &PodRef, node: &str) -> Result<(), kube::Error> {
    let binding = json!({
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    });
    api.create_subresource::<_, serde_json::Value>(
        "binding",
        &pod.name,
        &PostParams::default(),
        &binding,
    )
    .await
    .map(drop)
}
