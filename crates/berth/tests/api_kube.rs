//! kube-rs against the real `berth server`: CRUD, list/watch, resuming a
//! watch, optimistic concurrency, status/spec separation, pagination.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use berth_testkit::{TestServer, eventually};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{
    Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use serde_json::json;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_berth"))
}

fn cm(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("k".to_string(), "v".to_string())])),
        ..Default::default()
    }
}

async fn namespace(client: &kube::Client, name: &str) {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace created");
}

fn deployment(name: &str) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}
    }))
    .expect("valid deployment")
}

#[tokio::test]
async fn created_objects_are_listed_and_watched_in_order() {
    let server = TestServer::start(binary()).expect("server starts");
    let client = server.client().await.expect("client");
    namespace(&client, "t1").await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "t1");
    let created = api
        .create(&PostParams::default(), &cm("a", &[("app", "x")]))
        .await
        .expect("create a");
    assert!(created.metadata.uid.is_some(), "uid is set");
    assert!(
        created.metadata.creation_timestamp.is_some(),
        "creationTimestamp is set"
    );
    let rv: i64 = created
        .metadata
        .resource_version
        .clone()
        .expect("rv")
        .parse()
        .expect("numeric rv");

    let mut watch = api
        .watch(&WatchParams::default().timeout(20), &rv.to_string())
        .await
        .expect("watch")
        .boxed();
    api.create(&PostParams::default(), &cm("b", &[("app", "y")]))
        .await
        .expect("create b");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v2"}})),
    )
    .await
    .expect("patch a");
    api.delete("b", &DeleteParams::default())
        .await
        .expect("delete b");

    let mut seen = Vec::new();
    while seen.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(10), watch.try_next())
            .await
            .expect("event in time")
            .expect("stream ok");
        match ev {
            Some(WatchEvent::Added(o)) => {
                seen.push(format!("ADDED {}", o.metadata.name.unwrap_or_default()))
            }
            Some(WatchEvent::Modified(o)) => {
                seen.push(format!("MODIFIED {}", o.metadata.name.unwrap_or_default()))
            }
            Some(WatchEvent::Deleted(o)) => {
                seen.push(format!("DELETED {}", o.metadata.name.unwrap_or_default()))
            }
            Some(WatchEvent::Bookmark(_)) => {}
            Some(WatchEvent::Error(e)) => panic!("watch error {e:?}"),
            None => panic!("watch ended early after {seen:?}"),
        }
    }
    assert_eq!(seen, ["ADDED b", "MODIFIED a", "DELETED b"]);

    let listed = api
        .list(&ListParams::default().labels("app=x"))
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 1);
    assert_eq!(
        listed.items[0]
            .data
            .as_ref()
            .and_then(|d| d.get("k"))
            .map(String::as_str),
        Some("v2")
    );
}

#[tokio::test]
async fn a_watch_resumed_from_a_resource_version_misses_nothing() {
    let server = TestServer::start(binary()).expect("server starts");
    let client = server.client().await.expect("client");
    namespace(&client, "t2").await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "t2");
    let first = api
        .create(&PostParams::default(), &cm("c0", &[]))
        .await
        .expect("create");
    let resume_from = first.metadata.resource_version.expect("rv");
    for i in 1..=5 {
        api.create(&PostParams::default(), &cm(&format!("c{i}"), &[]))
            .await
            .expect("create");
    }
    // A client that saw c0 and then lost its connection resumes from c0's revision.
    let stream = api
        .watch(&WatchParams::default().timeout(10), &resume_from)
        .await
        .expect("watch");
    let names: Vec<String> = stream
        .take(5)
        .map(|ev| match ev.expect("event") {
            WatchEvent::Added(o) => o.metadata.name.unwrap_or_default(),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
        .await;
    assert_eq!(names, ["c1", "c2", "c3", "c4", "c5"]);
}

#[tokio::test]
async fn an_update_with_a_stale_resource_version_is_a_conflict() {
    let server = TestServer::start(binary()).expect("server starts");
    let client = server.client().await.expect("client");
    namespace(&client, "t3").await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "t3");
    let original = api
        .create(&PostParams::default(), &cm("x", &[]))
        .await
        .expect("create");
    let mut first = original.clone();
    first.data = Some(BTreeMap::from([("k".into(), "first".into())]));
    let updated = api
        .replace("x", &PostParams::default(), &first)
        .await
        .expect("first update wins");
    assert_ne!(
        updated.metadata.resource_version,
        original.metadata.resource_version
    );

    let mut stale = original.clone();
    stale.data = Some(BTreeMap::from([("k".into(), "stale".into())]));
    let err = api
        .replace("x", &PostParams::default(), &stale)
        .await
        .expect_err("stale update refused");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
        }
        other => panic!("unexpected error {other:?}"),
    }
    let now = api.get("x").await.expect("get");
    assert_eq!(
        now.data.and_then(|d| d.get("k").cloned()).as_deref(),
        Some("first")
    );
}

