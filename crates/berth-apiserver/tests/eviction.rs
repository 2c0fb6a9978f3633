//! `pods/eviction` against the in-process handler: budgets are consulted,
//! spent with a compare-and-swap and honoured with upstream's 429.

mod support;

use http::Method;
use serde_json::{Value, json};
use support::{Fixture, JSON};

const NS: &str = "/api/v1/namespaces/default";
const PDBS: &str = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";

/// A running pod with label app=web, bound to a node, ready or not.
async fn running_pod(f: &Fixture, name: &str, ready: bool) {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox:1.36"}]}});
    let (code, _) = f
        .call(Method::POST, &format!("{NS}/pods"), JSON, pod.to_string())
        .await;
    assert_eq!(code, 201);
    set_status(f, name, "Running", ready).await;
}

async fn set_status(f: &Fixture, name: &str, phase: &str, ready: bool) {
    let status = json!({"status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": if ready { "True" } else { "False" }}]}});
    let (code, _) = f
        .call(
            Method::PATCH,
            &format!("{NS}/pods/{name}/status"),
            "application/merge-patch+json",
            status.to_string(),
        )
        .await;
    assert_eq!(code, 200);
}

/// A budget selecting app=web with a status as the controller would write.
async fn budget(f: &Fixture, name: &str, allowed: i64, current: i64, desired: i64) {
    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"minAvailable": desired, "selector": {"matchLabels": {"app": "web"}}}});
    let (code, created) = f.call(Method::POST, PDBS, JSON, pdb.to_string()).await;
    assert_eq!(code, 201, "{created}");
    let status = json!({"status": {"disruptionsAllowed": allowed, "currentHealthy": current,
        "desiredHealthy": desired, "expectedPods": current, "observedGeneration": 1}});
    let (code, _) = f
        .call(
            Method::PATCH,
            &format!("{PDBS}/{name}/status"),
            "application/merge-patch+json",
            status.to_string(),
        )
        .await;
    assert_eq!(code, 200);
}

async fn evict(f: &Fixture, pod: &str, query: &str, delete_options: Value) -> (u16, Value) {
    let body = json!({"apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": pod, "namespace": "default"}, "deleteOptions": delete_options});
    f.call(
        Method::POST,
        &format!("{NS}/pods/{pod}/eviction{query}"),
        JSON,
        body.to_string(),
    )
    .await
}

async fn get(f: &Fixture, path: &str) -> (u16, Value) {
    f.call(Method::GET, path, JSON, "").await
}

