//! What each Service shape renders to.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::render;
use crate::fixtures::*;
use crate::model::{Family, NodeContext, desired_state};
use crate::ruleset::{ElementKey, RenderOptions, ServicePortRules, maps};

const NODE: &str = "node-a";

fn rendered(services: &[Service], slices: &[EndpointSlice]) -> ServicePortRules {
    let node = NodeContext {
        name: NODE.into(),
        addresses: vec!["192.168.1.10".parse().expect("ip")],
    };
    let desired = desired_state(services, slices, &node, Family::V4);
    let options = RenderOptions {
        cluster_cidrs: vec!["10.244.0.0/16".parse().expect("cidr")],
        masquerade_all: false,
    };
    let mut all = ServicePortRules::default();
    for plan in desired.plans.values() {
        let r = render(plan, &options);
        all.chains.extend(r.chains);
        all.sets.extend(r.sets);
        all.elements.extend(r.elements);
    }
    all
}

fn element(rules: &ServicePortRules, map: &'static str, key: &str) -> Option<String> {
    let key = ElementKey {
        map,
        key: key.into(),
    };
    rules.elements.get(&key).cloned()
}

fn web_slice(endpoints: Vec<k8s_openapi::api::discovery::v1::Endpoint>) -> EndpointSlice {
    slice("web", ("http", "TCP", 8080), endpoints)
}

#[test]
fn cluster_ip_should_balance_randomly_over_ready_endpoints() {
    let svc = service("web", "10.96.0.10").port("http", "TCP", 80);
    let eps = web_slice(vec![
        endpoint("10.244.1.2", NODE, READY),
        endpoint("10.244.2.2", "node-b", READY),
    ]);
    let r = rendered(&[svc], &[eps]);
    assert_eq!(
        element(&r, maps::SERVICE_IPS, "10.96.0.10 . tcp . 80").as_deref(),
        Some("goto service-default/web/tcp/http")
    );
    assert_eq!(
        r.chains["service-default/web/tcp/http"],
        vec![
            "ip daddr 10.96.0.10 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade",
            "meta l4proto tcp dnat ip addr . port to numgen random mod 2 \
             map { 0 : 10.244.1.2 . 8080, 1 : 10.244.2.2 . 8080 }",
        ]
    );
    assert_eq!(r.chains.len(), 1, "no endpoint chains without affinity");
    assert!(
        r.sets.is_empty(),
        "no affinity sets without ClientIP affinity"
    );
}

#[test]
fn service_without_endpoints_should_be_rejected() {
    let svc = service("web", "10.96.0.10").port("http", "TCP", 80);
    let r = rendered(&[svc], &[]);
    assert_eq!(
        element(&r, maps::NO_ENDPOINT_SERVICES, "10.96.0.10 . tcp . 80").as_deref(),
        Some("goto reject-chain")
    );
    assert_eq!(
        element(&r, maps::SERVICE_IPS, "10.96.0.10 . tcp . 80"),
        None
    );
    assert!(r.chains.is_empty());
}

#[test]
fn not_ready_endpoints_should_not_receive_traffic() {
    let svc = service("web", "10.96.0.10").port("http", "TCP", 80);
    let eps = web_slice(vec![
        endpoint("10.244.1.2", NODE, READY),
        endpoint("10.244.1.3", NODE, NOT_READY),
        endpoint("10.244.1.4", NODE, TERMINATING_SERVING),
    ]);
    let r = rendered(&[svc], &[eps]);
    assert_eq!(
        r.chains["service-default/web/tcp/http"][1],
        "meta l4proto tcp dnat to 10.244.1.2:8080"
    );
}

#[test]
fn terminating_serving_endpoints_should_be_used_only_when_none_is_ready() {
    let svc = service("web", "10.96.0.10").port("http", "TCP", 80);
    let eps = web_slice(vec![
        endpoint("10.244.1.3", NODE, NOT_READY),
        endpoint("10.244.1.4", NODE, TERMINATING_SERVING),
    ]);
    let r = rendered(&[svc], &[eps]);
    assert_eq!(
        r.chains["service-default/web/tcp/http"][1],
        "meta l4proto tcp dnat to 10.244.1.4:8080"
    );
}

