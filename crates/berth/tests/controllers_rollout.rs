//! `kubectl rollout status|history|undo|pause|resume|restart` against a
//! real `berth server` and controller manager, as on a real cluster.

mod controllers_support;

use berth_testkit::{Kubectl, eventually};
use controllers_support::{Cluster, TIMEOUT, deployment, from_json};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{Api, ListParams, PostParams};

fn image(d: &Deployment) -> String {
    d.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.containers[0].image.clone())
        .unwrap_or_default()
}

fn revision(d: &Deployment) -> String {
    d.metadata
        .annotations
        .clone()
        .unwrap_or_default()
        .remove("deployment.kubernetes.io/revision")
        .unwrap_or_default()
}

async fn rolled_out(k: &Kubectl) {
    let out = k
        .run(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .ok();
    assert!(out.contains("successfully rolled out"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rollout_undo_history_pause_resume_and_restart_work() {
    let c = Cluster::start(2, &[]).await;
    let k = Kubectl::new(&c.server.kubeconfig());
    let api: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    api.create(&PostParams::default(), &from_json(deployment("web", 2)))
        .await
        .expect("create");
    rolled_out(&k).await;
    k.run(&["set", "image", "deployment/web", "c=busybox:1.37"])
        .ok();
    rolled_out(&k).await;
    let history = k.run(&["rollout", "history", "deployment/web"]).ok();
    assert!(history.contains('1') && history.contains('2'), "{history}");

    k.run(&["rollout", "undo", "deployment/web"]).ok();
    let d = eventually("undo back to the first template", TIMEOUT, || async {
        let d = api.get("web").await.ok()?;
        (image(&d) == "busybox:1.36" && revision(&d) == "3").then_some(d)
    })
    .await;
    assert_eq!(image(&d), "busybox:1.36");
    rolled_out(&k).await;
    let rss: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    let items = rss
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("rs")
        .items;
    assert_eq!(
        items.len(),
        2,
        "the old ReplicaSet was reused, not a third created"
    );
    let reused = items
        .iter()
        .find(|rs| rs.spec.as_ref().and_then(|s| s.replicas) == Some(2))
        .expect("active rs");
    let ann = reused.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        ann.get("deployment.kubernetes.io/revision")
            .map(String::as_str),
        Some("3")
    );
    assert_eq!(
        ann.get("deployment.kubernetes.io/revision-history")
            .map(String::as_str),
        Some("1")
    );

    k.run(&["rollout", "undo", "deployment/web", "--to-revision=2"])
        .ok();
    eventually("undo to revision 2", TIMEOUT, || async {
        let d = api.get("web").await.ok()?;
        (image(&d) == "busybox:1.37").then_some(())
    })
    .await;
    rolled_out(&k).await;

    k.run(&["rollout", "pause", "deployment/web"]).ok();
    k.run(&["set", "image", "deployment/web", "c=busybox:1.38"])
        .ok();
    eventually("the pause is observed", TIMEOUT, || async {
        let d = api.get("web").await.ok()?;
        let s = d.status.clone()?;
        let paused = s
            .conditions?
            .iter()
            .any(|c| c.reason.as_deref() == Some("DeploymentPaused"));
        (paused && s.observed_generation == d.metadata.generation).then_some(())
    })
    .await;
    let count = rss
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("rs")
        .items
        .len();
    assert_eq!(count, 2, "no new ReplicaSet while paused");
    k.run(&["rollout", "resume", "deployment/web"]).ok();
    rolled_out(&k).await;
    let count = rss
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("rs")
        .items
        .len();
    assert_eq!(count, 3, "resumed: the 1.38 ReplicaSet exists");

    k.run(&["rollout", "restart", "deployment/web"]).ok();
    rolled_out(&k).await;
    let count = rss
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("rs")
        .items
        .len();
    assert_eq!(count, 4, "restart rolled a new ReplicaSet");
    c.wait_ready_pods("default", "web", 2).await;
}
