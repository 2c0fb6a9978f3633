//! An acknowledged write survives `kill -9`: many writers, the server killed
//! mid-stream, restarted on the same data dir; every 2xx write is there and
//! resourceVersions only grow.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use berth_testkit::{TestServer, eventually};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use tokio::sync::Mutex;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_write_survives_kill_dash_nine() {
    let mut server =
        TestServer::start(Path::new(env!("CARGO_BIN_EXE_berth"))).expect("server starts");
    let client = server.client().await.expect("client");
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some("crash".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace");

    // Writers record every object the server acknowledged, with its revision.
    let acked: Arc<Mutex<BTreeMap<String, i64>>> = Arc::default();
    let writers: Vec<_> = (0..32)
        .map(|w| {
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), "crash");
            let acked = acked.clone();
            tokio::spawn(async move {
                for i in 0.. {
                    let name = format!("w{w}-{i}");
                    let cm = ConfigMap {
                        metadata: ObjectMeta {
                            name: Some(name.clone()),
                            ..Default::default()
                        },
                        data: Some(BTreeMap::from([("i".to_string(), i.to_string())])),
                        ..Default::default()
                    };
                    match api.create(&PostParams::default(), &cm).await {
                        Ok(created) => {
                            let rv = created
                                .metadata
                                .resource_version
                                .and_then(|r| r.parse().ok())
                                .unwrap_or(0);
                            acked.lock().await.insert(name, rv);
                        }
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    eventually(
        "two thousand acknowledged writes",
        Duration::from_secs(60),
        || {
            let acked = acked.clone();
            async move { (acked.lock().await.len() >= 2000).then_some(()) }
        },
    )
    .await;
    server.kill();
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().await.clone();
    let highest_acked = acked.values().copied().max().unwrap_or(0);

    server.restart().expect("server restarts");
    let client = server.client().await.expect("client after restart");
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "crash");
    let list = api
        .list(&ListParams::default())
        .await
        .expect("list after restart");
    let stored: BTreeMap<String, i64> = list
        .items
        .iter()
        .filter_map(|c| {
            Some((
                c.metadata.name.clone()?,
                c.metadata.resource_version.as_ref()?.parse().ok()?,
            ))
        })
        .collect();
    let lost: Vec<&String> = acked.keys().filter(|k| !stored.contains_key(*k)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost, e.g. {:?}",
        lost.len(),
        lost.iter().take(5).collect::<Vec<_>>()
    );
    for (name, rv) in &acked {
        assert_eq!(
            stored.get(name),
            Some(rv),
            "{name} kept its acknowledged resourceVersion"
        );
    }
    let list_rv: i64 = list
        .metadata
        .resource_version
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    assert!(
        list_rv >= highest_acked,
        "list revision {list_rv} below acknowledged {highest_acked}"
    );
    let after = api
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: ObjectMeta {
                    name: Some("after".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .expect("write after restart");
    let after_rv: i64 = after
        .metadata
        .resource_version
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    assert!(
        after_rv > list_rv,
        "revisions keep growing after restart: {after_rv} <= {list_rv}"
    );
}
