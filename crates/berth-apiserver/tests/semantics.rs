//! Upstream semantics users rely on, through the real handler and store.

mod support;

use berth_apiserver::handle;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use support::{Fixture, JSON, admin};

const NS: &str = "/api/v1/namespaces/default";

fn cm(name: &str) -> String {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}})
        .to_string()
}

#[tokio::test]
async fn an_hpa_written_as_v1_reads_as_v2_and_back() {
    let f = Fixture::new().await;
    let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
        "spec": {"maxReplicas": 5, "targetCPUUtilizationPercentage": 70,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}});
    let (code, _) = f
        .call(
            Method::POST,
            "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers",
            JSON,
            v1.to_string(),
        )
        .await;
    assert_eq!(code, 201);
    let (_, v2) = f
        .call(
            Method::GET,
            "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/h",
            JSON,
            "",
        )
        .await;
    assert_eq!(v2["apiVersion"], "autoscaling/v2");
    assert_eq!(
        v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        70
    );
    let (_, list) = f
        .call(
            Method::GET,
            "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
            JSON,
            "",
        )
        .await;
    assert_eq!(
        list["items"][0]["spec"]["metrics"][0]["resource"]["name"],
        "cpu"
    );
    let (_, back) = f
        .call(
            Method::GET,
            "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/h",
            JSON,
            "",
        )
        .await;
    assert_eq!(back["spec"]["targetCPUUtilizationPercentage"], 70);
}

#[tokio::test]
async fn a_custom_resource_scales_through_its_declared_paths() {
    let f = Fixture::new().await;
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "pools.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "pools", "singular": "pool", "kind": "Pool"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.size",
                    "statusReplicasPath": ".status.ready", "labelSelectorPath": ".status.selector"}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                    "status": {"type": "object", "properties": {"ready": {"type": "integer"}, "selector": {"type": "string"}}}}}}}]}});
    assert_eq!(
        f.call(
            Method::POST,
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            JSON,
            crd.to_string()
        )
        .await
        .0,
        201
    );
    let pool = json!({"apiVersion": "example.com/v1", "kind": "Pool", "metadata": {"name": "p"}, "spec": {"size": 2}});
    assert_eq!(
        f.call(
            Method::POST,
            "/apis/example.com/v1/namespaces/default/pools",
            JSON,
            pool.to_string()
        )
        .await
        .0,
        201
    );
    let scale_url = "/apis/example.com/v1/namespaces/default/pools/p/scale";
    let (code, scale) = f.call(Method::GET, scale_url, JSON, "").await;
    assert_eq!(
        (
            code,
            scale["kind"].clone(),
            scale["spec"]["replicas"].clone()
        ),
        (200, json!("Scale"), json!(2))
    );
    let (code, scaled) = f
        .call(
            Method::PATCH,
            scale_url,
            "application/merge-patch+json",
            r#"{"spec":{"replicas":7}}"#,
        )
        .await;
    assert_eq!((code, scaled["spec"]["replicas"].clone()), (200, json!(7)));
    let (_, p) = f
        .call(
            Method::GET,
            "/apis/example.com/v1/namespaces/default/pools/p",
            JSON,
            "",
        )
        .await;
    assert_eq!(p["spec"]["size"], 7);
    assert_eq!(p["metadata"]["generation"], 2);
}

#[tokio::test]
async fn a_streaming_list_sends_initial_events_then_a_marked_bookmark() {
    let f = Fixture::new().await;
    for name in ["a", "b"] {
        f.call(Method::POST, &format!("{NS}/configmaps"), JSON, cm(name))
            .await;
    }
    let uri = format!(
        "{NS}/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1"
    );
    let req = Request::builder()
        .uri(uri)
        .body(Full::new(Bytes::new()))
        .expect("request");
    let resp = handle(f.state.clone(), admin(), req).await;
    let body = resp
        .into_body()
        .collect()
        .await
        .expect("stream ends at the timeout")
        .to_bytes();
    let events: Vec<Value> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("json event"))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds, ["ADDED", "ADDED", "BOOKMARK"]);
    assert_eq!(
        events[2]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert_eq!(
        events[2]["object"]["metadata"]["resourceVersion"],
        f.revision().await.to_string()
    );
}

