//! The network reconciler: watches Nodes; writes the egress masquerade
//! table and the conflist once this node has a podCIDR (Bridge mode; the
//! masquerade first, so no pod starts unmasqueraded), keeps one host-gw
//! route per other node
//! (re-checked every 30 s, so a route removed by hand comes back), and opens
//! the readiness gate once the runtime reports NetworkReady.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::api::Api;
use kube::runtime::watcher;
use tokio_util::sync::CancellationToken;

use super::cni::{self, BridgeNetwork};
use super::masquerade::{self, NatTable};
use super::routes::{self, Route, RouteTable};
use super::{CniConfig, PodNetwork, PodNetworkMode};
use crate::cri::Runtime;

const RESYNC: Duration = Duration::from_secs(30);

/// What the network needs of one Node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct NodeNet {
    pod_cidr: Option<String>,
    internal_ip: Option<IpAddr>,
}

fn node_net(node: &Node) -> NodeNet {
    let pod_cidr = node.spec.as_ref().and_then(|s| s.pod_cidr.clone());
    let addresses = node.status.as_ref().and_then(|s| s.addresses.as_ref());
    let internal_ip = addresses
        .into_iter()
        .flatten()
        .find(|a| a.type_ == "InternalIP")
        .and_then(|a| a.address.parse().ok());
    NodeNet {
        pod_cidr,
        internal_ip,
    }
}

/// Routes to every other node that has both a podCIDR and an InternalIP.
pub(super) fn desired_routes(nodes: &BTreeMap<String, NodeNet>, me: &str) -> Vec<Route> {
    nodes
        .iter()
        .filter(|(name, _)| name.as_str() != me)
        .filter_map(|(_, n)| {
            Some(Route {
                dst: n.pod_cidr.clone()?,
                via: n.internal_ip?,
            })
        })
        .collect()
}

/// Everything the reconciler works with.
pub struct NetworkContext {
    pub node_name: String,
    pub cni: CniConfig,
    pub runtime: Arc<dyn Runtime>,
    pub network: Arc<PodNetwork>,
    pub routes: Arc<dyn RouteTable>,
    pub nat: Arc<dyn NatTable>,
}

/// Runs until cancelled.
pub async fn run(client: kube::Client, ctx: NetworkContext, cancel: CancellationToken) {
    if ctx.cni.mode == PodNetworkMode::Host {
        return;
    }
    let gate = wait_until_ready(ctx.runtime.clone(), ctx.network.clone(), cancel.clone());
    if matches!(ctx.cni.mode, PodNetworkMode::Bridge { .. }) {
        tokio::join!(gate, watch_nodes(client, &ctx, cancel));
    } else {
        gate.await;
    }
}

