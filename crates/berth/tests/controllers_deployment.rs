//! The Deployment controller against a real `berth server` with the fake
//! kubelet: rolling updates that never dip below the wanted availability,
//! Recreate without overlap, scaling, and the progress deadline.

mod controllers_support;

use std::sync::{Arc, Mutex};

use berth_testkit::{OUTCOME_ANNOTATION, eventually};
use controllers_support::{Cluster, TIMEOUT, available, deployment, from_json, watch_pods};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

async fn complete(api: &Api<Deployment>, name: &str, replicas: i32) -> Deployment {
    eventually(
        &format!("deployment {name} complete with {replicas}"),
        TIMEOUT,
        || async {
            let d = api.get(name).await.ok()?;
            let s = d.status.clone()?;
            let progressing = s.conditions.as_ref()?.iter().any(|c| {
                c.type_ == "Progressing" && c.reason.as_deref() == Some("NewReplicaSetAvailable")
            });
            (s.observed_generation == d.metadata.generation
                && s.updated_replicas == Some(replicas)
                && s.replicas == Some(replicas)
                && s.available_replicas == Some(replicas)
                && progressing)
                .then_some(d)
        },
    )
    .await
}

fn set_image(image: &str) -> Patch<serde_json::Value> {
    Patch::Strategic(
        json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_with_surge_never_drops_below_the_wanted_available_pods() {
    let c = Cluster::start(4, &[]).await;
    let api: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    let mut d = deployment("roll", 10);
    d["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 0}});
    api.create(&PostParams::default(), &from_json(d))
        .await
        .expect("create");
    complete(&api, "roll", 10).await;
    let low = Arc::new(Mutex::new(usize::MAX));
    let l = low.clone();
    let watch = watch_pods(&c.client, "default", "roll", move |pods| {
        let mut l = l.lock().expect("lock");
        *l = (*l).min(available(pods));
    });
    eventually("the watch has listed the pods", TIMEOUT, || async {
        (*low.lock().expect("lock") != usize::MAX).then_some(())
    })
    .await;
    api.patch("roll", &PatchParams::default(), &set_image("busybox:1.37"))
        .await
        .expect("update");
    let done = complete(&api, "roll", 10).await;
    watch.abort();
    assert_eq!(
        done.metadata.annotations.expect("annotations")["deployment.kubernetes.io/revision"],
        "2"
    );
    assert!(
        *low.lock().expect("lock") >= 10,
        "available pods dropped to {}",
        low.lock().expect("lock")
    );
    let rss = Api::<ReplicaSet>::namespaced(c.client.clone(), "default")
        .list(&ListParams::default())
        .await
        .expect("rs");
    let sizes: Vec<i32> = rss
        .items
        .iter()
        .filter_map(|rs| rs.spec.as_ref()?.replicas)
        .collect();
    assert_eq!(sizes.iter().sum::<i32>(), 10, "{sizes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_never_runs_old_and_new_pods_together() {
    let c = Cluster::start(2, &[]).await;
    let api: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    let mut d = deployment("rec", 3);
    d["spec"]["strategy"] = json!({"type": "Recreate"});
    api.create(&PostParams::default(), &from_json(d))
        .await
        .expect("create");
    complete(&api, "rec", 3).await;
    let overlap = Arc::new(Mutex::new(false));
    let o = overlap.clone();
    let watch = watch_pods(&c.client, "default", "rec", move |pods| {
        let hashes: std::collections::HashSet<&String> = pods
            .values()
            .filter_map(|p| p.metadata.labels.as_ref()?.get("pod-template-hash"))
            .collect();
        if hashes.len() > 1 {
            *o.lock().expect("lock") = true;
        }
    });
    api.patch("rec", &PatchParams::default(), &set_image("busybox:1.37"))
        .await
        .expect("update");
    complete(&api, "rec", 3).await;
    c.wait_ready_pods("default", "rec", 3).await;
    watch.abort();
    assert!(
        !*overlap.lock().expect("lock"),
        "old and new pods existed at the same time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_a_deployment_resizes_its_replica_set() {
    let c = Cluster::start(2, &[]).await;
    let api: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    api.create(&PostParams::default(), &from_json(deployment("scale", 2)))
        .await
        .expect("create");
    complete(&api, "scale", 2).await;
    api.patch(
        "scale",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 6}})),
    )
    .await
    .expect("scale");
    complete(&api, "scale", 6).await;
    c.wait_ready_pods("default", "scale", 6).await;
    api.patch(
        "scale",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 0}})),
    )
    .await
    .expect("scale");
    c.wait_ready_pods("default", "scale", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_that_never_becomes_ready_exceeds_its_progress_deadline() {
    let c = Cluster::start(2, &[]).await;
    let api: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    let mut d = deployment("stuck", 2);
    d["spec"]["progressDeadlineSeconds"] = json!(3);
    d["spec"]["template"]["metadata"]["annotations"] = json!({OUTCOME_ANNOTATION: "not-ready"});
    api.create(&PostParams::default(), &from_json(d))
        .await
        .expect("create");
    let cond = eventually(
        "Progressing=False ProgressDeadlineExceeded",
        TIMEOUT,
        || async {
            let s = api.get("stuck").await.ok()?.status?;
            s.conditions?.into_iter().find(|c| {
                c.type_ == "Progressing"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
            })
        },
    )
    .await;
    assert!(
        cond.message
            .unwrap_or_default()
            .ends_with("has timed out progressing.")
    );
    let kubectl = berth_testkit::Kubectl::new(&c.server.kubeconfig());
    let err = kubectl
        .run(&["rollout", "status", "deployment/stuck", "--timeout=20s"])
        .err();
    assert!(err.contains("exceeded its progress deadline"), "{err}");
}
