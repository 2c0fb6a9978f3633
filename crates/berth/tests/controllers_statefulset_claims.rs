//! StatefulSet claims against a real `berth server`, the fake kubelet and
//! a real controller manager: one claim per pod and template, created
//! before the pod, kept when the pod is replaced, and deleted as
//! `persistentVolumeClaimRetentionPolicy` says (by the garbage collector,
//! through owner references).

mod controllers_support;

use std::collections::BTreeMap;

use berth_testkit::eventually;
use controllers_support::{Cluster, TIMEOUT, from_json, stateful_set};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

fn with_claims(mut set: Value) -> Value {
    set["spec"]["volumeClaimTemplates"] = json!([{"metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}}}}]);
    set["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] =
        json!([{"name": "data", "mountPath": "/data"}]);
    set
}

fn claim_of(pod: &Pod) -> Option<String> {
    pod.spec
        .as_ref()?
        .volumes
        .as_ref()?
        .iter()
        .find(|v| v.name == "data")?
        .persistent_volume_claim
        .as_ref()
        .map(|c| c.claim_name.clone())
}

#[tokio::test]
async fn claims_are_created_for_each_pod_and_kept_when_the_pod_is_replaced() {
    let c = Cluster::start(2, &[]).await;
    let sets: Api<StatefulSet> = Api::namespaced(c.client.clone(), "default");
    sets.create(
        &PostParams::default(),
        &from_json(with_claims(stateful_set("db", 2))),
    )
    .await
    .expect("create");
    let pods = c.wait_ready_pods("default", "db", 2).await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(c.client.clone(), "default");
    let mut uids = BTreeMap::new();
    for p in &pods {
        let name = format!("data-{}", p.metadata.name.as_deref().expect("name"));
        assert_eq!(claim_of(p).as_deref(), Some(name.as_str()));
        let claim = claims.get(&name).await.expect("claim exists");
        assert_eq!(claim.metadata.labels.expect("labels")["app"], "db");
        uids.insert(name, claim.metadata.uid.expect("uid"));
    }
    let pod_api: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let old = pod_api.get("db-0").await.expect("db-0");
    pod_api
        .delete("db-0", &DeleteParams::default())
        .await
        .expect("delete db-0");
    let replacement = eventually("db-0 replaced", TIMEOUT, || async {
        let p = pod_api.get("db-0").await.ok()?;
        (p.metadata.uid != old.metadata.uid && berth_controllers::pod_state::is_ready(&p))
            .then_some(p)
    })
    .await;
    assert_eq!(claim_of(&replacement).as_deref(), Some("data-db-0"));
    for (name, uid) in &uids {
        let claim = claims.get(name).await.expect("claim kept");
        assert_eq!(
            claim.metadata.uid.as_ref(),
            Some(uid),
            "{name} is the same claim"
        );
        assert!(
            claim
                .metadata
                .owner_references
                .unwrap_or_default()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn retention_policy_delete_removes_the_claims_of_scaled_away_pods() {
    let c = Cluster::start(2, &[]).await;
    let mut set = with_claims(stateful_set("ret", 3));
    set["spec"]["persistentVolumeClaimRetentionPolicy"] =
        json!({"whenScaled": "Delete", "whenDeleted": "Retain"});
    let sets: Api<StatefulSet> = Api::namespaced(c.client.clone(), "default");
    sets.create(&PostParams::default(), &from_json(set))
        .await
        .expect("create");
    c.wait_ready_pods("default", "ret", 3).await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(c.client.clone(), "default");
    let kept = claims.get("data-ret-0").await.expect("claim").metadata.uid;
    sets.patch(
        "ret",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 1}})),
    )
    .await
    .expect("scale down");
    eventually("claims of ret-1 and ret-2 deleted", TIMEOUT, || async {
        let names: Vec<String> = claims
            .list(&ListParams::default().labels("app=ret"))
            .await
            .ok()?
            .items
            .into_iter()
            .filter_map(|c| c.metadata.name)
            .collect();
        (names == ["data-ret-0"]).then_some(())
    })
    .await;
    assert_eq!(
        claims.get("data-ret-0").await.expect("kept").metadata.uid,
        kept
    );
    sets.patch(
        "ret",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 2}})),
    )
    .await
    .expect("scale up");
    c.wait_ready_pods("default", "ret", 2).await;
    claims
        .get("data-ret-1")
        .await
        .expect("a fresh claim for ret-1");
}

fn claim_names(items: Vec<PersistentVolumeClaim>) -> Vec<String> {
    items.into_iter().filter_map(|c| c.metadata.name).collect()
}

#[tokio::test]
async fn retention_policy_when_deleted_delete_removes_claims_with_the_set() {
    let c = Cluster::start(2, &[]).await;
    let mut set = with_claims(stateful_set("gone", 2));
    set["spec"]["persistentVolumeClaimRetentionPolicy"] = json!({"whenDeleted": "Delete"});
    let sets: Api<StatefulSet> = Api::namespaced(c.client.clone(), "default");
    let created = sets
        .create(&PostParams::default(), &from_json(set))
        .await
        .expect("create");
    c.wait_ready_pods("default", "gone", 2).await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(c.client.clone(), "default");
    for name in ["data-gone-0", "data-gone-1"] {
        let owners = eventually(&format!("{name} owned by the set"), TIMEOUT, || async {
            let refs = claims.get(name).await.ok()?.metadata.owner_references?;
            (!refs.is_empty()).then_some(refs)
        })
        .await;
        assert_eq!(owners.len(), 1);
        assert_eq!(owners[0].kind, "StatefulSet");
        assert_eq!(Some(&owners[0].uid), created.metadata.uid.as_ref());
    }
    sets.delete("gone", &DeleteParams::background())
        .await
        .expect("delete the set");
    eventually("the claims are collected with the set", TIMEOUT, || async {
        let items = claims
            .list(&ListParams::default().labels("app=gone"))
            .await
            .ok()?
            .items;
        claim_names(items).is_empty().then_some(())
    })
    .await;
}