#[tokio::test]
async fn a_dry_run_answers_as_a_write_but_stores_nothing() {
    let f = Fixture::new().await;
    let before = f.revision().await;
    let (code, obj) = f
        .call(
            Method::POST,
            &format!("{NS}/configmaps?dryRun=All"),
            JSON,
            cm("dry"),
        )
        .await;
    assert_eq!((code, obj["metadata"]["name"].clone()), (201, json!("dry")));
    assert_eq!(f.revision().await, before);
    assert_eq!(
        f.call(Method::GET, &format!("{NS}/configmaps/dry"), JSON, "")
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn generate_name_gets_a_random_suffix() {
    let f = Fixture::new().await;
    let body =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "job-"}})
            .to_string();
    let (_, a) = f
        .call(
            Method::POST,
            &format!("{NS}/configmaps"),
            JSON,
            body.clone(),
        )
        .await;
    let (_, b) = f
        .call(Method::POST, &format!("{NS}/configmaps"), JSON, body)
        .await;
    let (a, b) = (
        a["metadata"]["name"].as_str().unwrap_or(""),
        b["metadata"]["name"].as_str().unwrap_or(""),
    );
    assert!(a.starts_with("job-") && a.len() == 9, "{a}");
    assert_ne!(a, b);
}

#[tokio::test]
async fn an_object_with_finalizers_waits_for_them_and_goes_when_the_last_is_removed() {
    let f = Fixture::new().await;
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": ["example.com/hold"]}});
    f.call(
        Method::POST,
        &format!("{NS}/configmaps"),
        JSON,
        body.to_string(),
    )
    .await;
    let (code, marked) = f
        .call(Method::DELETE, &format!("{NS}/configmaps/held"), JSON, "")
        .await;
    assert_eq!(code, 200);
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    let (code, still) = f
        .call(Method::GET, &format!("{NS}/configmaps/held"), JSON, "")
        .await;
    assert_eq!(
        (code, still["metadata"]["finalizers"].clone()),
        (200, json!(["example.com/hold"]))
    );
    let patch = r#"{"metadata":{"finalizers":null}}"#;
    assert_eq!(
        f.call(
            Method::PATCH,
            &format!("{NS}/configmaps/held"),
            "application/merge-patch+json",
            patch
        )
        .await
        .0,
        200
    );
    assert_eq!(
        f.call(Method::GET, &format!("{NS}/configmaps/held"), JSON, "")
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn foreground_and_orphan_deletes_set_the_finalizers_the_garbage_collector_reads() {
    let f = Fixture::new().await;
    for (name, policy, finalizer) in [
        ("fg", "Foreground", "foregroundDeletion"),
        ("or", "Orphan", "orphan"),
    ] {
        f.call(Method::POST, &format!("{NS}/configmaps"), JSON, cm(name))
            .await;
        let body =
            json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": policy})
                .to_string();
        let (code, obj) = f
            .call(
                Method::DELETE,
                &format!("{NS}/configmaps/{name}"),
                JSON,
                body,
            )
            .await;
        assert_eq!(code, 200);
        assert_eq!(
            obj["metadata"]["finalizers"],
            json!([finalizer]),
            "{policy}"
        );
    }
}

fn pod(name: &str, node: Option<&str>) -> String {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}});
    if let Some(n) = node {
        p["spec"]["nodeName"] = json!(n);
    }
    p.to_string()
}

