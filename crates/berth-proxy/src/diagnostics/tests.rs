//! What `berth why service` reports.

use std::sync::Arc;

use super::diagnose;
use crate::backend::FakeBackend;
use crate::fixtures::*;
use crate::model::{Family, NodeContext, desired_state};
use crate::ruleset::{RenderOptions, Table};
use crate::sync::Syncer;

fn node() -> NodeContext {
    NodeContext {
        name: "node-a".into(),
        addresses: vec!["192.168.1.10".parse().expect("ip")],
    }
}

#[tokio::test]
async fn diagnosis_should_explain_each_endpoint_and_show_live_rules() {
    let svc = service("web", "10.96.0.10").port("http", "TCP", 80);
    let slices = [slice(
        "web",
        ("http", "TCP", 8080),
        vec![
            endpoint("10.244.1.2", "node-a", READY),
            endpoint("10.244.1.3", "node-a", NOT_READY),
            endpoint("10.244.1.4", "node-b", TERMINATING_SERVING),
        ],
    )];
    let fake = Arc::new(FakeBackend::new());
    let options = RenderOptions::default();
    let mut syncer = Syncer::new(
        fake.clone(),
        Table::new(Family::V4, "berth"),
        options.clone(),
    );
    let desired = desired_state([&svc], &slices, &node(), Family::V4);
    syncer.sync(&desired).await.expect("sync");

    let d = diagnose(&svc, &slices, &node(), "berth", &options, &fake).await;
    assert_eq!(d.service, "default/web");
    let port = &d.ports[0];
    let reasons: Vec<(bool, &str)> = port
        .endpoints
        .iter()
        .map(|s| (s.used, s.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (true, "ready"),
            (
                false,
                "not ready (readiness probe failing or containers not started)"
            ),
            (
                false,
                "terminating but serving: unused while ready endpoints exist"
            ),
        ]
    );
    assert!(
        port.desired_rules
            .contains("service-ips { 10.96.0.10 . tcp . 80 : goto service-default/web/tcp/http }")
    );
    let live: Vec<&str> = port
        .live_chains
        .iter()
        .map(|(_, listed)| listed.as_deref().expect("chain is programmed"))
        .collect();
    assert!(live.iter().any(|l| l.contains("dnat to 10.244.1.2:8080")));
    let text = d.to_string();
    assert!(
        text.contains("used     10.244.1.2:8080 pod=pod-10.244.1.2 node=node-a: ready"),
        "{text}"
    );
}

#[tokio::test]
async fn diagnosis_should_flag_rules_missing_from_the_table() {
    let svc = service("web", "10.96.0.10").port("http", "TCP", 80);
    let slices = [slice(
        "web",
        ("http", "TCP", 8080),
        vec![endpoint("10.244.1.2", "node-a", READY)],
    )];
    let fake = FakeBackend::new();
    let d = diagnose(
        &svc,
        &slices,
        &node(),
        "berth",
        &RenderOptions::default(),
        &fake,
    )
    .await;
    assert!(
        d.ports[0]
            .live_chains
            .iter()
            .all(|(_, listed)| listed.is_err())
    );
    assert!(d.to_string().contains("MISSING"));
}

#[tokio::test]
async fn diagnosis_of_a_service_without_endpoints_should_say_it_rejects() {
    let svc = service("web", "10.96.0.10").port("http", "TCP", 80);
    let d = diagnose(
        &svc,
        &[],
        &node(),
        "berth",
        &RenderOptions::default(),
        &FakeBackend::new(),
    )
    .await;
    let text = d.to_string();
    assert!(
        text.contains("no endpoints: connections are rejected"),
        "{text}"
    );
    assert!(text.contains("goto reject-chain"), "{text}");
}
