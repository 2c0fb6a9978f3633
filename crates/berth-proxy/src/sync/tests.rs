//! Full and incremental syncs against the fake backend. The key property:
//! after any sequence of incremental syncs the table equals what one full
//! sync of the final state builds.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::Syncer;
use crate::backend::{FakeBackend, RuleBackend};
use crate::fixtures::*;
use crate::model::{DesiredState, Family, NodeContext, desired_state};
use crate::ruleset::{RenderOptions, Table};

const TABLE: &str = "ip berth";

fn node(addresses: &[&str]) -> NodeContext {
    NodeContext {
        name: "node-a".into(),
        addresses: addresses.iter().map(|a| a.parse().expect("ip")).collect(),
    }
}

fn state(services: &[Service], slices: &[EndpointSlice]) -> DesiredState {
    desired_state(services, slices, &node(&["192.168.1.10"]), Family::V4)
}

fn syncer() -> (Arc<FakeBackend>, Syncer<Arc<FakeBackend>>) {
    let fake = Arc::new(FakeBackend::new());
    let options = RenderOptions {
        cluster_cidrs: vec!["10.244.0.0/16".parse().expect("cidr")],
        masquerade_all: false,
    };
    let s = Syncer::new(fake.clone(), Table::new(Family::V4, "berth"), options);
    (fake, s)
}

/// What a single full sync of `desired` leaves in a fresh table.
async fn fresh_table(desired: &DesiredState) -> crate::backend::fake::FakeTable {
    let (fake, mut s) = syncer();
    s.sync(desired).await.expect("full sync");
    fake.table(TABLE).expect("table")
}

fn web(ips: &[&str]) -> (Service, EndpointSlice) {
    let svc = service("web", "10.96.0.10").port("http", "TCP", 80);
    let eps = ips.iter().map(|ip| endpoint(ip, "node-a", READY)).collect();
    (svc, slice("web", ("http", "TCP", 8080), eps))
}

fn api() -> (Service, EndpointSlice) {
    let svc = service("api", "10.96.0.20").port("http", "TCP", 80);
    let eps = vec![endpoint("10.244.1.9", "node-b", READY)];
    (svc, slice("api", ("http", "TCP", 8080), eps))
}

#[tokio::test]
async fn first_sync_should_rebuild_the_table_in_one_transaction() {
    let (fake, mut s) = syncer();
    let (svc, eps) = web(&["10.244.1.2"]);
    let report = s.sync(&state(&[svc], &[eps])).await.expect("sync");
    assert!(report.full);
    let txs = fake.transactions();
    assert_eq!(txs.len(), 1);
    assert!(txs[0].starts_with("add table ip berth\ndelete table ip berth\nadd table ip berth\n"));
    let table = fake.table(TABLE).expect("table");
    for chain in [
        "nat-prerouting",
        "nat-output",
        "filter-output",
        "services",
        "service-default/web/tcp/http",
    ] {
        assert!(table.chains.contains_key(chain), "missing {chain}");
    }
}

#[tokio::test]
async fn unchanged_state_should_not_run_nft() {
    let (fake, mut s) = syncer();
    let (svc, eps) = web(&["10.244.1.2"]);
    let desired = state(&[svc], &[eps]);
    s.sync(&desired).await.expect("sync");
    let report = s.sync(&desired).await.expect("sync");
    assert_eq!(report.commands, 0);
    assert_eq!(fake.transactions().len(), 1);
}

