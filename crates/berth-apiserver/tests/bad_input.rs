//! Bad input gets the upstream Status code and reason, and writes nothing.
//! Requests go through the real handler (no socket) to a real SQLite store.

mod support;

use berth_apiserver::handle;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use support::{Fixture, JSON, admin};

fn assert_status(got: &(u16, Value), code: u16, reason: &str) {
    assert_eq!(got.0, code, "{}", got.1);
    assert_eq!(got.1["kind"], "Status");
    assert_eq!(got.1["status"], "Failure");
    assert_eq!(got.1["code"], code);
    assert_eq!(got.1["reason"], reason, "{}", got.1);
}

#[tokio::test]
async fn malformed_json_is_a_bad_request_and_writes_nothing() {
    let f = Fixture::new().await;
    let before = f.revision().await;
    let got = f
        .call(
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            JSON,
            "{not json",
        )
        .await;
    assert_status(&got, 400, "BadRequest");
    assert_eq!(f.revision().await, before);
}

#[tokio::test]
async fn a_wrong_field_type_is_a_bad_request() {
    let f = Fixture::new().await;
    let body = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": "three"}});
    let got = f
        .call(
            Method::POST,
            "/apis/apps/v1/namespaces/default/deployments",
            JSON,
            body.to_string(),
        )
        .await;
    assert_status(&got, 400, "BadRequest");
}

#[tokio::test]
async fn an_unknown_field_with_strict_validation_is_a_bad_request() {
    let f = Fixture::new().await;
    let before = f.revision().await;
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "dta": {"a": "b"}});
    let got = f
        .call(
            Method::POST,
            "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
            JSON,
            body.to_string(),
        )
        .await;
    assert_status(&got, 400, "BadRequest");
    assert!(
        got.1["message"]
            .as_str()
            .unwrap_or("")
            .contains("unknown field \"dta\""),
        "{}",
        got.1
    );
    assert_eq!(f.revision().await, before);
}

#[tokio::test]
async fn requests_without_credentials_are_unauthorized_except_health_and_version() {
    let f = Fixture::new().await;
    let got = f
        .call_as(None, Method::GET, "/api/v1/namespaces", JSON, "")
        .await;
    assert_status(&got, 401, "Unauthorized");
    let health = f.call_as(None, Method::GET, "/healthz", JSON, "").await;
    assert_eq!(health.0, 200);
    let version = f.call_as(None, Method::GET, "/version", JSON, "").await;
    assert_eq!((version.0, version.1["major"].clone()), (200, json!("1")));
}

#[tokio::test]
async fn missing_objects_resources_and_namespaces_are_not_found() {
    let f = Fixture::new().await;
    let got = f
        .call(
            Method::GET,
            "/api/v1/namespaces/default/configmaps/nope",
            JSON,
            "",
        )
        .await;
    assert_status(&got, 404, "NotFound");
    assert_eq!(got.1["message"], "configmaps \"nope\" not found");
    assert_eq!(got.1["details"]["name"], "nope");
    assert_status(
        &f.call(Method::GET, "/apis/apps/v1/frobs", JSON, "").await,
        404,
        "NotFound",
    );
    let before = f.revision().await;
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let got = f
        .call(
            Method::POST,
            "/api/v1/namespaces/ghost/configmaps",
            JSON,
            body.to_string(),
        )
        .await;
    assert_status(&got, 404, "NotFound");
    assert_eq!(got.1["message"], "namespaces \"ghost\" not found");
    assert_eq!(f.revision().await, before);
}

#[tokio::test]
async fn a_method_the_resource_does_not_serve_is_not_allowed() {
    let f = Fixture::new().await;
    let got = f
        .call(
            Method::POST,
            "/api/v1/namespaces/default/configmaps/named",
            JSON,
            "{}",
        )
        .await;
    assert_status(&got, 405, "MethodNotAllowed");
    let got = f
        .call(
            Method::PUT,
            "/api/v1/namespaces/default/configmaps",
            JSON,
            "{}",
        )
        .await;
    assert_status(&got, 405, "MethodNotAllowed");
}

#[tokio::test]
async fn creating_twice_is_already_exists_and_a_stale_update_is_a_conflict() {
    let f = Fixture::new().await;
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
    let (code, created) = f
        .call(
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            JSON,
            body.to_string(),
        )
        .await;
    assert_eq!(code, 201);
    let before = f.revision().await;
    let got = f
        .call(
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            JSON,
            body.to_string(),
        )
        .await;
    assert_status(&got, 409, "AlreadyExists");
    assert_eq!(got.1["message"], "configmaps \"c\" already exists");
    let mut stale = created.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    stale["data"]["a"] = json!("2");
    let got = f
        .call(
            Method::PUT,
            "/api/v1/namespaces/default/configmaps/c",
            JSON,
            stale.to_string(),
        )
        .await;
    assert_status(&got, 409, "Conflict");
    assert_eq!(f.revision().await, before);
}

