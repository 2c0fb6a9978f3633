//! The proxy against the real kernel, with no API server: a test host
//! namespace with two pod namespaces behind veth pairs, rules programmed by
//! the real `NftBackend` inside the host namespace, connections made from
//! the host. Skips (with a message) unless root with nft, ip and busybox.

mod netns_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use berth_proxy::model::{DesiredState, Family, NodeContext, desired_state};
use berth_proxy::ruleset::{RenderOptions, Table};
use berth_proxy::sync::Syncer;
use berth_proxy::{NftBackend, RuleBackend};
use k8s_openapi::api::core::v1::{
    ClientIPConfig, Service, ServicePort, ServiceSpec, SessionAffinityConfig,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use netns_support::{Netns, Pod, connect, missing_prerequisite};

const NODE_IP: &str = "192.168.77.1";

fn service(name: &str, ip: &str, node_port: Option<i32>, affinity: bool) -> Service {
    Service {
        metadata: ObjectMeta {
            namespace: Some("default".into()),
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            type_: Some(
                if node_port.is_some() {
                    "NodePort"
                } else {
                    "ClusterIP"
                }
                .into(),
            ),
            cluster_ip: Some(ip.into()),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                node_port,
                ..Default::default()
            }]),
            session_affinity: affinity.then(|| "ClientIP".into()),
            session_affinity_config: affinity.then_some(SessionAffinityConfig {
                client_ip: Some(ClientIPConfig {
                    timeout_seconds: Some(60),
                }),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A NodePort Service with both traffic policies `Local`.
fn local_service(name: &str, ip: &str, node_port: i32) -> Service {
    let mut svc = service(name, ip, Some(node_port), true);
    if let Some(spec) = svc.spec.as_mut() {
        spec.external_traffic_policy = Some("Local".into());
        spec.internal_traffic_policy = Some("Local".into());
    }
    svc
}

fn slice(service: &str, pods: &[&Pod]) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            namespace: Some("default".into()),
            name: Some(format!("{service}-1")),
            labels: Some(
                [(
                    "kubernetes.io/service-name".to_string(),
                    service.to_string(),
                )]
                .into(),
            ),
            ..Default::default()
        },
        address_type: "IPv4".into(),
        endpoints: pods
            .iter()
            .map(|p| Endpoint {
                addresses: vec![p.ip.clone()],
                node_name: Some("node-a".into()),
                ..Default::default()
            })
            .collect(),
        ports: Some(vec![EndpointPort {
            name: Some("http".into()),
            port: Some(80),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
    }
}

fn desired(services: &[Service], slices: &[EndpointSlice]) -> DesiredState {
    let node = NodeContext {
        name: "node-a".into(),
        addresses: vec![NODE_IP.parse().expect("ip")],
    };
    desired_state(services, slices, &node, Family::V4)
}

/// The test host: a namespace with an interface holding the node address
/// and routing the service range (a veth pair used as a dummy: the kernel
/// may lack the dummy driver).
fn test_host() -> Netns {
    let host = Netns::create("berth-host");
    host.ip(&[
        "link", "add", "svc0", "type", "veth", "peer", "name", "svc1",
    ]);
    host.ip(&["link", "set", "svc1", "up"]);
    host.ip(&["link", "set", "svc0", "up"]);
    host.ip(&["addr", "add", &format!("{NODE_IP}/32"), "dev", "svc0"]);
    host.ip(&["route", "add", "10.96.0.0/16", "dev", "svc0"]);
    let forwarding = host
        .command("sysctl", &["-qw", "net.ipv4.ip_forward=1"])
        .status()
        .expect("sysctl");
    assert!(forwarding.success(), "enable forwarding in the test host");
    host
}

/// Connects until every name in `want` has answered; fails after 10 s.
fn until_each_answers(host: &Netns, ip: &str, port: u16, want: &[&str]) -> BTreeSet<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = BTreeSet::new();
    while !want.iter().all(|w| seen.contains(*w)) {
        assert!(
            Instant::now() < deadline,
            "{ip}:{port}: saw only {seen:?}, want {want:?}"
        );
        if let Ok(name) = connect(host, ip, port) {
            seen.insert(name);
        }
    }
    seen
}

#[tokio::test]
async fn cluster_ip_should_balance_reject_and_follow_endpoint_changes() {
    if let Some(why) = missing_prerequisite().or_else(netns_support::missing_busybox) {
        eprintln!("skipped: {why}");
        return;
    }
    let host = test_host();
    let (pod1, pod2) = (Pod::start(&host, 1), Pod::start(&host, 2));
    let backend = NftBackend::in_netns(host.path());
    let options = RenderOptions {
        cluster_cidrs: vec!["10.244.0.0/16".parse().expect("cidr")],
        masquerade_all: false,
    };
    let mut syncer = Syncer::new(
        backend.clone(),
        Table::new(Family::V4, "berth-test"),
        options,
    );
    let services = [
        service("web", "10.96.0.10", Some(30080), false),
        service("empty", "10.96.0.20", None, false),
        service("sticky", "10.96.0.30", None, true),
        local_service("local", "10.96.0.40", 30040),
    ];
    let both = [
        slice("web", &[&pod1, &pod2]),
        slice("sticky", &[&pod1, &pod2]),
        slice("local", &[&pod2]),
    ];
    syncer
        .sync(&desired(&services, &both))
        .await
        .expect("full sync");

    let seen = until_each_answers(&host, "10.96.0.10", 80, &["pod1", "pod2"]);
    assert_eq!(seen.len(), 2, "only the two pods answer: {seen:?}");
    until_each_answers(&host, NODE_IP, 30080, &["pod1", "pod2"]);

    let refused = connect(&host, "10.96.0.20", 80).expect_err("no endpoints");
    assert!(
        refused.contains("refused"),
        "want a reject, got {refused:?}"
    );

    let sticky: BTreeSet<String> = (0..8)
        .map(|_| connect(&host, "10.96.0.30", 80).expect("sticky answers"))
        .collect();
    assert_eq!(sticky.len(), 1, "ClientIP affinity sticks: {sticky:?}");

    // externalTrafficPolicy: Local with an endpoint on this node.
    assert_eq!(connect(&host, NODE_IP, 30040).as_deref(), Ok("pod2"));

    let one = [
        slice("web", &[&pod1]),
        slice("sticky", &[&pod1, &pod2]),
        slice("local", &[&pod2]),
    ];
    let report = syncer
        .sync(&desired(&services, &one))
        .await
        .expect("incremental sync");
    assert!(!report.full);
    for _ in 0..10 {
        assert_eq!(connect(&host, "10.96.0.10", 80).as_deref(), Ok("pod1"));
    }
    // Pod traffic through the host (prerouting), and hairpin: pod1 reaching
    // itself through the Service works only if masqueraded.
    assert_eq!(
        connect(&pod2.netns, "10.96.0.10", 80).as_deref(),
        Ok("pod1")
    );
    assert_eq!(
        connect(&pod1.netns, "10.96.0.10", 80).as_deref(),
        Ok("pod1")
    );
    let chain = backend
        .list("chain ip berth-test service-default/web/tcp/http")
        .await
        .expect("list");
    assert!(
        !chain.contains(&pod2.ip),
        "pod2 left the service chain:\n{chain}"
    );
}