#[tokio::test]
async fn endpoint_change_should_touch_only_that_service_port() {
    let (fake, mut s) = syncer();
    let (api_svc, api_eps) = api();
    let (svc, eps) = web(&["10.244.1.2", "10.244.1.3"]);
    s.sync(&state(&[svc, api_svc.clone()], &[eps, api_eps.clone()]))
        .await
        .expect("sync");
    let (svc, eps) = web(&["10.244.1.2"]);
    let desired = state(&[svc, api_svc], &[eps, api_eps]);
    let report = s.sync(&desired).await.expect("sync");
    assert!(!report.full);
    assert_eq!(report.changed_service_ports, 1);
    let tx = fake.transactions().pop().expect("a transaction");
    assert!(!tx.contains("table ip berth\n"), "no table reset:\n{tx}");
    let web_chain = "ip berth service-default/web/tcp/http";
    assert_eq!(
        tx.lines().collect::<Vec<_>>(),
        vec![
            format!("flush chain {web_chain}"),
            format!(
                "add rule {web_chain} ip daddr 10.96.0.10 tcp dport 80 \
                 ip saddr != 10.244.0.0/16 jump mark-for-masquerade"
            ),
            format!("add rule {web_chain} meta l4proto tcp dnat to 10.244.1.2:8080"),
            "delete element ip berth hairpin { 10.244.1.3 . 10.244.1.3 }".to_string(),
        ]
    );
    assert_eq!(fake.table(TABLE), Some(fresh_table(&desired).await));
}

#[tokio::test]
async fn losing_every_endpoint_should_switch_to_reject_and_back() {
    let (fake, mut s) = syncer();
    let (svc, eps) = web(&["10.244.1.2"]);
    s.sync(&state(
        std::slice::from_ref(&svc),
        std::slice::from_ref(&eps),
    ))
    .await
    .expect("sync");
    let (_, empty) = web(&[]);
    let rejecting = state(std::slice::from_ref(&svc), &[empty]);
    s.sync(&rejecting).await.expect("sync");
    let tx = fake.transactions().pop().expect("a transaction");
    assert!(
        tx.contains("delete element ip berth service-ips { 10.96.0.10 . tcp . 80 }"),
        "{tx}"
    );
    assert!(tx.contains(
        "add element ip berth no-endpoint-services { 10.96.0.10 . tcp . 80 : goto reject-chain }"
    ));
    assert_eq!(fake.table(TABLE), Some(fresh_table(&rejecting).await));
    let serving = state(&[svc], &[eps]);
    s.sync(&serving).await.expect("sync");
    assert_eq!(fake.table(TABLE), Some(fresh_table(&serving).await));
}

#[tokio::test]
async fn deleted_service_should_leave_no_chain_set_or_element() {
    let (fake, mut s) = syncer();
    let (svc, eps) = web(&["10.244.1.2"]);
    let svc = svc.affinity(Some(30));
    s.sync(&state(&[svc], &[eps])).await.expect("sync");
    let empty = state(&[], &[]);
    s.sync(&empty).await.expect("sync");
    let table = fake.table(TABLE).expect("table");
    assert!(table.chains.keys().all(|c| !c.contains("default/web")));
    assert!(table.sets.keys().all(|c| !c.contains("default/web")));
    let only_node = table.elements.keys().all(|(map, _)| map == "nodeport-ips");
    assert!(only_node, "{:?}", table.elements);
    assert_eq!(Some(table), Some(fresh_table(&empty).await));
}

#[tokio::test]
async fn hairpin_address_should_stay_while_another_service_uses_it() {
    let (fake, mut s) = syncer();
    let (svc, eps) = web(&["10.244.1.2"]);
    let other = service("other", "10.96.0.30").port("http", "TCP", 80);
    let other_eps = slice(
        "other",
        ("http", "TCP", 8080),
        vec![endpoint("10.244.1.2", "node-a", READY)],
    );
    s.sync(&state(&[svc, other.clone()], &[eps, other_eps.clone()]))
        .await
        .expect("sync");
    let desired = state(&[other], &[other_eps]);
    s.sync(&desired).await.expect("sync");
    let hairpin = ("hairpin".to_string(), "10.244.1.2 . 10.244.1.2".to_string());
    let table = fake.table(TABLE).expect("table");
    assert!(table.elements.contains_key(&hairpin));
    assert_eq!(Some(table), Some(fresh_table(&desired).await));
}

