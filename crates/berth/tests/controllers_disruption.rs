//! PodDisruptionBudgets against a real `berth server` with the fake kubelet:
//! the disruption controller's status, the eviction subresource's 429, and
//! `kubectl drain` blocked by a budget, then allowed.

mod controllers_support;

use berth_testkit::{Kubectl, KubectlOutput, eventually};
use controllers_support::{Cluster, TIMEOUT, deployment, from_json};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use kube::api::{Api, EvictParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

fn budget(name: &str, app: &str, rule: Value) -> Value {
    let mut spec = json!({"selector": {"matchLabels": {"app": app}}});
    if let (Some(s), Some(r)) = (spec.as_object_mut(), rule.as_object()) {
        s.extend(r.clone());
    }
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
           "metadata": {"name": name}, "spec": spec})
}

async fn start_app(c: &Cluster, app: &str, replicas: i32, rule: Value) -> Api<PodDisruptionBudget> {
    Api::<Deployment>::namespaced(c.client.clone(), "default")
        .create(
            &PostParams::default(),
            &from_json(deployment(app, replicas)),
        )
        .await
        .expect("create deployment");
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(c.client.clone(), "default");
    pdbs.create(&PostParams::default(), &from_json(budget(app, app, rule)))
        .await
        .expect("create pdb");
    c.wait_ready_pods("default", app, usize::try_from(replicas).expect("count"))
        .await;
    pdbs
}

/// Waits until the budget's status reads (current, desired, expected, allowed).
async fn wait_status(
    pdbs: &Api<PodDisruptionBudget>,
    name: &str,
    want: (i32, i32, i32, i32),
) -> PodDisruptionBudgetStatus {
    eventually(&format!("{name} status {want:?}"), TIMEOUT, || async {
        let s = pdbs.get(name).await.ok()?.status?;
        let got = (
            s.current_healthy,
            s.desired_healthy,
            s.expected_pods,
            s.disruptions_allowed,
        );
        (got == want).then_some(s)
    })
    .await
}

/// Runs kubectl off the runtime's thread: the fake kubelet must keep
/// serving pods (finishing deletions) while kubectl waits for them.
async fn run_kubectl(kubectl: &Kubectl, args: &[&str]) -> KubectlOutput {
    let kubectl = kubectl.clone();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        kubectl.run(&args)
    })
    .await
    .expect("kubectl ran")
}

#[tokio::test]
async fn a_budget_reports_healthy_desired_expected_and_allowed_pods() {
    let c = Cluster::start(2, &[]).await;
    let pdbs = start_app(&c, "web", 3, json!({"minAvailable": 2})).await;
    let s = wait_status(&pdbs, "web", (3, 2, 3, 1)).await;
    assert_eq!(s.observed_generation, Some(1));
    let cond = &s.conditions.expect("conditions")[0];
    assert_eq!(
        (
            cond.type_.as_str(),
            cond.status.as_str(),
            cond.reason.as_str()
        ),
        ("DisruptionAllowed", "True", "SufficientPods")
    );
    // A percentage is scaled against the Deployment's replicas.
    let pct = start_app(&c, "pct", 4, json!({"maxUnavailable": "30%"})).await;
    wait_status(&pct, "pct", (4, 2, 4, 2)).await;
    pdbs.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"minAvailable": 3}})),
    )
    .await
    .expect("tighten");
    let s = wait_status(&pdbs, "web", (3, 3, 3, 0)).await;
    assert_eq!(s.observed_generation, Some(2));
    let cond = &s.conditions.expect("conditions")[0];
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_str()),
        ("False", "InsufficientPods")
    );
}

#[tokio::test]
async fn an_eviction_that_would_violate_the_budget_gets_429() {
    let c = Cluster::start(1, &[]).await;
    let pdbs = start_app(&c, "tight", 2, json!({"minAvailable": 2})).await;
    wait_status(&pdbs, "tight", (2, 2, 2, 0)).await;
    // kube-rs retries 429s by default (15 times, backing off): see the
    // first answer as kubectl does.
    let kubeconfig =
        kube::config::Kubeconfig::read_from(c.server.kubeconfig()).expect("kubeconfig");
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("config");
    config.default_retry = false;
    let client = kube::Client::try_from(config).expect("client");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let victim = c.pods("default", "tight").await[0]
        .metadata
        .name
        .clone()
        .expect("name");
    let err = pods
        .evict(&victim, &EvictParams::default())
        .await
        .expect_err("refused");
    let kube::Error::Api(status) = err else {
        panic!("not an API error: {err}");
    };
    assert_eq!(status.code, 429);
    assert_eq!(status.reason, "TooManyRequests");
    assert_eq!(
        status.message,
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    let pod = pods.get(&victim).await.expect("still there");
    assert!(pod.metadata.deletion_timestamp.is_none());
}

#[tokio::test]
async fn kubectl_drain_is_blocked_by_a_budget_and_succeeds_once_it_allows() {
    let c = Cluster::start(1, &[]).await;
    let node = c.kubelet.node_names()[0].clone();
    let pdbs = start_app(&c, "drained", 2, json!({"minAvailable": 2})).await;
    wait_status(&pdbs, "drained", (2, 2, 2, 0)).await;
    let kubectl = Kubectl::new(&c.server.kubeconfig());
    let drain = [
        "drain",
        node.as_str(),
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--timeout=10s",
    ];
    let blocked = run_kubectl(&kubectl, &drain).await;
    let stderr = blocked.err();
    assert!(
        stderr.contains("Cannot evict pod as it would violate the pod's disruption budget"),
        "{stderr}"
    );
    let before: Vec<String> = c
        .pods("default", "drained")
        .await
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    assert_eq!(before.len(), 2, "nothing was evicted");
    // One more replica: the budget allows one disruption at a time, and the
    // drain goes through as replacements become ready.
    Api::<Deployment>::namespaced(c.client.clone(), "default")
        .patch(
            "drained",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .expect("scale up");
    wait_status(&pdbs, "drained", (3, 2, 3, 1)).await;
    let drain = [
        "drain",
        node.as_str(),
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--timeout=90s",
    ];
    let out = run_kubectl(&kubectl, &drain).await.ok();
    assert!(out.contains("drained"), "{out}");
    let after = c.pods("default", "drained").await;
    assert!(
        after
            .iter()
            .all(|p| !before.contains(p.metadata.name.as_ref().expect("name"))),
        "every pod that was on the node was evicted"
    );
}

#[tokio::test]
async fn an_allowed_eviction_removes_the_pod_and_the_deployment_replaces_it() {
    let c = Cluster::start(1, &[]).await;
    let pdbs = start_app(&c, "loose", 3, json!({"minAvailable": 2})).await;
    wait_status(&pdbs, "loose", (3, 2, 3, 1)).await;
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let victim = c.pods("default", "loose").await[0]
        .metadata
        .name
        .clone()
        .expect("name");
    pods.evict(&victim, &EvictParams::default())
        .await
        .expect("allowed");
    eventually("the evicted pod is gone", TIMEOUT, || async {
        pods.get_opt(&victim).await.ok()?.is_none().then_some(())
    })
    .await;
    c.wait_ready_pods("default", "loose", 3).await;
    wait_status(&pdbs, "loose", (3, 2, 3, 1)).await;
}
