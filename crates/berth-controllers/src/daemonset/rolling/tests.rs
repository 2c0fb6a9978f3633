use super::*;
use serde_json::json;

fn ds(strategy: serde_json::Value) -> DaemonSet {
    serde_json::from_value(json!({"metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"app": "d"}}, "updateStrategy": strategy,
        "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": []}}}}))
    .expect("daemonset")
}

fn nodes(n: usize) -> Vec<Arc<Node>> {
    (0..n)
        .map(|i| {
            Arc::new(
                serde_json::from_value(json!({"metadata": {"name": format!("n{i}")}}))
                    .expect("node"),
            )
        })
        .collect()
}

fn pod(name: &str, node: &str, hash: &str, ready: bool) -> Arc<Pod> {
    let status = if ready { "True" } else { "False" };
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"controller-revision-hash": hash}},
            "spec": {"nodeName": node, "containers": []},
            "status": {"conditions": [{"type": "Ready", "status": status,
                "lastTransitionTime": "2020-01-01T00:00:00Z"}]}}))
        .expect("pod"),
    )
}

fn plan(ds: &DaemonSet, nodes: &[Arc<Node>], pods: &[Arc<Pod>]) -> Plan {
    let daemon_pod = DaemonPod::of(ds);
    let step = Step {
        ds,
        daemon_pod: &daemon_pod,
        hash: "new",
        generation: None,
        now: Timestamp::now(),
    };
    step.plan(nodes, &super::super::pods::by_node(pods))
}

fn names(pods: &[Arc<Pod>]) -> Vec<String> {
    let mut n: Vec<String> = pods
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    n.sort();
    n
}

#[test]
fn limits_round_up_and_are_never_both_zero() {
    let percent = ds(json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}}));
    assert_eq!(limits(&percent, 1000), (0, 100));
    assert_eq!(limits(&percent, 5), (0, 1));
    let zero =
        ds(json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}));
    assert_eq!(limits(&zero, 3), (0, 1));
    let surge = ds(
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "50%"}}),
    );
    assert_eq!(limits(&surge, 3), (2, 0));
    assert!(allows_surge(&surge) && !allows_surge(&percent));
}

#[test]
fn without_surge_old_pods_go_while_unavailability_allows() {
    let d = ds(json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}}));
    let n = nodes(4);
    let all_old = [
        pod("a", "n0", "old", true),
        pod("b", "n1", "old", true),
        pod("c", "n2", "old", true),
        pod("d", "n3", "old", true),
    ];
    assert_eq!(plan(&d, &n, &all_old).delete.len(), 2);
    let one_new_unready = [
        pod("a", "n0", "new", false),
        pod("b", "n1", "old", true),
        pod("c", "n2", "old", false),
        pod("d", "n3", "old", true),
    ];
    let p = plan(&d, &n, &one_new_unready);
    assert_eq!(
        names(&p.delete),
        ["c"],
        "an unavailable old pod is replaced; the budget is spent"
    );
    assert!(p.create_on.is_empty(), "creation is the manage step's job");
}

#[test]
fn with_surge_new_pods_come_first_and_old_ones_go_once_replaced() {
    let d =
        ds(json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}));
    let n = nodes(3);
    let start = [
        pod("a", "n0", "old", true),
        pod("b", "n1", "old", true),
        pod("c", "n2", "old", true),
    ];
    let p = plan(&d, &n, &start);
    assert_eq!(p.create_on, ["n0"]);
    assert!(p.delete.is_empty());
    let surging = [
        pod("a", "n0", "old", true),
        pod("a2", "n0", "new", false),
        pod("b", "n1", "old", true),
        pod("c", "n2", "old", true),
    ];
    let p = plan(&d, &n, &surging);
    assert!(
        p.create_on.is_empty() && p.delete.is_empty(),
        "waiting for a2"
    );
    let replaced = [
        pod("a", "n0", "old", true),
        pod("a2", "n0", "new", true),
        pod("b", "n1", "old", true),
        pod("c", "n2", "old", true),
    ];
    let p = plan(&d, &n, &replaced);
    assert_eq!(names(&p.delete), ["a"]);
    assert_eq!(p.create_on, ["n1"]);
}