#[tokio::test]
async fn failed_apply_should_make_the_next_sync_full() {
    let (fake, mut s) = syncer();
    let (svc, eps) = web(&["10.244.1.2"]);
    s.sync(&state(std::slice::from_ref(&svc), &[eps]))
        .await
        .expect("sync");
    fake.fail_next("Error: Could not process rule");
    let (_, eps) = web(&["10.244.1.3"]);
    let desired = state(&[svc], &[eps]);
    assert!(s.sync(&desired).await.is_err());
    let report = s.sync(&desired).await.expect("retry");
    assert!(report.full);
    assert_eq!(fake.table(TABLE), Some(fresh_table(&desired).await));
}

#[tokio::test]
async fn affinity_timeout_change_should_rebuild_the_table() {
    let (_fake, mut s) = syncer();
    let (svc, eps) = web(&["10.244.1.2"]);
    s.sync(&state(
        &[svc.clone().affinity(Some(30))],
        std::slice::from_ref(&eps),
    ))
    .await
    .expect("sync");
    let report = s
        .sync(&state(&[svc.affinity(Some(60))], &[eps]))
        .await
        .expect("sync");
    assert!(report.full);
}

#[tokio::test]
async fn node_address_change_should_only_update_nodeport_ips() {
    let (fake, mut s) = syncer();
    let svc = service("web", "10.96.0.10").node_port("http", 80, 30080);
    let eps = web(&["10.244.1.2"]).1;
    let at = |addresses: &[&str]| desired_state([&svc], [&eps], &node(addresses), Family::V4);
    s.sync(&at(&["192.168.1.10"])).await.expect("sync");
    s.sync(&at(&["192.168.1.11"])).await.expect("sync");
    let tx = fake.transactions().pop().expect("a transaction");
    assert_eq!(
        tx,
        "delete element ip berth nodeport-ips { 192.168.1.10 }\n\
         add element ip berth nodeport-ips { 192.168.1.11 }\n"
    );
}

/// A fixed pseudo-random walk over endpoint sets, policies and affinity.
#[tokio::test]
async fn incremental_syncs_should_always_equal_a_full_sync() {
    let (fake, mut s) = syncer();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for step in 0..60 {
        let mut services = Vec::new();
        let mut slices = Vec::new();
        for i in 0..4 {
            let bits = next();
            if bits & 1 == 0 {
                continue;
            }
            let name = format!("s{i}");
            let mut svc =
                service(&name, &format!("10.96.0.{}", i + 1)).node_port("p", 80, 30000 + i);
            if bits & 2 != 0 {
                svc = svc.affinity(Some(100));
            }
            if bits & 4 != 0 {
                svc = svc.edit(|s| s.external_traffic_policy = Some("Local".into()));
            }
            if bits & 8 != 0 {
                svc = svc.edit(|s| s.internal_traffic_policy = Some("Local".into()));
            }
            let eps = (0..4)
                .filter(|j| bits >> (8 + j) & 1 == 1)
                .map(|j| {
                    let node = if bits >> (16 + j) & 1 == 1 {
                        "node-a"
                    } else {
                        "node-b"
                    };
                    let cond = if bits >> (24 + j) & 1 == 1 {
                        READY
                    } else {
                        TERMINATING_SERVING
                    };
                    endpoint(&format!("10.244.{i}.{j}"), node, cond)
                })
                .collect();
            services.push(svc);
            slices.push(slice(&name, ("p", "TCP", 8080), eps));
        }
        let desired = state(&services, &slices);
        s.sync(&desired).await.expect("sync");
        assert_eq!(
            fake.table(TABLE),
            Some(fresh_table(&desired).await),
            "step {step}"
        );
    }
    assert!(
        fake.transactions()
            .iter()
            .skip(1)
            .any(|t| !t.contains("delete table"))
    );
}

#[tokio::test]
async fn cleanup_should_delete_the_table_even_when_absent() {
    let fake = FakeBackend::new();
    let options = crate::ProxyOptions::new("node-a");
    crate::proxy::cleanup_with(&fake, &options)
        .await
        .expect("absent table");
    assert!(fake.table(TABLE).is_none());
    fake.apply("add table ip berth\n").await.expect("add");
    crate::proxy::cleanup_with(&fake, &options)
        .await
        .expect("cleanup");
    assert!(fake.table(TABLE).is_none());
}