#[tokio::test]
async fn a_bound_pod_is_deleted_gracefully_and_an_unbound_one_at_once() {
    let f = Fixture::new().await;
    f.call(
        Method::POST,
        &format!("{NS}/pods"),
        JSON,
        pod("bound", Some("n1")),
    )
    .await;
    f.call(
        Method::POST,
        &format!("{NS}/pods"),
        JSON,
        pod("loose", None),
    )
    .await;
    let (_, bound) = f
        .call(Method::DELETE, &format!("{NS}/pods/bound"), JSON, "")
        .await;
    assert_eq!(bound["metadata"]["deletionGracePeriodSeconds"], 30);
    assert_eq!(
        f.call(Method::GET, &format!("{NS}/pods/bound"), JSON, "")
            .await
            .0,
        200,
        "waits for the node agent"
    );
    f.call(Method::DELETE, &format!("{NS}/pods/loose"), JSON, "")
        .await;
    assert_eq!(
        f.call(Method::GET, &format!("{NS}/pods/loose"), JSON, "")
            .await
            .0,
        404
    );
    // The node agent confirms with grace period 0.
    f.call(
        Method::DELETE,
        &format!("{NS}/pods/bound?gracePeriodSeconds=0"),
        JSON,
        "",
    )
    .await;
    assert_eq!(
        f.call(Method::GET, &format!("{NS}/pods/bound"), JSON, "")
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn binding_sets_the_node_once_and_a_second_binding_conflicts() {
    let f = Fixture::new().await;
    let (_, created) = f
        .call(Method::POST, &format!("{NS}/pods"), JSON, pod("p", None))
        .await;
    assert_eq!(created["spec"]["restartPolicy"], "Always", "defaulted");
    assert_eq!(created["status"]["phase"], "Pending");
    let binding = |node: &str| {
        json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"kind": "Node", "name": node}}).to_string()
    };
    assert_eq!(
        f.call(
            Method::POST,
            &format!("{NS}/pods/p/binding"),
            JSON,
            binding("n1")
        )
        .await
        .0,
        201
    );
    let (_, bound) = f.call(Method::GET, &format!("{NS}/pods/p"), JSON, "").await;
    assert_eq!(bound["spec"]["nodeName"], "n1");
    let got = f
        .call(
            Method::POST,
            &format!("{NS}/pods/p/binding"),
            JSON,
            binding("n2"),
        )
        .await;
    assert_eq!((got.0, got.1["reason"].clone()), (409, json!("Conflict")));
}

#[tokio::test]
async fn a_requested_cluster_ip_in_use_is_refused_and_a_freed_one_is_reusable() {
    let f = Fixture::new().await;
    let svc = |name: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"clusterIP": "10.43.7.7", "ports": [{"port": 80}]}})
        .to_string()
    };
    assert_eq!(
        f.call(Method::POST, &format!("{NS}/services"), JSON, svc("a"))
            .await
            .0,
        201
    );
    let got = f
        .call(Method::POST, &format!("{NS}/services"), JSON, svc("b"))
        .await;
    assert_eq!(got.0, 422);
    assert!(
        got.1["message"]
            .as_str()
            .unwrap_or("")
            .contains("provided IP is already allocated"),
        "{}",
        got.1
    );
    f.call(Method::DELETE, &format!("{NS}/services/a"), JSON, "")
        .await;
    assert_eq!(
        f.call(Method::POST, &format!("{NS}/services"), JSON, svc("b"))
            .await
            .0,
        201
    );
}

const APPLY: &str = "application/apply-patch+yaml";

fn applied_deploy(replicas: i64, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: {image}\n"
    )
}

#[tokio::test]
async fn server_side_apply_creates_then_detects_conflicts_between_managers() {
    let f = Fixture::new().await;
    let url = "/apis/apps/v1/namespaces/default/deployments/web";
    let (code, created) = f
        .call(
            Method::PATCH,
            &format!("{url}?fieldManager=alice"),
            APPLY,
            applied_deploy(3, "busybox:1"),
        )
        .await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["metadata"]["managedFields"][0]["manager"], "alice");
    assert_eq!(
        created["metadata"]["managedFields"][0]["operation"],
        "Apply"
    );

    let (code, err) = f
        .call(
            Method::PATCH,
            &format!("{url}?fieldManager=bob"),
            APPLY,
            applied_deploy(5, "busybox:1"),
        )
        .await;
    assert_eq!((code, err["reason"].clone()), (409, json!("Conflict")));
    let msg = err["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("conflict with \"alice\"") && msg.contains(".spec.replicas"),
        "{msg}"
    );

    let (code, forced) = f
        .call(
            Method::PATCH,
            &format!("{url}?fieldManager=bob&force=true"),
            APPLY,
            applied_deploy(5, "busybox:1"),
        )
        .await;
    assert_eq!((code, forced["spec"]["replicas"].clone()), (200, json!(5)));
    let (code, missing) = f
        .call(Method::PATCH, url, APPLY, applied_deploy(5, "busybox:1"))
        .await;
    assert_eq!(
        (code, missing["reason"].clone()),
        (422, json!("Invalid")),
        "fieldManager is required"
    );
}

