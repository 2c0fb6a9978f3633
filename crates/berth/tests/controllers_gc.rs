//! The garbage collector against a real `berth server`: cascading deletion
//! of a Deployment in the three propagation modes, through kubectl and
//! kube-rs.

mod controllers_support;

use berth_testkit::{Kubectl, eventually};
use controllers_support::{Cluster, TIMEOUT, deployment, from_json};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, PostParams, PropagationPolicy};

async fn deployed(c: &Cluster, name: &str) -> (Api<Deployment>, Api<ReplicaSet>, Api<Pod>) {
    let d: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    d.create(&PostParams::default(), &from_json(deployment(name, 2)))
        .await
        .expect("create");
    c.wait_ready_pods("default", name, 2).await;
    (
        d,
        Api::namespaced(c.client.clone(), "default"),
        Api::namespaced(c.client.clone(), "default"),
    )
}

fn by_app(app: &str) -> ListParams {
    ListParams::default().labels(&format!("app={app}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_delete_deployment_removes_its_replica_sets_and_pods() {
    let c = Cluster::start(2, &[]).await;
    let (_, rs, pods) = deployed(&c, "bg").await;
    Kubectl::new(&c.server.kubeconfig())
        .run(&["delete", "deployment", "bg"])
        .ok();
    eventually("replica sets and pods collected", TIMEOUT, || async {
        let r = rs.list(&by_app("bg")).await.ok()?.items.len();
        let p = pods.list(&by_app("bg")).await.ok()?.items.len();
        (r == 0 && p == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_deletion_keeps_the_owner_until_its_dependents_are_gone() {
    let c = Cluster::start(2, &[]).await;
    let (d, rs, pods) = deployed(&c, "fg").await;
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Foreground),
        ..Default::default()
    };
    d.delete("fg", &dp).await.expect("delete");
    let saw_finalizer = std::sync::atomic::AtomicBool::new(false);
    eventually("the deployment is gone", TIMEOUT, || async {
        match d.get_opt("fg").await.ok()? {
            Some(obj) => {
                let fg = obj.metadata.finalizers.unwrap_or_default();
                if fg.iter().any(|f| f == "foregroundDeletion") {
                    saw_finalizer.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                None
            }
            None => Some(()),
        }
    })
    .await;
    assert!(
        saw_finalizer.into_inner(),
        "the deployment waited with the foregroundDeletion finalizer"
    );
    assert!(
        pods.list(&by_app("fg"))
            .await
            .expect("pods")
            .items
            .is_empty(),
        "pods went before their owner"
    );
    assert!(
        rs.list(&by_app("fg")).await.expect("rs").items.is_empty(),
        "replica sets went before their owner"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_deletion_leaves_the_replica_set_without_owner_references() {
    let c = Cluster::start(2, &[]).await;
    let (d, rs, pods) = deployed(&c, "orph").await;
    Kubectl::new(&c.server.kubeconfig())
        .run(&["delete", "deployment", "orph", "--cascade=orphan"])
        .ok();
    eventually("the deployment is gone", TIMEOUT, || async {
        d.get_opt("orph").await.ok()?.is_none().then_some(())
    })
    .await;
    let orphaned = eventually("the replica set is orphaned", TIMEOUT, || async {
        let items = rs.list(&by_app("orph")).await.ok()?.items;
        (items.len() == 1
            && items[0]
                .metadata
                .owner_references
                .clone()
                .unwrap_or_default()
                .is_empty())
        .then_some(items)
    })
    .await;
    let rs_uid = orphaned[0].metadata.uid.clone().expect("uid");
    let p = pods.list(&by_app("orph")).await.expect("pods").items;
    assert_eq!(p.len(), 2, "pods stay");
    for pod in p {
        let owner = pod.metadata.owner_references.unwrap_or_default();
        assert_eq!(
            owner.first().map(|r| r.uid.clone()),
            Some(rs_uid.clone()),
            "pods keep their replica set"
        );
    }
}
