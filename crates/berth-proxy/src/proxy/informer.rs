//! Watches Services, EndpointSlices and the proxy's own Node into kube-rs
//! reflector stores and rings a bell on every change.

use std::net::IpAddr;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::Notify;

use crate::model::NodeContext;

/// The three stores the proxy reads and the bell their watches ring.
pub struct Informers {
    pub services: Store<Service>,
    pub slices: Store<EndpointSlice>,
    pub node: Store<Node>,
    pub changed: Arc<Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Informers {
    /// Starts the watches; they run until the `Informers` is dropped.
    pub fn start(client: &kube::Client, node_name: &str) -> Self {
        let changed = Arc::new(Notify::new());
        let node_config = watcher::Config::default().fields(&format!("metadata.name={node_name}"));
        let (services, w1) = watch(Api::all(client.clone()), watcher::Config::default());
        let (slices, w2) = watch(Api::all(client.clone()), watcher::Config::default());
        let (node, w3) = watch(Api::all(client.clone()), node_config);
        let tasks = vec![
            tokio::spawn(drive(w1, changed.clone(), "services")),
            tokio::spawn(drive(w2, changed.clone(), "endpointslices")),
            tokio::spawn(drive(w3, changed.clone(), "node")),
        ];
        Self {
            services,
            slices,
            node,
            changed,
            tasks,
        }
    }

    /// Waits until Services and EndpointSlices are listed (the Node may not
    /// exist yet: NodePorts then wait for its addresses).
    pub async fn wait_until_ready(&self) -> bool {
        self.services.wait_until_ready().await.is_ok()
            && self.slices.wait_until_ready().await.is_ok()
    }

    /// The node's name and its InternalIP/ExternalIP addresses.
    pub fn node_context(&self, node_name: &str) -> NodeContext {
        let addresses = self
            .node
            .state()
            .iter()
            .filter_map(|n| n.status.as_ref()?.addresses.clone())
            .flatten()
            .filter(|a| a.type_ == "InternalIP" || a.type_ == "ExternalIP")
            .filter_map(|a| a.address.parse::<IpAddr>().ok())
            .collect();
        NodeContext {
            name: node_name.to_string(),
            addresses,
        }
    }
}

impl Drop for Informers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

type Watch<K> =
    std::pin::Pin<Box<dyn Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send>>;

fn watch<K>(api: Api<K>, config: watcher::Config) -> (Store<K>, Watch<K>)
where
    K: kube::Resource<DynamicType = ()> + Clone + std::fmt::Debug + Send + Sync + 'static,
    K: serde::de::DeserializeOwned,
{
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(api, config).default_backoff()).boxed();
    (reader, stream)
}

async fn drive<K>(mut stream: Watch<K>, changed: Arc<Notify>, what: &'static str) {
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Init) => {}
            Ok(_) => changed.notify_one(),
            Err(e) => tracing::warn!(what, error = %e, "watch failed; retrying"),
        }
    }
}