#[tokio::test]
async fn reapplying_without_a_field_removes_it() {
    let f = Fixture::new().await;
    let url = "/api/v1/namespaces/default/configmaps/cfg?fieldManager=me";
    let first =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: '1'\n  b: '2'\n";
    assert_eq!(f.call(Method::PATCH, url, APPLY, first).await.0, 201);
    let second = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: '1'\n";
    let (code, obj) = f.call(Method::PATCH, url, APPLY, second).await;
    assert_eq!(code, 200);
    assert_eq!(obj["data"], json!({"a": "1"}));
}

#[tokio::test]
async fn one_event_store_serves_core_and_events_api_views_with_their_selectors() {
    let f = Fixture::new().await;
    let ev = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "p.1"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
        "reason": "Started", "message": "Started container", "type": "Normal",
        "source": {"component": "kubelet"}, "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z", "count": 1});
    assert_eq!(
        f.call(Method::POST, &format!("{NS}/events"), JSON, ev.to_string())
            .await
            .0,
        201
    );
    let events_api = "/apis/events.k8s.io/v1/namespaces/default/events";
    let (_, got) = f
        .call(Method::GET, &format!("{events_api}/p.1"), JSON, "")
        .await;
    assert_eq!(got["apiVersion"], "events.k8s.io/v1");
    assert_eq!(
        (got["regarding"]["name"].clone(), got["note"].clone()),
        (json!("p"), json!("Started container"))
    );
    let (_, list) = f
        .call(
            Method::GET,
            &format!("{events_api}?fieldSelector=regarding.name%3Dp"),
            JSON,
            "",
        )
        .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    let (_, none) = f
        .call(
            Method::GET,
            &format!("{events_api}?fieldSelector=regarding.name%3Dq"),
            JSON,
            "",
        )
        .await;
    assert_eq!(none["items"].as_array().map(Vec::len), Some(0));
    let (_, core) = f
        .call(
            Method::GET,
            &format!("{NS}/events?fieldSelector=involvedObject.name%3Dp,involvedObject.kind%3DPod"),
            JSON,
            "",
        )
        .await;
    assert_eq!(core["items"][0]["message"], "Started container");
}

/// Regression: a DELETE that marks an object (finalizers) raced a
/// controller's status writes and answered 409 instead of retrying.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_racing_status_writes_still_succeeds() {
    let f = std::sync::Arc::new(Fixture::new().await);
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "busy"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "b"}},
            "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}}});
    let url = "/apis/apps/v1/namespaces/default/deployments/busy";
    assert_eq!(
        f.call(
            Method::POST,
            "/apis/apps/v1/namespaces/default/deployments",
            JSON,
            d.to_string()
        )
        .await
        .0,
        201
    );
    let writer = {
        let f = f.clone();
        tokio::spawn(async move {
            for i in 0..300 {
                let patch = format!(r#"{{"status":{{"observedGeneration":{i}}}}}"#);
                let (code, _) = f
                    .call(
                        Method::PATCH,
                        &format!("{url}/status"),
                        "application/merge-patch+json",
                        patch,
                    )
                    .await;
                if code == 404 {
                    break;
                }
            }
        })
    };
    for name in ["busy"] {
        let body =
            json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"})
                .to_string();
        let (code, obj) = f
            .call(
                Method::DELETE,
                &format!("/apis/apps/v1/namespaces/default/deployments/{name}"),
                JSON,
                body,
            )
            .await;
        assert_eq!(code, 200, "{obj}");
        assert_eq!(obj["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    }
    writer.await.expect("writer");
}
