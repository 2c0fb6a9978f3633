//! Node lifecycle against a real `berth server` with the fake kubelet and
//! short timeouts: podCIDR allocation, a node whose Lease stops being
//! renewed becomes Unknown and tainted, its pods are evicted when their
//! tolerations run out, and the node recovers when the kubelet returns.

mod controllers_support;

use berth_testkit::eventually;
use controllers_support::{Cluster, TIMEOUT, from_json};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, PostParams};
use serde_json::json;

fn pod(name: &str, node: &str, toleration_seconds: Option<i64>) -> Pod {
    let mut p = json!({"metadata": {"name": name},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox:1.36"}]}});
    if let Some(s) = toleration_seconds {
        p["spec"]["tolerations"] = json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
            "effect": "NoExecute", "tolerationSeconds": s}]);
    }
    from_json(p)
}

fn ready_status(node: &Node) -> Option<String> {
    let c = node
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    Some(c.status.clone())
}

fn has_taint(node: &Node, key: &str, effect: &str) -> bool {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|t| t.iter().any(|t| t.key == key && t.effect == effect))
}

#[tokio::test]
async fn a_silent_node_is_tainted_and_its_pods_evicted_after_their_tolerations() {
    let c = Cluster::start(
        2,
        &["--node-monitor-grace-period=3s", "--node-monitor-period=1s"],
    )
    .await;
    let nodes: Api<Node> = Api::all(c.client.clone());
    let cidrs = eventually("podCIDRs allocated", TIMEOUT, || async {
        let mut cidrs: Vec<String> = Vec::new();
        for n in ["fake-node-0", "fake-node-1"] {
            cidrs.push(nodes.get(n).await.ok()?.spec?.pod_cidr?);
        }
        Some(cidrs)
    })
    .await;
    let mut sorted = cidrs.clone();
    sorted.sort();
    assert_eq!(sorted, ["10.42.0.0/24", "10.42.1.0/24"]);
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    pods.create(
        &PostParams::default(),
        &pod("short", "fake-node-0", Some(2)),
    )
    .await
    .expect("short");
    pods.create(
        &PostParams::default(),
        &pod("default-toleration", "fake-node-0", None),
    )
    .await
    .expect("default");
    pods.create(
        &PostParams::default(),
        &pod("elsewhere", "fake-node-1", Some(0)),
    )
    .await
    .expect("elsewhere");
    eventually("pods running", TIMEOUT, || async {
        let all = pods.list(&Default::default()).await.ok()?.items;
        (all.len() == 3 && all.iter().all(berth_controllers::pod_state::is_ready)).then_some(())
    })
    .await;
    c.kubelet.stop_node("fake-node-0");
    let node = eventually(
        "Ready=Unknown and the unreachable NoExecute taint",
        TIMEOUT,
        || async {
            let n = nodes.get("fake-node-0").await.ok()?;
            (ready_status(&n).as_deref() == Some("Unknown")
                && has_taint(&n, "node.kubernetes.io/unreachable", "NoExecute"))
            .then_some(n)
        },
    )
    .await;
    assert!(has_taint(
        &node,
        "node.kubernetes.io/unreachable",
        "NoSchedule"
    ));
    eventually("the pod tolerating 2 s is evicted", TIMEOUT, || async {
        pods.get("short")
            .await
            .ok()?
            .metadata
            .deletion_timestamp
            .map(|_| ())
    })
    .await;
    let kept = pods.get("default-toleration").await.expect("pod");
    assert!(
        kept.metadata.deletion_timestamp.is_none(),
        "300 s default toleration not yet over"
    );
    eventually(
        "pods on the silent node are marked not ready",
        TIMEOUT,
        || async {
            let p = pods.get("default-toleration").await.ok()?;
            (!berth_controllers::pod_state::is_ready(&p)).then_some(())
        },
    )
    .await;
    let elsewhere = pods.get("elsewhere").await.expect("pod");
    assert!(
        elsewhere.metadata.deletion_timestamp.is_none(),
        "pods on healthy nodes stay"
    );
    c.kubelet
        .restart_node("fake-node-0")
        .await
        .expect("restart");
    eventually("the node is Ready and untainted again", TIMEOUT, || async {
        let n = nodes.get("fake-node-0").await.ok()?;
        (ready_status(&n).as_deref() == Some("True")
            && !has_taint(&n, "node.kubernetes.io/unreachable", "NoExecute"))
        .then_some(())
    })
    .await;
}
