//! Proxy benchmark: 1,000 Services × 10 endpoints programmed with the real
//! nft inside a throwaway network namespace, then single endpoint changes.
//! Each figure runs from the model change (desired state recomputed from
//! the API objects) to nft returning.
//!
//! `cargo run --release -p berth-proxy --example proxy_bench [SERVICES [ENDPOINTS [CHANGES]]]`
//! (root and nft required).

#[path = "../tests/netns_support/mod.rs"]
mod netns_support;

use std::time::{Duration, Instant};

use berth_proxy::model::{Family, NodeContext, desired_state};
use berth_proxy::ruleset::{RenderOptions, Table};
use berth_proxy::sync::Syncer;
use berth_proxy::{NftBackend, RuleBackend};
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

fn service(i: usize) -> Service {
    Service {
        metadata: ObjectMeta {
            namespace: Some("bench".into()),
            name: Some(format!("svc-{i}")),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            cluster_ip: Some(format!("10.96.{}.{}", i / 250, i % 250 + 1)),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn endpoint(i: usize, j: usize, ready: bool) -> Endpoint {
    Endpoint {
        addresses: vec![format!("10.{}.{}.{}", 100 + i / 250, i % 250, j + 1)],
        node_name: Some(
            if j.is_multiple_of(2) {
                "node-a"
            } else {
                "node-b"
            }
            .into(),
        ),
        conditions: Some(EndpointConditions {
            ready: Some(ready),
            serving: Some(ready),
            terminating: Some(false),
        }),
        ..Default::default()
    }
}

fn slice(i: usize, endpoints: usize) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            namespace: Some("bench".into()),
            name: Some(format!("svc-{i}-x")),
            labels: Some([("kubernetes.io/service-name".to_string(), format!("svc-{i}"))].into()),
            ..Default::default()
        },
        address_type: "IPv4".into(),
        endpoints: (0..endpoints).map(|j| endpoint(i, j, true)).collect(),
        ports: Some(vec![EndpointPort {
            name: Some("http".into()),
            port: Some(8080),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
    }
}

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Some(why) = netns_support::missing_prerequisite() {
        eprintln!("proxy_bench: skipped: {why}");
        return;
    }
    let (services_n, endpoints_n, changes) = (arg(1, 1000), arg(2, 10), arg(3, 20));
    let netns = netns_support::Netns::create("berth-bench");
    let backend = NftBackend::in_netns(netns.path());
    let options = RenderOptions {
        cluster_cidrs: vec!["10.0.0.0/8".parse().expect("cidr")],
        masquerade_all: false,
    };
    let mut syncer = Syncer::new(backend.clone(), Table::new(Family::V4, "berth"), options);
    let node = NodeContext {
        name: "node-a".into(),
        addresses: vec!["192.168.1.10".parse().expect("ip")],
    };
    let services: Vec<Service> = (0..services_n).map(service).collect();
    let mut slices: Vec<EndpointSlice> = (0..services_n).map(|i| slice(i, endpoints_n)).collect();

    println!(
        "load average: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let cpu_before = children_cpu_ms();
    let started = Instant::now();
    let desired = desired_state(&services, &slices, &node, Family::V4);
    let model = started.elapsed();
    let report = syncer.sync(&desired).await.expect("full sync");
    let full = started.elapsed();
    println!(
        "full ruleset: {services_n} services x {endpoints_n} endpoints: {:.1} ms \
         (model {:.1} ms, {} commands, nft CPU {:.0} ms)",
        ms(full),
        ms(model),
        report.commands,
        children_cpu_ms() - cpu_before
    );
    endpoint_changes(&mut syncer, &services, &mut slices, &node, changes).await;
    let listed = backend.list("table ip berth").await.expect("list");
    println!(
        "table ip berth: {} lines as listed by nft",
        listed.lines().count()
    );
}

/// CPU time (user + system) of this process's reaped children, in ms:
/// `/proc/self/stat` fields cutime and cstime, in clock ticks of 10 ms.
fn children_cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<f64> = after_name
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    // After the command name: state is field 3, cutime 16 and cstime 17.
    (fields.get(13).unwrap_or(&0.0) + fields.get(14).unwrap_or(&0.0)) * 10.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Flips one endpoint's readiness `changes` times (a different Service each
/// time) and prints how long each took, model change to nft returning.
async fn endpoint_changes(
    syncer: &mut Syncer<NftBackend>,
    services: &[Service],
    slices: &mut [EndpointSlice],
    node: &NodeContext,
    changes: usize,
) {
    let (services_n, endpoints_n) = (services.len(), slices[0].endpoints.len());
    let cpu_before = children_cpu_ms();
    let mut times = Vec::new();
    let mut models = Vec::new();
    for k in 0..changes {
        let i = (k * 397) % services_n;
        let j = k % endpoints_n;
        let ready = slices[i].endpoints[j]
            .conditions
            .as_ref()
            .and_then(|c| c.ready)
            == Some(true);
        slices[i].endpoints[j] = endpoint(i, j, !ready);
        let started = Instant::now();
        let desired = desired_state(services, &*slices, node, Family::V4);
        models.push(started.elapsed());
        let report = syncer.sync(&desired).await.expect("incremental sync");
        times.push(started.elapsed());
        assert!(
            !report.full && report.changed_service_ports == 1,
            "{report:?}"
        );
    }
    times.sort();
    models.sort();
    if !times.is_empty() {
        let p = |q: f64| ms(times[((times.len() - 1) as f64 * q) as usize]);
        println!(
            "one endpoint change ({changes} runs): median {:.1} ms, p90 {:.1} ms, max {:.1} ms \
             (model: median {:.1} ms; nft CPU: mean {:.1} ms)",
            p(0.5),
            p(0.9),
            p(1.0),
            ms(models[models.len() / 2]),
            (children_cpu_ms() - cpu_before) / times.len() as f64
        );
    }
}