#[test]
fn not_ready_only_service_should_be_rejected() {
    let svc = service("web", "10.96.0.10").port("http", "TCP", 80);
    let eps = web_slice(vec![endpoint("10.244.1.3", NODE, NOT_READY)]);
    let r = rendered(&[svc], &[eps]);
    assert_eq!(
        element(&r, maps::NO_ENDPOINT_SERVICES, "10.96.0.10 . tcp . 80").as_deref(),
        Some("goto reject-chain")
    );
}

#[test]
fn publish_not_ready_addresses_should_use_not_ready_endpoints() {
    let svc = service("web", "10.96.0.10")
        .port("http", "TCP", 80)
        .edit(|s| s.publish_not_ready_addresses = Some(true));
    let eps = web_slice(vec![endpoint("10.244.1.3", NODE, NOT_READY)]);
    let r = rendered(&[svc], &[eps]);
    assert_eq!(
        r.chains["service-default/web/tcp/http"][1],
        "meta l4proto tcp dnat to 10.244.1.3:8080"
    );
}

#[test]
fn client_ip_affinity_should_add_a_timed_set_per_endpoint() {
    let svc = service("web", "10.96.0.10")
        .port("http", "TCP", 80)
        .affinity(Some(60));
    let eps = web_slice(vec![
        endpoint("10.244.1.2", NODE, READY),
        endpoint("10.244.2.2", "node-b", READY),
    ]);
    let r = rendered(&[svc], &[eps]);
    let set = "affinity-default/web/tcp/http__10.244.1.2/8080";
    assert_eq!(
        r.sets[set],
        "{ type ipv4_addr ; flags dynamic,timeout ; timeout 60s ; }"
    );
    let chain = &r.chains["service-default/web/tcp/http"];
    assert_eq!(
        chain[1],
        format!("ip saddr @{set} goto endpoint-default/web/tcp/http__10.244.1.2/8080")
    );
    assert!(chain[3].starts_with("numgen random mod 2 vmap { 0 : goto endpoint-"));
    let ep = &r.chains["endpoint-default/web/tcp/http__10.244.1.2/8080"];
    assert_eq!(
        *ep,
        vec![
            format!("update @{set} {{ ip saddr }}"),
            "meta l4proto tcp dnat to 10.244.1.2:8080".to_string(),
        ]
    );
}

#[test]
fn client_ip_affinity_should_default_to_three_hours() {
    let svc = service("web", "10.96.0.10")
        .port("http", "TCP", 80)
        .affinity(None);
    let eps = web_slice(vec![endpoint("10.244.1.2", NODE, READY)]);
    let r = rendered(&[svc], &[eps]);
    assert!(r.sets.values().all(|d| d.contains("timeout 10800s")));
}

#[test]
fn node_port_with_cluster_policy_should_masquerade_and_use_all_endpoints() {
    let svc = service("web", "10.96.0.10").node_port("http", 80, 30080);
    let eps = web_slice(vec![endpoint("10.244.2.2", "node-b", READY)]);
    let r = rendered(&[svc], &[eps]);
    assert_eq!(
        element(&r, maps::SERVICE_NODEPORTS, "tcp . 30080").as_deref(),
        Some("goto external-default/web/tcp/http")
    );
    assert_eq!(
        r.chains["external-default/web/tcp/http"],
        vec![
            "jump mark-for-masquerade",
            "goto service-default/web/tcp/http"
        ]
    );
}