#[tokio::test]
async fn a_watch_from_a_compacted_revision_ends_with_an_expired_error_event() {
    let f = Fixture::new().await;
    for i in 0..3 {
        let body =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}")}});
        f.call(
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            JSON,
            body.to_string(),
        )
        .await;
    }
    let rev = f.revision().await;
    f.state.store.compact(rev).await.expect("compact");
    let req = Request::builder()
        .uri("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let resp = handle(f.state.clone(), admin(), req).await;
    assert_eq!(resp.status().as_u16(), 200);
    let bytes = resp
        .into_body()
        .collect()
        .await
        .expect("stream ends")
        .to_bytes();
    let event: Value =
        serde_json::from_slice(bytes.split(|b| *b == b'\n').next().unwrap_or(b"")).expect("event");
    assert_eq!(event["type"], "ERROR");
    assert_eq!(event["object"]["code"], 410);
    assert_eq!(event["object"]["reason"], "Expired");
    // A list continuing from a compacted revision is 410 Gone too.
    let list = f
        .call(
            Method::GET,
            "/api/v1/namespaces/default/configmaps?limit=1",
            JSON,
            "",
        )
        .await;
    let token = list.1["metadata"]["continue"]
        .as_str()
        .expect("continue token")
        .to_string();
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "later"}});
    f.call(
        Method::POST,
        "/api/v1/namespaces/default/configmaps",
        JSON,
        body.to_string(),
    )
    .await;
    f.state
        .store
        .compact(f.revision().await)
        .await
        .expect("compact");
    let got = f
        .call(
            Method::GET,
            &format!("/api/v1/namespaces/default/configmaps?limit=1&continue={token}"),
            JSON,
            "",
        )
        .await;
    assert_status(&got, 410, "Expired");
}

#[tokio::test]
async fn a_body_over_three_mebibytes_is_too_large_and_writes_nothing() {
    let f = Fixture::new().await;
    let before = f.revision().await;
    let big = "x".repeat(3 * 1024 * 1024 + 1);
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"a": big}});
    let got = f
        .call(
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            JSON,
            body.to_string(),
        )
        .await;
    assert_status(&got, 413, "RequestEntityTooLarge");
    assert_eq!(f.revision().await, before);
}

#[tokio::test]
async fn an_invalid_object_lists_every_bad_field_and_writes_nothing() {
    let f = Fixture::new().await;
    let before = f.revision().await;
    let body = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "Bad_Name", "labels": {"bad key!": "v"}},
        "spec": {"replicas": -1, "selector": {"matchLabels": {"app": "a"}},
            "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "c"}]}}}});
    let got = f
        .call(
            Method::POST,
            "/apis/apps/v1/namespaces/default/deployments",
            JSON,
            body.to_string(),
        )
        .await;
    assert_status(&got, 422, "Invalid");
    let fields: Vec<&str> = got.1["details"]["causes"]
        .as_array()
        .expect("causes")
        .iter()
        .filter_map(|c| c["field"].as_str())
        .collect();
    for want in [
        "metadata.name",
        "metadata.labels",
        "spec.replicas",
        "spec.template.metadata.labels",
        "spec.template.spec.containers[0].image",
    ] {
        assert!(fields.contains(&want), "missing {want} in {fields:?}");
    }
    assert!(
        got.1["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("Deployment.apps \"Bad_Name\" is invalid: ["),
        "{}",
        got.1["message"]
    );
    assert_eq!(f.revision().await, before);
}

#[tokio::test]
async fn too_many_requests_in_flight_get_429_with_retry_after() {
    let f = Fixture::with(|c| c.max_requests_inflight = 1).await;
    let _held = f.state.inflight.acquire().await.expect("permit");
    let req = Request::builder()
        .uri("/api/v1/namespaces")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let resp = handle(f.state.clone(), admin(), req).await;
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let body: Value =
        serde_json::from_slice(&resp.into_body().collect().await.expect("body").to_bytes())
            .expect("json");
    assert_eq!(body["reason"], "TooManyRequests");
}

#[tokio::test]
async fn a_create_in_a_terminating_namespace_is_forbidden() {
    let f = Fixture::new().await;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "going"}});
    assert_eq!(
        f.call(Method::POST, "/api/v1/namespaces", JSON, ns.to_string())
            .await
            .0,
        201
    );
    let (code, deleted) = f
        .call(Method::DELETE, "/api/v1/namespaces/going", JSON, "")
        .await;
    assert_eq!(code, 200);
    assert_eq!(deleted["status"]["phase"], "Terminating");
    let before = f.revision().await;
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let got = f
        .call(
            Method::POST,
            "/api/v1/namespaces/going/configmaps",
            JSON,
            body.to_string(),
        )
        .await;
    assert_status(&got, 403, "Forbidden");
    assert!(
        got.1["message"]
            .as_str()
            .unwrap_or("")
            .contains("because it is being terminated")
    );
    assert_eq!(f.revision().await, before);
}