#[tokio::test]
async fn status_and_spec_are_written_through_separate_endpoints() {
    let server = TestServer::start(binary()).expect("server starts");
    let client = server.client().await.expect("client");
    namespace(&client, "t4").await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "t4");
    let created = api
        .create(&PostParams::default(), &deployment("web"))
        .await
        .expect("create");
    assert_eq!(created.metadata.generation, Some(1));

    // A status write cannot change the spec...
    let status_patch =
        json!({"spec": {"replicas": 7}, "status": {"replicas": 3, "observedGeneration": 1}});
    let after_status = api
        .patch_status("web", &PatchParams::default(), &Patch::Merge(status_patch))
        .await
        .expect("status patch");
    assert_eq!(after_status.spec.as_ref().and_then(|s| s.replicas), Some(1));
    assert_eq!(
        after_status.status.as_ref().and_then(|s| s.replicas),
        Some(3)
    );
    assert_eq!(
        after_status.metadata.generation,
        Some(1),
        "status writes do not bump generation"
    );

    // ...and a spec write cannot change the status, but bumps generation.
    let spec_patch = json!({"spec": {"replicas": 4}, "status": {"replicas": 99}});
    let after_spec = api
        .patch("web", &PatchParams::default(), &Patch::Merge(spec_patch))
        .await
        .expect("spec patch");
    assert_eq!(after_spec.spec.as_ref().and_then(|s| s.replicas), Some(4));
    assert_eq!(after_spec.status.as_ref().and_then(|s| s.replicas), Some(3));
    assert_eq!(after_spec.metadata.generation, Some(2));
}

#[tokio::test]
async fn pagination_returns_a_thousand_objects_exactly_once() {
    let server = TestServer::start(binary()).expect("server starts");
    let client = server.client().await.expect("client");
    namespace(&client, "t5").await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "t5");
    let tasks: Vec<_> = (0..8)
        .map(|w| {
            let api = api.clone();
            tokio::spawn(async move {
                for i in (w * 125)..((w + 1) * 125) {
                    api.create(&PostParams::default(), &cm(&format!("p{i:04}"), &[]))
                        .await
                        .expect("create");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("writer");
    }
    let mut names = Vec::new();
    let mut params = ListParams::default().limit(77);
    let mut pages = 0;
    let mut page_rv = None;
    loop {
        let page = api.list(&params).await.expect("page");
        pages += 1;
        // Every page is read at the revision of the first one.
        let rv = page.metadata.resource_version.clone();
        assert_eq!(*page_rv.get_or_insert(rv.clone()), rv);
        names.extend(page.items.into_iter().filter_map(|c| c.metadata.name));
        // Writes between pages must not show up in later pages.
        if pages == 2 {
            api.create(&PostParams::default(), &cm("p9999-late", &[]))
                .await
                .expect("late create");
        }
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => params = params.continue_token(&c),
            _ => break,
        }
    }
    assert_eq!(pages, 13, "1000 objects in pages of 77");
    let mut sorted = names.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 1000, "each object exactly once");
    assert!(!names.iter().any(|n| n == "p9999-late"));
    let all = eventually(
        "the late object in a fresh list",
        Duration::from_secs(5),
        || {
            let api = api.clone();
            async move {
                api.list(&ListParams::default())
                    .await
                    .ok()
                    .filter(|l| l.items.len() == 1001)
            }
        },
    )
    .await;
    assert_eq!(all.items.len(), 1001);
}
