//! The DaemonSet controller against a real `berth server` and controller
//! manager, with the fake kubelet binding each daemon pod to the node its
//! affinity names: taints, tolerations, node selectors, new nodes, failed
//! pods, RollingUpdate (with `kubectl rollout status`) and OnDelete.

mod controllers_support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use berth_testkit::{FakeKubelet, FakeKubeletConfig, Kubectl, OutcomeHook, eventually};
use controllers_support::{Cluster, TIMEOUT, from_json, template};
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

fn daemon_set(name: &str, extra_spec: Value) -> DaemonSet {
    let mut ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": template(name, "busybox:1.36")}});
    if let (Some(spec), Some(extra)) = (ds["spec"].as_object_mut(), extra_spec.as_object()) {
        spec.extend(extra.clone());
    }
    from_json(ds)
}

fn patch(v: Value) -> Patch<Value> {
    Patch::Merge(v)
}

async fn set_node(c: &Cluster, node: &str, body: Value) {
    Api::<Node>::all(c.client.clone())
        .patch(node, &PatchParams::default(), &patch(body))
        .await
        .expect("patch node");
}

fn node_of(p: &Pod) -> String {
    p.spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .unwrap_or_default()
}

fn hash_of(p: &Pod) -> String {
    p.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("controller-revision-hash"))
        .cloned()
        .unwrap_or_default()
}

/// Waits until `app` has exactly one ready, live pod on each of `nodes`.
async fn wait_on_nodes(c: &Cluster, app: &str, nodes: &[&str]) -> Vec<Pod> {
    let want: BTreeSet<String> = nodes.iter().map(|n| n.to_string()).collect();
    eventually(
        &format!("{app} ready on exactly {want:?}"),
        TIMEOUT,
        || async {
            let pods = c.pods("default", app).await;
            let live: Vec<Pod> = pods
                .into_iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .collect();
            let on: BTreeSet<String> = live.iter().map(node_of).collect();
            let ready = live.iter().all(berth_controllers::pod_state::is_ready);
            (ready && live.len() == want.len() && on == want).then_some(live)
        },
    )
    .await
}

async fn wait_status(
    api: &Api<DaemonSet>,
    name: &str,
    check: impl Fn(&k8s_openapi::api::apps::v1::DaemonSetStatus, i64) -> bool,
) {
    eventually(&format!("status of {name}"), TIMEOUT, || async {
        let ds = api.get(name).await.ok()?;
        let s = ds.status?;
        (s.observed_generation == ds.metadata.generation
            && check(&s, ds.metadata.generation.unwrap_or(0)))
        .then_some(())
    })
    .await;
}

/// A daemon pod is pinned to its node by affinity and carries the
/// revision labels.
fn assert_pinned_and_labelled(pod: &Pod) {
    let affinity = serde_json::to_value(&pod.spec.as_ref().expect("spec").affinity).expect("json");
    let terms = &affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"];
    assert_eq!(
        terms[0]["matchFields"][0]["key"], "metadata.name",
        "{affinity}"
    );
    assert_eq!(terms[0]["matchFields"][0]["values"][0], json!(node_of(pod)));
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("pod-template-generation").map(String::as_str),
        Some("1")
    );
    assert!(!hash_of(pod).is_empty());
}

/// `app` has one ControllerRevision holding its template as a replace patch.
async fn assert_one_revision(c: &Cluster, app: &str) {
    let revisions: Api<ControllerRevision> = Api::namespaced(c.client.clone(), "default");
    let history = revisions
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .expect("revisions");
    assert_eq!(history.items.len(), 1);
    let data = history.items[0]
        .data
        .as_ref()
        .map(|d| d.0.clone())
        .unwrap_or_default();
    assert_eq!(data["spec"]["template"]["$patch"], "replace", "{data}");
}

const FIVE: [&str; 5] = [
    "fake-node-0",
    "fake-node-1",
    "fake-node-2",
    "fake-node-3",
    "fake-node-4",
];

