//! The proxy loop against the real `berth server` (the binary in the target
//! dir, built by `cargo build -p berth`) with the fake rule backend:
//! watches, debounced syncs, incremental updates, node addresses, shutdown
//! and cleanup.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use berth_proxy::backend::fake::FakeTable;
use berth_proxy::proxy::{cleanup_with, run_with_backend};
use berth_proxy::{FakeBackend, ProxyOptions};
use berth_testkit::{TestServer, eventually};
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(30);

fn berth_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join("berth")
}

fn table(fake: &FakeBackend) -> Option<FakeTable> {
    fake.table("ip berth")
}

/// Whether the web service chain DNATs to `ip`; `None` without the chain.
fn web_reaches(fake: &FakeBackend, ip: &str) -> Option<bool> {
    let t = table(fake)?;
    let rules = t.chains.get("service-default/web/tcp/http")?;
    Some(rules.iter().any(|r| r.contains(&format!("{ip} . 8080"))))
}

fn slice_json(ips: &[&str]) -> serde_json::Value {
    json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-1", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": ips.iter().map(|ip| json!({"addresses": [ip], "nodeName": "node-a",
                                               "conditions": {"ready": true}})).collect::<Vec<_>>(),
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    })
}

#[tokio::test]
async fn proxy_should_follow_services_endpoints_and_node_addresses() {
    let binary = berth_binary();
    if !binary.exists() {
        panic!(
            "{} is missing: run `cargo build -p berth` first",
            binary.display()
        );
    }
    let server = TestServer::start(&binary).expect("berth server starts");
    let client = server.client().await.expect("client");
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "default");
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
    }))
    .expect("service json");
    services
        .create(&PostParams::default(), &svc)
        .await
        .expect("create service");
    let slice: EndpointSlice =
        serde_json::from_value(slice_json(&["10.244.1.2", "10.244.1.3"])).expect("slice");
    slices
        .create(&PostParams::default(), &slice)
        .await
        .expect("create slice");

    let fake = Arc::new(FakeBackend::new());
    let options = ProxyOptions::new("node-a");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let proxy = tokio::spawn(run_with_backend(
        client.clone(),
        options.clone(),
        fake.clone(),
        async {
            let _ = stopped.await;
        },
    ));

    eventually("the service chain with both endpoints", TIMEOUT, || async {
        web_reaches(&fake, "10.244.1.3")?.then_some(())
    })
    .await;
    let full_syncs = fake
        .transactions()
        .iter()
        .filter(|t| t.contains("delete table"))
        .count();
    assert_eq!(full_syncs, 1, "one full sync at start");

    let patch = Patch::Merge(slice_json(&["10.244.1.2"]));
    slices
        .patch("web-1", &PatchParams::default(), &patch)
        .await
        .expect("patch slice");
    eventually(
        "the removed endpoint to leave the chain",
        TIMEOUT,
        || async { (!web_reaches(&fake, "10.244.1.3")?).then_some(()) },
    )
    .await;
    let last = fake.transactions().pop().expect("a transaction");
    assert!(
        !last.contains("delete table"),
        "the change was incremental:\n{last}"
    );

    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": "node-a"},
        "status": {"addresses": [{"type": "InternalIP", "address": "192.168.7.7"}]},
    }))
    .expect("node json");
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .create(&PostParams::default(), &node)
        .await
        .expect("create node");
    nodes
        .patch_status(
            "node-a",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": node.status})),
        )
        .await
        .expect("node status");
    eventually("the node address in nodeport-ips", TIMEOUT, || async {
        let key = ("nodeport-ips".to_string(), "192.168.7.7".to_string());
        table(&fake)?.elements.contains_key(&key).then_some(())
    })
    .await;

    services
        .delete("web", &Default::default())
        .await
        .expect("delete service");
    eventually("the service's chains to go", TIMEOUT, || async {
        let t = table(&fake)?;
        (!t.chains.keys().any(|c| c.contains("default/web/"))).then_some(())
    })
    .await;

    let _ = stop.send(());
    proxy.await.expect("join").expect("proxy stops cleanly");
    assert!(table(&fake).is_some(), "shutdown leaves the table");
    cleanup_with(&fake, &options).await.expect("cleanup");
    assert!(table(&fake).is_none(), "cleanup deletes the table");
}