#[test]
fn external_traffic_policy_local_should_keep_the_source_and_use_local_endpoints() {
    let svc = service("web", "10.96.0.10")
        .node_port("http", 80, 30080)
        .edit(|s| s.external_traffic_policy = Some("Local".into()));
    let eps = web_slice(vec![
        endpoint("10.244.1.2", NODE, READY),
        endpoint("10.244.2.2", "node-b", READY),
    ]);
    let r = rendered(&[svc], &[eps]);
    assert_eq!(
        r.chains["external-default/web/tcp/http"],
        vec![
            "ip saddr 10.244.0.0/16 goto service-default/web/tcp/http",
            "fib saddr type local jump mark-for-masquerade",
            "fib saddr type local goto service-default/web/tcp/http",
            "goto local-default/web/tcp/http",
        ]
    );
    assert_eq!(
        r.chains["local-default/web/tcp/http"],
        vec!["meta l4proto tcp dnat to 10.244.1.2:8080"]
    );
    // The cluster IP still reaches every endpoint.
    assert!(r.chains["service-default/web/tcp/http"][1].contains("mod 2"));
}

#[test]
fn external_traffic_policy_local_without_local_endpoints_should_drop_node_port_traffic() {
    let svc = service("web", "10.96.0.10")
        .node_port("http", 80, 30080)
        .edit(|s| s.external_traffic_policy = Some("Local".into()));
    let eps = web_slice(vec![endpoint("10.244.2.2", "node-b", READY)]);
    let r = rendered(&[svc], &[eps]);
    assert_eq!(
        element(&r, maps::NO_ENDPOINT_NODEPORTS, "tcp . 30080").as_deref(),
        Some("drop")
    );
    assert!(element(&r, maps::SERVICE_IPS, "10.96.0.10 . tcp . 80").is_some());
}

#[test]
fn internal_traffic_policy_local_should_use_only_local_endpoints_or_drop() {
    let local = |node: &str| {
        let svc = service("web", "10.96.0.10")
            .port("http", "TCP", 80)
            .edit(|s| s.internal_traffic_policy = Some("Local".into()));
        rendered(
            &[svc],
            &[web_slice(vec![endpoint("10.244.1.2", node, READY)])],
        )
    };
    let here = local(NODE);
    assert_eq!(
        element(&here, maps::SERVICE_IPS, "10.96.0.10 . tcp . 80").as_deref(),
        Some("goto local-default/web/tcp/http")
    );
    assert!(!here.chains.contains_key("service-default/web/tcp/http"));
    let elsewhere = local("node-b");
    assert_eq!(
        element(
            &elsewhere,
            maps::NO_ENDPOINT_SERVICES,
            "10.96.0.10 . tcp . 80"
        )
        .as_deref(),
        Some("drop")
    );
}

#[test]
fn udp_and_sctp_ports_should_use_their_protocol() {
    let svc = service("dns", "10.96.0.53")
        .port("dns", "UDP", 53)
        .port("sig", "SCTP", 9000);
    let slices = [
        slice(
            "dns",
            ("dns", "UDP", 5353),
            vec![endpoint("10.244.1.2", NODE, READY)],
        ),
        slice(
            "dns",
            ("sig", "SCTP", 9000),
            vec![endpoint("10.244.1.2", NODE, READY)],
        ),
    ];
    let r = rendered(&[svc], &slices);
    assert!(element(&r, maps::SERVICE_IPS, "10.96.0.53 . udp . 53").is_some());
    assert!(element(&r, maps::SERVICE_IPS, "10.96.0.53 . sctp . 9000").is_some());
    assert_eq!(
        r.chains["service-default/dns/udp/dns"][1],
        "meta l4proto udp dnat to 10.244.1.2:5353"
    );
    assert_eq!(
        r.chains["service-default/dns/sctp/sig"][1],
        "meta l4proto sctp dnat to 10.244.1.2:9000"
    );
}

#[test]
fn headless_and_external_name_services_should_render_nothing() {
    let headless = service("h", "None").port("http", "TCP", 80);
    let external = service("x", "10.96.0.11")
        .port("http", "TCP", 80)
        .edit(|s| s.type_ = Some("ExternalName".into()));
    let r = rendered(&[headless, external], &[]);
    assert_eq!(r, ServicePortRules::default());
}