#[tokio::test]
async fn an_eviction_the_budget_cannot_afford_is_refused_with_429() {
    let f = Fixture::new().await;
    running_pod(&f, "web-1", true).await;
    budget(&f, "web", 0, 2, 2).await;
    let (code, status) = evict(&f, "web-1", "", json!({})).await;
    assert_eq!(code, 429);
    assert_eq!(status["reason"], "TooManyRequests");
    assert_eq!(
        status["message"],
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    assert_eq!(status["details"]["causes"][0]["reason"], "DisruptionBudget");
    assert_eq!(
        status["details"]["causes"][0]["message"],
        "The disruption budget web needs 2 healthy pods and has 2 currently"
    );
    let (code, pod) = get(&f, &format!("{NS}/pods/web-1")).await;
    assert_eq!(code, 200);
    assert!(pod["metadata"]["deletionTimestamp"].is_null(), "untouched");
}

#[tokio::test]
async fn an_affordable_eviction_spends_the_budget_and_deletes_the_pod() {
    let f = Fixture::new().await;
    running_pod(&f, "web-1", true).await;
    budget(&f, "web", 1, 3, 2).await;
    let (code, status) = evict(&f, "web-1", "", json!({})).await;
    assert_eq!(
        (code, &status["status"]),
        (201, &json!("Success")),
        "{status}"
    );
    let (_, pdb) = get(&f, &format!("{PDBS}/web")).await;
    assert_eq!(pdb["status"]["disruptionsAllowed"], 0);
    assert!(pdb["status"]["disruptedPods"]["web-1"].is_string());
    let cond = &pdb["status"]["conditions"][0];
    assert_eq!(
        (&cond["type"], &cond["status"]),
        (&json!("DisruptionAllowed"), &json!("False"))
    );
    assert_eq!(cond["reason"], "InsufficientPods");
    let (_, pod) = get(&f, &format!("{NS}/pods/web-1")).await;
    assert!(
        pod["metadata"]["deletionTimestamp"].is_string(),
        "gracefully deleted"
    );
    // The budget is now spent: the next pod stays.
    running_pod(&f, "web-2", true).await;
    assert_eq!(evict(&f, "web-2", "", json!({})).await.0, 429);
}

#[tokio::test]
async fn a_dry_run_eviction_neither_spends_the_budget_nor_deletes() {
    let f = Fixture::new().await;
    running_pod(&f, "web-1", true).await;
    budget(&f, "web", 1, 3, 2).await;
    let before = f.revision().await;
    assert_eq!(
        evict(&f, "web-1", "", json!({"dryRun": ["All"]})).await.0,
        201
    );
    assert_eq!(evict(&f, "web-1", "?dryRun=All", json!({})).await.0, 201);
    assert_eq!(f.revision().await, before, "nothing was written");
    let (_, pdb) = get(&f, &format!("{PDBS}/web")).await;
    assert_eq!(pdb["status"]["disruptionsAllowed"], 1);
    let (_, pod) = get(&f, &format!("{NS}/pods/web-1")).await;
    assert!(pod["metadata"]["deletionTimestamp"].is_null());
}

#[tokio::test]
async fn terminal_pods_and_pods_without_a_budget_are_always_evictable() {
    let f = Fixture::new().await;
    running_pod(&f, "done", true).await;
    set_status(&f, "done", "Succeeded", false).await;
    budget(&f, "web", 0, 0, 2).await;
    assert_eq!(evict(&f, "done", "", json!({})).await.0, 201);
    assert_eq!(
        get(&f, &format!("{NS}/pods/done")).await.0,
        404,
        "terminal: gone at once"
    );
    let lone = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "lone"},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox:1.36"}]}});
    f.call(Method::POST, &format!("{NS}/pods"), JSON, lone.to_string())
        .await;
    set_status(&f, "lone", "Running", true).await;
    assert_eq!(evict(&f, "lone", "", json!({})).await.0, 201);
}

#[tokio::test]
async fn unready_pods_follow_the_unhealthy_pod_eviction_policy() {
    let f = Fixture::new().await;
    running_pod(&f, "sick", false).await;
    // IfHealthyBudget (default): the application is disrupted (1 of 2), so no.
    budget(&f, "web", 0, 1, 2).await;
    assert_eq!(evict(&f, "sick", "", json!({})).await.0, 429);
    // AlwaysAllow: an unready pod may always go, without spending the budget.
    let (code, _) = f
        .call(
            Method::PATCH,
            &format!("{PDBS}/web"),
            "application/merge-patch+json",
            json!({"spec": {"unhealthyPodEvictionPolicy": "AlwaysAllow"}}).to_string(),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(evict(&f, "sick", "", json!({})).await.0, 201);
    let (_, pdb) = get(&f, &format!("{PDBS}/web")).await;
    assert_eq!(pdb["status"]["disruptionsAllowed"], 0);
    assert!(pdb["status"]["disruptedPods"].is_null());
}

#[tokio::test]
async fn a_budget_not_yet_observed_by_the_controller_refuses_evictions() {
    let f = Fixture::new().await;
    running_pod(&f, "web-1", true).await;
    budget(&f, "web", 1, 3, 2).await;
    f.call(
        Method::PATCH,
        &format!("{PDBS}/web"),
        "application/merge-patch+json",
        json!({"spec": {"minAvailable": 1}}).to_string(),
    )
    .await;
    let (code, status) = evict(&f, "web-1", "", json!({})).await;
    assert_eq!(code, 429);
    assert_eq!(status["details"]["retryAfterSeconds"], 10);
    assert_eq!(
        status["details"]["causes"][0]["message"],
        "The disruption budget web is still being processed by the server."
    );
}

#[tokio::test]
async fn a_pod_with_two_budgets_cannot_be_evicted() {
    let f = Fixture::new().await;
    running_pod(&f, "web-1", true).await;
    budget(&f, "one", 5, 3, 1).await;
    budget(&f, "two", 5, 3, 1).await;
    let (code, status) = evict(&f, "web-1", "", json!({})).await;
    assert_eq!(code, 500);
    assert_eq!(
        status["message"],
        "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
    );
}