#[tokio::test]
async fn daemon_set_runs_one_pod_per_untainted_node_and_tolerations_widen_it() {
    let c = Cluster::start(5, &[]).await;
    set_node(
        &c,
        "fake-node-4",
        json!({"spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]}}),
    )
    .await;
    let api: Api<DaemonSet> = Api::namespaced(c.client.clone(), "default");
    api.create(&PostParams::default(), &daemon_set("agent", json!({})))
        .await
        .expect("create");
    let pods = wait_on_nodes(&c, "agent", &FIVE[..4]).await;
    assert_pinned_and_labelled(&pods[0]);
    wait_status(&api, "agent", |s, _| {
        s.desired_number_scheduled == 4
            && s.current_number_scheduled == 4
            && s.number_ready == 4
            && s.number_available == Some(4)
            && s.updated_number_scheduled == Some(4)
            && s.number_misscheduled == 0
    })
    .await;
    assert_one_revision(&c, "agent").await;

    let tolerate = json!({"spec": {"template": {"spec": {"tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]}}}});
    api.patch("agent", &PatchParams::default(), &patch(tolerate))
        .await
        .expect("tolerate");
    wait_on_nodes(&c, "agent", &FIVE).await;
    wait_status(&api, "agent", |s, _| {
        s.desired_number_scheduled == 5
            && s.number_available == Some(5)
            && s.updated_number_scheduled == Some(5)
    })
    .await;
}

#[tokio::test]
async fn daemon_set_follows_node_selectors_and_new_nodes() {
    let c = Cluster::start(3, &[]).await;
    set_node(
        &c,
        "fake-node-1",
        json!({"metadata": {"labels": {"role": "edge"}}}),
    )
    .await;
    let api: Api<DaemonSet> = Api::namespaced(c.client.clone(), "default");
    let spec = json!({"template": {"metadata": {"labels": {"app": "edge"}},
        "spec": {"nodeSelector": {"role": "edge"}, "containers": [{"name": "c", "image": "busybox:1.36"}]}}});
    api.create(&PostParams::default(), &daemon_set("edge", spec))
        .await
        .expect("create");
    wait_on_nodes(&c, "edge", &["fake-node-1"]).await;
    set_node(
        &c,
        "fake-node-2",
        json!({"metadata": {"labels": {"role": "edge"}}}),
    )
    .await;
    wait_on_nodes(&c, "edge", &["fake-node-1", "fake-node-2"]).await;
    set_node(
        &c,
        "fake-node-1",
        json!({"metadata": {"labels": {"role": null}}}),
    )
    .await;
    wait_on_nodes(&c, "edge", &["fake-node-2"]).await;

    let mut config = FakeKubeletConfig::nodes(0);
    config.nodes = vec!["late-node".into()];
    let _late = FakeKubelet::start(c.client.clone(), config)
        .await
        .expect("second kubelet");
    set_node(
        &c,
        "late-node",
        json!({"metadata": {"labels": {"role": "edge"}}}),
    )
    .await;
    wait_on_nodes(&c, "edge", &["fake-node-2", "late-node"]).await;
    wait_status(&api, "edge", |s, _| {
        s.desired_number_scheduled == 2 && s.number_available == Some(2)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_set_rolling_update_completes_and_kubectl_sees_it() {
    let c = Cluster::start(4, &[]).await;
    let k = Kubectl::new(&c.server.kubeconfig());
    let api: Api<DaemonSet> = Api::namespaced(c.client.clone(), "default");
    let strategy = json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}});
    api.create(&PostParams::default(), &daemon_set("roll", strategy))
        .await
        .expect("create");
    let before = wait_on_nodes(&c, "roll", &FIVE[..4]).await;
    let out = k
        .run(&["rollout", "status", "daemonset/roll", "--timeout=60s"])
        .ok();
    assert!(out.contains("successfully rolled out"), "{out}");
    k.run(&["set", "image", "daemonset/roll", "c=busybox:1.37"])
        .ok();
    let out = k
        .run(&["rollout", "status", "daemonset/roll", "--timeout=60s"])
        .ok();
    assert!(out.contains("successfully rolled out"), "{out}");
    let after = wait_on_nodes(&c, "roll", &FIVE[..4]).await;
    let old_hash = hash_of(&before[0]);
    assert!(
        after
            .iter()
            .all(|p| hash_of(p) != old_hash && !hash_of(p).is_empty())
    );
    assert!(after.iter().all(|p| generation_of(p) == "2"));
    let history = k.run(&["rollout", "history", "daemonset/roll"]).ok();
    assert!(history.contains('1') && history.contains('2'), "{history}");
    let reasons = event_reasons(&c, "roll").await;
    assert!(
        reasons.contains("SuccessfulCreate") && reasons.contains("SuccessfulDelete"),
        "{reasons:?}"
    );
}

fn generation_of(p: &Pod) -> String {
    p.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("pod-template-generation"))
        .cloned()
        .unwrap_or_default()
}

/// The reasons of the events about the object named `name`.
async fn event_reasons(c: &Cluster, name: &str) -> BTreeSet<String> {
    let events: Api<Event> = Api::namespaced(c.client.clone(), "default");
    events
        .list(&ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(name))
        .filter_map(|e| e.reason)
        .collect()
}

fn rolled_out(k: &Kubectl, ds: &str) {
    let target = format!("daemonset/{ds}");
    let out = k.run(&["rollout", "status", &target, "--timeout=60s"]).ok();
    assert!(out.contains("successfully rolled out"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_set_rollout_undo_returns_to_the_first_revision() {
    let c = Cluster::start(2, &[]).await;
    let k = Kubectl::new(&c.server.kubeconfig());
    let api: Api<DaemonSet> = Api::namespaced(c.client.clone(), "default");
    api.create(&PostParams::default(), &daemon_set("undo", json!({})))
        .await
        .expect("create");
    let first = wait_on_nodes(&c, "undo", &FIVE[..2]).await;
    rolled_out(&k, "undo");
    k.run(&["set", "image", "daemonset/undo", "c=busybox:1.37"])
        .ok();
    rolled_out(&k, "undo");
    k.run(&["rollout", "undo", "daemonset/undo"]).ok();
    rolled_out(&k, "undo");
    let back = wait_on_nodes(&c, "undo", &FIVE[..2]).await;
    assert!(
        back.iter().all(|p| hash_of(p) == hash_of(&first[0])),
        "the first revision is re-used"
    );
    assert!(back.iter().all(|p| generation_of(p) == "3"));
    let revisions: Api<ControllerRevision> = Api::namespaced(c.client.clone(), "default");
    let mut numbers: Vec<(i64, String)> = revisions
        .list(&ListParams::default().labels("app=undo"))
        .await
        .expect("revisions")
        .items
        .into_iter()
        .map(|r| {
            (
                r.revision,
                r.metadata
                    .labels
                    .unwrap_or_default()
                    .remove("controller-revision-hash")
                    .unwrap_or_default(),
            )
        })
        .collect();
    numbers.sort();
    assert_eq!(numbers.len(), 2, "{numbers:?}");
    assert_eq!(
        numbers[1],
        (3, hash_of(&first[0])),
        "the re-used revision is numbered highest"
    );
}

fn names(pods: &[Pod]) -> BTreeSet<String> {
    pods.iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect()
}

/// Deletes (gracefully) the pod of `pods` on `node`; returns it.
async fn delete_pod_on(c: &Cluster, pods: &[Pod], node: &str) -> Pod {
    let victim = pods
        .iter()
        .find(|p| node_of(p) == node)
        .expect("a pod on the node");
    Api::<Pod>::namespaced(c.client.clone(), "default")
        .delete(
            victim.metadata.name.as_deref().unwrap_or_default(),
            &DeleteParams::default(),
        )
        .await
        .expect("delete");
    victim.clone()
}

#[tokio::test]
async fn daemon_set_on_delete_replaces_only_deleted_pods() {
    let c = Cluster::start(3, &[]).await;
    let api: Api<DaemonSet> = Api::namespaced(c.client.clone(), "default");
    let strategy = json!({"updateStrategy": {"type": "OnDelete"}});
    api.create(&PostParams::default(), &daemon_set("manual", strategy))
        .await
        .expect("create");
    let before = wait_on_nodes(&c, "manual", &FIVE[..3]).await;
    let image = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}}}});
    api.patch("manual", &PatchParams::default(), &Patch::Strategic(image))
        .await
        .expect("update");
    wait_status(&api, "manual", |s, g| {
        g == 2 && s.updated_number_scheduled == Some(0) && s.number_available == Some(3)
    })
    .await;
    let now = c.pods("default", "manual").await;
    assert_eq!(
        names(&now),
        names(&before),
        "OnDelete leaves running pods alone"
    );
    let victim = delete_pod_on(&c, &before, "fake-node-0").await;
    let after = wait_on_nodes(&c, "manual", &FIVE[..3]).await;
    let fresh = after
        .iter()
        .find(|p| node_of(p) == "fake-node-0")
        .expect("replacement");
    assert_ne!(
        hash_of(fresh),
        hash_of(&victim),
        "the replacement runs the new template"
    );
    assert_eq!(
        after
            .iter()
            .filter(|p| hash_of(p) == hash_of(&victim))
            .count(),
        2
    );
    wait_status(&api, "manual", |s, _| {
        s.updated_number_scheduled == Some(1) && s.number_available == Some(3)
    })
    .await;
}

#[tokio::test]
async fn daemon_set_replaces_a_failed_pod_and_says_so() {
    let failed_once = Arc::new(AtomicBool::new(false));
    let flag = failed_once.clone();
    let mut config = FakeKubeletConfig::nodes(2);
    config.lease_renew_interval = std::time::Duration::from_secs(1);
    config.outcome = Some(OutcomeHook(Arc::new(move |pod: &Pod| {
        let on_node_0 = node_of(pod) == "fake-node-0";
        (on_node_0 && !flag.swap(true, Ordering::SeqCst)).then(|| "fail".to_string())
    })));
    let c = Cluster::start_with(config, &[]).await;
    let api: Api<DaemonSet> = Api::namespaced(c.client.clone(), "default");
    api.create(&PostParams::default(), &daemon_set("flaky", json!({})))
        .await
        .expect("create");
    wait_on_nodes(&c, "flaky", &FIVE[..2]).await;
    assert!(
        failed_once.load(Ordering::SeqCst),
        "the first pod on node 0 failed"
    );
    let events: Api<Event> = Api::namespaced(c.client.clone(), "default");
    eventually("a FailedDaemonPod event", TIMEOUT, || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| e.reason.as_deref() == Some("FailedDaemonPod"))
            .then_some(())
    })
    .await;
}