async fn wait_until_ready(
    runtime: Arc<dyn Runtime>,
    network: Arc<PodNetwork>,
    cancel: CancellationToken,
) {
    let mut logged = false;
    loop {
        match runtime.network_ready().await {
            Ok(true) => {
                network.set_ready();
                tracing::info!("pod network ready");
                return;
            }
            Ok(false) if !logged => {
                tracing::info!("waiting for the runtime's pod network (NetworkReady)");
                logged = true;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "asking the runtime for its status"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

async fn watch_nodes(client: kube::Client, ctx: &NetworkContext, cancel: CancellationToken) {
    let api: Api<Node> = Api::all(client);
    let mut stream = watcher(api, watcher::Config::default()).boxed();
    let mut nodes: BTreeMap<String, NodeNet> = BTreeMap::new();
    let mut listing: Option<BTreeMap<String, NodeNet>> = None;
    let mut resync = tokio::time::interval(RESYNC);
    let mut masqueraded = None;
    loop {
        let event = tokio::select! {
            _ = cancel.cancelled() => return,
            _ = resync.tick() => None,
            e = stream.next() => match e {
                Some(e) => Some(e),
                None => return,
            },
        };
        let name = |n: &Node| n.metadata.name.clone().unwrap_or_default();
        match event {
            Some(Ok(watcher::Event::Apply(n))) => {
                nodes.insert(name(&n), node_net(&n));
            }
            Some(Ok(watcher::Event::Delete(n))) => {
                nodes.remove(&name(&n));
            }
            Some(Ok(watcher::Event::Init)) => listing = Some(BTreeMap::new()),
            Some(Ok(watcher::Event::InitApply(n))) => {
                listing
                    .get_or_insert_default()
                    .insert(name(&n), node_net(&n));
                continue;
            }
            Some(Ok(watcher::Event::InitDone)) => nodes = listing.take().unwrap_or_default(),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "node watch failed; retrying");
                continue;
            }
            None => {}
        }
        sync(ctx, &nodes, &mut masqueraded).await;
    }
}

/// One pass: the conflist and masquerade for this node's podCIDR, then
/// the routes. `masqueraded` is the podCIDR the masquerade table was last
/// written for (it is rewritten on every resync tick only if that changed).
async fn sync(
    ctx: &NetworkContext,
    nodes: &BTreeMap<String, NodeNet>,
    masqueraded: &mut Option<String>,
) {
    let PodNetworkMode::Bridge { bridge } = &ctx.cni.mode else {
        return;
    };
    if let Some(cidr) = nodes.get(&ctx.node_name).and_then(|n| n.pod_cidr.clone()) {
        if masqueraded.as_ref() != Some(&cidr) {
            let rules = masquerade::ruleset(&cidr, &ctx.cni.cluster_cidr);
            match ctx.nat.apply(&rules).await {
                Ok(()) => *masqueraded = Some(cidr.clone()),
                Err(e) => tracing::error!(error = %e, "programming egress masquerade"),
            }
        }
        let net = BridgeNetwork {
            bridge: bridge.clone(),
            pod_cidr: cidr.clone(),
            ipam_data_dir: ctx.cni.ipam_data_dir.clone(),
        };
        match cni::write_conflist(&ctx.cni.conf_dir, &net) {
            Ok(true) => {
                tracing::info!(pod_cidr = cidr, dir = %ctx.cni.conf_dir.display(), "CNI configuration written")
            }
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "writing the CNI configuration"),
        }
    }
    let desired = desired_routes(nodes, &ctx.node_name);
    if let Err(e) = routes::reconcile(ctx.routes.as_ref(), &desired).await {
        tracing::warn!(error = %e, "programming routes to other nodes' pods");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::CniConfig;

    fn node(name: &str, cidr: Option<&str>, ip: Option<&str>) -> Node {
        let addresses: Vec<_> = ip
            .iter()
            .map(|ip| serde_json::json!({"type": "InternalIP", "address": ip}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {"podCIDR": cidr},
            "status": {"addresses": addresses}
        }))
        .expect("node")
    }

    fn nodes(list: &[Node]) -> BTreeMap<String, NodeNet> {
        list.iter()
            .map(|n| (n.metadata.name.clone().unwrap_or_default(), node_net(n)))
            .collect()
    }

    #[tokio::test]
    async fn a_pass_masquerades_writes_the_conflist_and_routes_once_the_node_has_a_pod_cidr() {
        use crate::network::masquerade::FakeNatTable;
        use crate::network::routes::FakeRouteTable;
        let dir = tempfile::tempdir().expect("tempdir");
        let (nat, routes) = (FakeNatTable::default(), FakeRouteTable::default());
        let ctx = NetworkContext {
            node_name: "a".into(),
            cni: CniConfig {
                mode: PodNetworkMode::Bridge {
                    bridge: "cni0".into(),
                },
                bin_dir: "/usr/lib/cni".into(),
                conf_dir: dir.path().join("net.d"),
                ipam_data_dir: dir.path().join("networks"),
                cluster_cidr: "10.42.0.0/16".into(),
            },
            runtime: Arc::new(crate::cri::FakeRuntime::new()),
            network: Arc::new(PodNetwork::new(true, Default::default())),
            routes: Arc::new(routes.clone()),
            nat: Arc::new(nat.clone()),
        };
        let mut masqueraded = None;
        let without_cidr = nodes(&[node("a", None, Some("192.168.77.1"))]);
        sync(&ctx, &without_cidr, &mut masqueraded).await;
        assert!(nat.applied().is_empty(), "nothing before the podCIDR");
        assert!(!dir.path().join("net.d").join(cni::CONFLIST_NAME).exists());
        let both = nodes(&[
            node("a", Some("10.42.0.0/24"), Some("192.168.77.1")),
            node("b", Some("10.42.1.0/24"), Some("192.168.77.2")),
        ]);
        sync(&ctx, &both, &mut masqueraded).await;
        sync(&ctx, &both, &mut masqueraded).await;
        assert_eq!(nat.applied().len(), 1, "the table is written once");
        assert!(nat.applied()[0].contains("ip saddr 10.42.0.0/24"));
        assert!(dir.path().join("net.d").join(cni::CONFLIST_NAME).exists());
        assert_eq!(routes.routes().len(), 1);
    }

    #[test]
    fn routes_go_to_every_other_node_with_a_pod_cidr_and_an_address() {
        let nodes: BTreeMap<String, NodeNet> = [
            node("a", Some("10.42.0.0/24"), Some("192.168.77.1")),
            node("b", Some("10.42.1.0/24"), Some("192.168.77.2")),
            node("c", None, Some("192.168.77.3")),
            node("d", Some("10.42.3.0/24"), None),
        ]
        .iter()
        .map(|n| (n.metadata.name.clone().unwrap_or_default(), node_net(n)))
        .collect();
        let routes = desired_routes(&nodes, "a");
        assert_eq!(
            routes,
            [Route {
                dst: "10.42.1.0/24".into(),
                via: "192.168.77.2".parse().expect("ip")
            }]
        );
    }
}
