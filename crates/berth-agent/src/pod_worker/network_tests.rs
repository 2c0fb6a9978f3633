//! The pod worker and the pod network: sandboxes wait for NetworkReady
//! unless the pod is on the node's network.

use super::tests::{harness_on, pod};
use crate::cri::api;
use crate::network::{DnsSettings, PodNetwork};

fn cni_network() -> PodNetwork {
    PodNetwork::new(
        true,
        DnsSettings {
            cluster_dns: vec!["10.43.0.10".into()],
            cluster_domain: "cluster.local".into(),
            host: None,
        },
    )
}

#[tokio::test(start_paused = true)]
async fn a_pod_waits_for_the_pod_network_before_its_sandbox_is_created() {
    let mut h = harness_on(pod("Always", &[], &["a"]), cni_network());
    h.settle().await;
    assert_eq!(h.rt.sandbox_count(), 0, "no sandbox before NetworkReady");
    h.worker.ctx.network.set_ready();
    tokio::time::advance(std::time::Duration::from_secs(1)).await;
    h.settle().await;
    assert_eq!(h.rt.sandbox_count(), 1);
    assert!(h.rt.running("a"));
}

#[tokio::test(start_paused = true)]
async fn a_host_network_pod_starts_while_the_pod_network_is_not_ready() {
    let mut p = pod("Always", &[], &["a"]);
    if let Some(spec) = p.spec.as_mut() {
        spec.host_network = Some(true);
    }
    let mut h = harness_on(p, cni_network());
    h.settle().await;
    assert_eq!(h.rt.sandbox_count(), 1);
    let sandbox = h.worker.sandbox.as_ref().expect("sandbox");
    let ns = sandbox
        .config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref())
        .and_then(|s| s.namespace_options.as_ref())
        .map(|n| n.network);
    assert_eq!(ns, Some(api::NamespaceMode::Node as i32));
}
