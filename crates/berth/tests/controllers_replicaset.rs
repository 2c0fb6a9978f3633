//! The ReplicaSet controller against a real `berth server`, with the fake
//! kubelet: scaling, self-healing, adoption and release.

mod controllers_support;

use berth_testkit::eventually;
use controllers_support::{Cluster, TIMEOUT, from_json, replica_set};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

#[tokio::test]
async fn replica_set_scales_up_and_down_and_reports_status() {
    let c = Cluster::start(3, &[]).await;
    let rs: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    rs.create(&PostParams::default(), &from_json(replica_set("web", 3)))
        .await
        .expect("create");
    c.wait_ready_pods("default", "web", 3).await;
    eventually("status.availableReplicas == 3", TIMEOUT, || async {
        let s = rs.get("web").await.ok()?.status?;
        (s.available_replicas == Some(3)
            && s.ready_replicas == Some(3)
            && s.replicas == 3
            && s.fully_labeled_replicas == Some(3)
            && s.observed_generation == Some(1))
        .then_some(())
    })
    .await;
    rs.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 5}})),
    )
    .await
    .expect("scale up");
    c.wait_ready_pods("default", "web", 5).await;
    rs.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 1}})),
    )
    .await
    .expect("scale down");
    c.wait_ready_pods("default", "web", 1).await;
    eventually("status.replicas == 1", TIMEOUT, || async {
        let s = rs.get("web").await.ok()?.status?;
        (s.replicas == 1 && s.observed_generation == Some(3)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn replica_set_replaces_a_deleted_pod() {
    let c = Cluster::start(2, &[]).await;
    let rs: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    rs.create(&PostParams::default(), &from_json(replica_set("heal", 2)))
        .await
        .expect("create");
    let pods = c.wait_ready_pods("default", "heal", 2).await;
    let victim = pods[0].metadata.name.clone().expect("name");
    Api::<Pod>::namespaced(c.client.clone(), "default")
        .delete(&victim, &DeleteParams::default())
        .await
        .expect("delete a pod");
    let healed = c.wait_ready_pods("default", "heal", 2).await;
    assert!(
        healed
            .iter()
            .all(|p| p.metadata.name.as_deref() != Some(&victim))
    );
}

#[tokio::test]
async fn replica_set_adopts_matching_orphans_and_releases_relabelled_pods() {
    let c = Cluster::start(1, &[]).await;
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let orphan: Pod = from_json(
        json!({"metadata": {"name": "orphan", "labels": {"app": "adopt"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}),
    );
    pods.create(&PostParams::default(), &orphan)
        .await
        .expect("orphan");
    let rs: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    let created = rs
        .create(&PostParams::default(), &from_json(replica_set("adopt", 2)))
        .await
        .expect("rs");
    let uid = created.metadata.uid.expect("uid");
    let adopted = eventually("the orphan is adopted", TIMEOUT, || async {
        let p = pods.get("orphan").await.ok()?;
        let owner = p.metadata.owner_references.as_ref()?.first()?.clone();
        (owner.uid == uid && owner.controller == Some(true)).then_some(p)
    })
    .await;
    assert_eq!(adopted.metadata.owner_references.map(|r| r.len()), Some(1));
    c.wait_ready_pods("default", "adopt", 2).await;
    pods.patch(
        "orphan",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "gone"}}})),
    )
    .await
    .expect("relabel");
    eventually("the relabelled pod is released", TIMEOUT, || async {
        let p = pods.get("orphan").await.ok()?;
        p.metadata
            .owner_references
            .unwrap_or_default()
            .is_empty()
            .then_some(())
    })
    .await;
    c.wait_ready_pods("default", "adopt", 2).await;
}
