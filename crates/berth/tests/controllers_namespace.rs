//! The namespace controller against a real `berth server`: deleting a
//! namespace deletes its content and then the namespace; content held by
//! a finalizer keeps it Terminating with conditions that say why.

mod controllers_support;

use berth_testkit::eventually;
use controllers_support::{Cluster, TIMEOUT, deployment, from_json};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn condition(ns: &Namespace, type_: &str) -> Option<(String, String)> {
    let c = ns
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)?;
    Some((c.status.clone(), c.message.clone().unwrap_or_default()))
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_content_then_the_namespace() {
    let c = Cluster::start(1, &[]).await;
    c.namespace("doomed").await;
    let d: Api<Deployment> = Api::namespaced(c.client.clone(), "doomed");
    d.create(&PostParams::default(), &from_json(deployment("web", 2)))
        .await
        .expect("deployment");
    c.wait_ready_pods("doomed", "web", 2).await;
    let cm: Api<ConfigMap> = Api::namespaced(c.client.clone(), "doomed");
    cm.create(
        &PostParams::default(),
        &from_json(json!({"metadata": {"name": "cfg"}})),
    )
    .await
    .expect("cm");
    let namespaces: Api<Namespace> = Api::all(c.client.clone());
    namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .expect("delete");
    eventually("the namespace is gone", TIMEOUT, || async {
        namespaces
            .get_opt("doomed")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_namespace_stuck_on_a_finalizer_says_which_and_finishes_once_it_is_removed() {
    let c = Cluster::start(1, &[]).await;
    c.namespace("stuck").await;
    let cm: Api<ConfigMap> = Api::namespaced(c.client.clone(), "stuck");
    let held = json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}});
    cm.create(&PostParams::default(), &from_json(held))
        .await
        .expect("cm");
    let namespaces: Api<Namespace> = Api::all(c.client.clone());
    namespaces
        .delete("stuck", &DeleteParams::default())
        .await
        .expect("delete");
    let ns = eventually(
        "conditions explain the stuck namespace",
        TIMEOUT,
        || async {
            let ns = namespaces.get("stuck").await.ok()?;
            let (status, _) = condition(&ns, "NamespaceFinalizersRemaining")?;
            (status == "True").then_some(ns)
        },
    )
    .await;
    assert_eq!(
        ns.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Terminating")
    );
    assert_eq!(
        condition(&ns, "NamespaceFinalizersRemaining").map(|c| c.1),
        Some("Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances".into())
    );
    assert_eq!(
        condition(&ns, "NamespaceContentRemaining"),
        Some((
            "True".into(),
            "Some resources are remaining: configmaps. has 1 resource instances".into()
        ))
    );
    cm.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("remove the finalizer");
    eventually("the namespace is gone", TIMEOUT, || async {
        namespaces
            .get_opt("stuck")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
}
