//! The StatefulSet controller against a real `berth server`, the fake
//! kubelet and a real controller manager: ordered start and stop, the
//! Parallel policy, failed pods recreated, partitioned rolling updates,
//! OnDelete with `ordinals.start`, and `kubectl rollout` for statefulsets.
//! Claims: `controllers_statefulset_claims.rs`.

mod controllers_support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use berth_testkit::{FakeKubeletConfig, Kubectl, OutcomeHook, eventually};
use controllers_support::{Cluster, TIMEOUT, from_json, stateful_set, watch_pods};
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

/// A cluster whose fake kubelet leaves pods of `app` Running but not Ready
/// (the test makes them ready one by one).
async fn cluster_holding(app: &'static str) -> Cluster {
    let mut config = FakeKubeletConfig::nodes(2);
    config.lease_renew_interval = std::time::Duration::from_secs(1);
    config.outcome = Some(OutcomeHook(Arc::new(move |pod: &Pod| {
        let held = pod.metadata.labels.as_ref()?.get("app")? == app;
        held.then(|| "not-ready".to_string())
    })));
    Cluster::start_with(config, &[]).await
}

fn ordinal(pod: &Pod) -> i32 {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    name.rsplit_once('-')
        .and_then(|(_, o)| o.parse().ok())
        .unwrap_or(-1)
}

fn ready(pod: &Pod) -> bool {
    berth_controllers::pod_state::is_ready(pod)
}

/// Marks a running pod Ready, as its kubelet would once probes pass.
async fn make_ready(pods: &Api<Pod>, name: &str) {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let cond = |t: &str| json!({"type": t, "status": "True", "lastTransitionTime": now});
    let patch = json!({"status": {"conditions": [cond("PodScheduled"), cond("Initialized"),
        cond("ContainersReady"), cond("Ready")]}});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .expect("pod made ready");
}

async fn wait_pod(pods: &Api<Pod>, name: &str) -> Pod {
    eventually(&format!("pod {name} running"), TIMEOUT, || async {
        let p = pods.get(name).await.ok()?;
        (berth_controllers::pod_state::phase(&p) == "Running").then_some(p)
    })
    .await
}

/// Strings recorded by a watch callback.
type Log = Arc<Mutex<Vec<String>>>;

fn seen(v: &Mutex<Vec<String>>) -> Vec<String> {
    v.lock().expect("lock").clone()
}

/// OrderedReady: a pod exists only when every lower ordinal is Ready; at
/// most one pod is terminating, and it is the highest ordinal left.
fn check_order(pods: &BTreeMap<String, Pod>) -> Option<String> {
    let mut by_ordinal: Vec<&Pod> = pods.values().collect();
    by_ordinal.sort_by_key(|p| ordinal(p));
    for (i, p) in by_ordinal.iter().enumerate() {
        let lower = &by_ordinal[..i];
        if ordinal(p) != i as i32 || lower.iter().any(|l| !ready(l)) {
            return Some(format!(
                "{} exists before its predecessors are ready",
                ordinal(p)
            ));
        }
    }
    let terminating: Vec<i32> = by_ordinal
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_some())
        .map(|p| ordinal(p))
        .collect();
    let highest = by_ordinal.last().map(|p| ordinal(p));
    (terminating.len() > 1 || terminating.first().is_some_and(|t| Some(*t) != highest))
        .then(|| format!("terminating out of order: {terminating:?}"))
}

#[tokio::test]
async fn ordered_ready_starts_pods_in_order_and_stops_them_in_reverse() {
    let c = cluster_holding("web").await;
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let violated = Log::default();
    let record = violated.clone();
    let watch = watch_pods(&c.client, "default", "web", move |pods| {
        if let Some(v) = check_order(pods) {
            record.lock().expect("lock").push(v);
        }
    });
    let sets: Api<StatefulSet> = Api::namespaced(c.client.clone(), "default");
    sets.create(&PostParams::default(), &from_json(stateful_set("web", 5)))
        .await
        .expect("create");
    for i in 0..5 {
        let name = format!("web-{i}");
        let pod = wait_pod(&pods, &name).await;
        assert!(!ready(&pod), "the fake kubelet holds {name} not ready");
        let next = format!("web-{}", i + 1);
        eventually("status counts the held pod", TIMEOUT, || async {
            let s = sets.get("web").await.ok()?.status?;
            (s.replicas == i + 1 && s.ready_replicas.unwrap_or(0) == i).then_some(())
        })
        .await;
        assert!(
            pods.get_opt(&next).await.expect("get").is_none(),
            "{next} must wait for {name} to be ready"
        );
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels["statefulset.kubernetes.io/pod-name"], name);
        assert_eq!(labels["apps.kubernetes.io/pod-index"], i.to_string());
        let spec = pod.spec.expect("spec");
        assert_eq!(spec.hostname.as_deref(), Some(name.as_str()));
        assert_eq!(spec.subdomain.as_deref(), Some("web"));
        make_ready(&pods, &name).await;
    }
    c.wait_ready_pods("default", "web", 5).await;
    sets.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 1}})),
    )
    .await
    .expect("scale down");
    c.wait_ready_pods("default", "web", 1).await;
    eventually("status.replicas == 1", TIMEOUT, || async {
        let s = sets.get("web").await.ok()?.status?;
        (s.replicas == 1 && s.ready_replicas == Some(1)).then_some(())
    })
    .await;
    watch.abort();
    assert_eq!(seen(&violated), Vec::<String>::new());
}

#[tokio::test]
async fn parallel_policy_creates_every_pod_without_waiting() {
    let c = cluster_holding("par").await;
    let mut set = stateful_set("par", 5);
    set["spec"]["podManagementPolicy"] = json!("Parallel");
    Api::<StatefulSet>::namespaced(c.client.clone(), "default")
        .create(&PostParams::default(), &from_json(set))
        .await
        .expect("create");
    let pods = eventually("5 pods, none ready", TIMEOUT, || async {
        let pods = c.pods("default", "par").await;
        (pods.len() == 5).then_some(pods)
    })
    .await;
    assert!(pods.iter().all(|p| !ready(p)), "created without waiting");
    let mut names: Vec<_> = pods
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["par-0", "par-1", "par-2", "par-3", "par-4"]);
}

#[tokio::test]
async fn a_failed_pod_is_deleted_and_recreated_with_the_same_name() {
    let failed_once = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut config = FakeKubeletConfig::nodes(1);
    config.outcome = Some(OutcomeHook(Arc::new(move |pod: &Pod| {
        let first = pod.metadata.name.as_deref() == Some("fl-1")
            && !failed_once.swap(true, std::sync::atomic::Ordering::SeqCst);
        first.then(|| "fail".to_string())
    })));
    let c = Cluster::start_with(config, &[]).await;
    Api::<StatefulSet>::namespaced(c.client.clone(), "default")
        .create(&PostParams::default(), &from_json(stateful_set("fl", 2)))
        .await
        .expect("create");
    let healed = c.wait_ready_pods("default", "fl", 2).await;
    assert!(
        healed
            .iter()
            .any(|p| p.metadata.name.as_deref() == Some("fl-1"))
    );
    let events: Api<Event> = Api::namespaced(c.client.clone(), "default");
    let message = eventually("a RecreatingFailedPod event", TIMEOUT, || async {
        let items = events.list(&ListParams::default()).await.ok()?.items;
        items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("RecreatingFailedPod"))
            .and_then(|e| e.message)
    })
    .await;
    assert_eq!(
        message,
        "StatefulSet default/fl is recreating failed Pod fl-1"
    );
}

fn revision_of(pod: &Pod) -> String {
    pod.metadata
        .labels
        .clone()
        .unwrap_or_default()
        .remove("controller-revision-hash")
        .unwrap_or_default()
}

fn image_of(pod: &Pod) -> String {
    pod.spec
        .as_ref()
        .and_then(|s| s.containers[0].image.clone())
        .unwrap_or_default()
}

async fn set_image(sets: &Api<StatefulSet>, name: &str, image: &str, partition: i32) {
    let patch = json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": partition}},
        "template": {"spec": {"containers": [{"name": "c", "image": image}]}}}});
    sets.patch(name, &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .expect("update template");
}

#[tokio::test]
async fn partitioned_rollout_updates_only_ordinals_at_or_above_the_partition() {
    let c = Cluster::start(2, &[]).await;
    let sets: Api<StatefulSet> = Api::namespaced(c.client.clone(), "default");
    sets.create(&PostParams::default(), &from_json(stateful_set("part", 4)))
        .await
        .expect("create");
    c.wait_ready_pods("default", "part", 4).await;
    let old = eventually("current revision recorded", TIMEOUT, || async {
        let s = sets.get("part").await.ok()?.status?;
        (s.updated_replicas == Some(4)).then_some(s.current_revision?)
    })
    .await;
    let order = Log::default();
    let record = order.clone();
    let old_revision = old.clone();
    let watch = watch_pods(&c.client, "default", "part", move |pods| {
        let mut order = record.lock().expect("lock");
        for p in pods.values() {
            let name = p.metadata.name.clone().unwrap_or_default();
            if revision_of(p) != old_revision && !order.contains(&name) {
                order.push(name);
            }
        }
    });
    set_image(&sets, "part", "busybox:1.37", 2).await;
    let status = eventually("ordinals 2 and 3 updated", TIMEOUT, || async {
        let s = sets.get("part").await.ok()?.status?;
        (s.updated_replicas == Some(2) && s.ready_replicas == Some(4)).then_some(s)
    })
    .await;
    assert_eq!(status.current_revision.as_deref(), Some(old.as_str()));
    let new = status.update_revision.expect("update revision");
    assert_ne!(new, old);
    let pods = c.wait_ready_pods("default", "part", 4).await;
    for p in &pods {
        let updated = ordinal(p) >= 2;
        assert_eq!(revision_of(p) == new, updated, "{:?}", p.metadata.name);
        assert_eq!(image_of(p) == "busybox:1.37", updated);
    }
    set_image(&sets, "part", "busybox:1.37", 0).await;
    eventually("every pod updated, current = update", TIMEOUT, || async {
        let s = sets.get("part").await.ok()?.status?;
        (s.updated_replicas == Some(4)
            && s.current_replicas == Some(4)
            && s.ready_replicas == Some(4)
            && s.current_revision.as_deref() == Some(new.as_str()))
        .then_some(())
    })
    .await;
    watch.abort();
    assert_eq!(
        seen(&order),
        ["part-3", "part-2", "part-1", "part-0"],
        "updated from the highest ordinal down"
    );
}

#[tokio::test]
async fn on_delete_updates_a_pod_only_when_it_is_deleted_and_ordinals_start_where_asked() {
    let c = Cluster::start(2, &[]).await;
    let mut set = stateful_set("od", 2);
    set["spec"]["ordinals"] = json!({"start": 3});
    set["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
    let sets: Api<StatefulSet> = Api::namespaced(c.client.clone(), "default");
    sets.create(&PostParams::default(), &from_json(set))
        .await
        .expect("create");
    let before = c.wait_ready_pods("default", "od", 2).await;
    let mut names: Vec<_> = before
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["od-3", "od-4"]);
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "busybox:1.37"}]}}}});
    sets.patch("od", &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .expect("update template");
    let status = eventually("the new revision observed", TIMEOUT, || async {
        let s = sets.get("od").await.ok()?.status?;
        (s.observed_generation == Some(2) && s.update_revision != s.current_revision).then_some(s)
    })
    .await;
    assert_eq!(
        status.updated_replicas,
        Some(0),
        "OnDelete replaces nothing"
    );
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    pods.delete("od-4", &DeleteParams::default())
        .await
        .expect("delete od-4");
    let new = status.update_revision.clone().expect("update revision");
    eventually("od-4 recreated at the update revision", TIMEOUT, || async {
        let p = pods.get("od-4").await.ok()?;
        (revision_of(&p) == new && ready(&p) && image_of(&p) == "busybox:1.37").then_some(())
    })
    .await;
    let od3 = pods.get("od-3").await.expect("od-3");
    let old = before
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("od-3"));
    assert_eq!(od3.metadata.uid, old.and_then(|p| p.metadata.uid.clone()));
    assert_eq!(image_of(&od3), "busybox:1.36");
}

#[tokio::test]
async fn a_set_recreated_after_an_orphaning_delete_adopts_its_pods_and_history() {
    let c = Cluster::start(2, &[]).await;
    let sets: Api<StatefulSet> = Api::namespaced(c.client.clone(), "default");
    sets.create(&PostParams::default(), &from_json(stateful_set("keep", 2)))
        .await
        .expect("create");
    let before = c.wait_ready_pods("default", "keep", 2).await;
    let revision = eventually("revision recorded", TIMEOUT, || async {
        let s = sets.get("keep").await.ok()?.status?;
        (s.updated_replicas == Some(2)).then_some(s.update_revision?)
    })
    .await;
    sets.delete("keep", &DeleteParams::orphan())
        .await
        .expect("orphaning delete");
    let revisions: Api<ControllerRevision> = Api::namespaced(c.client.clone(), "default");
    eventually("the revision is orphaned", TIMEOUT, || async {
        let r = revisions.get(&revision).await.ok()?;
        let orphaned = r.metadata.owner_references.unwrap_or_default().is_empty();
        (orphaned && sets.get_opt("keep").await.ok()?.is_none()).then_some(())
    })
    .await;
    let again = sets
        .create(&PostParams::default(), &from_json(stateful_set("keep", 2)))
        .await
        .expect("create again");
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    eventually("pods and revision adopted", TIMEOUT, || async {
        let s = sets.get("keep").await.ok()?.status?;
        let adopted = c.pods("default", "keep").await.iter().all(|p| {
            let owner = p.metadata.owner_references.as_ref().and_then(|r| r.first());
            owner.is_some_and(|o| Some(&o.uid) == again.metadata.uid.as_ref())
        });
        (adopted && s.updated_replicas == Some(2) && s.update_revision == Some(revision.clone()))
            .then_some(())
    })
    .await;
    for p in &before {
        let name = p.metadata.name.as_deref().expect("name");
        let now = pods.get(name).await.expect("pod kept");
        assert_eq!(now.metadata.uid, p.metadata.uid, "{name} was not replaced");
    }
}

fn rolled_out(k: &Kubectl) -> String {
    let out = k.run(&["rollout", "status", "statefulset/web", "--timeout=60s"]);
    out.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rollout_status_history_and_undo_work_for_statefulsets() {
    let c = Cluster::start(2, &[]).await;
    let k = Kubectl::new(&c.server.kubeconfig());
    let sets: Api<StatefulSet> = Api::namespaced(c.client.clone(), "default");
    sets.create(&PostParams::default(), &from_json(stateful_set("web", 2)))
        .await
        .expect("create");
    let out = rolled_out(&k);
    assert!(out.contains("roll out complete"), "{out}");
    k.run(&["set", "image", "statefulset/web", "c=busybox:1.37"])
        .ok();
    let out = rolled_out(&k);
    assert!(out.contains("2 new pods have been updated"), "{out}");
    let pods = c.wait_ready_pods("default", "web", 2).await;
    assert!(pods.iter().all(|p| image_of(p) == "busybox:1.37"));
    let history = k.run(&["rollout", "history", "statefulset/web"]).ok();
    let numbers: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<i64>().is_ok())
        .collect();
    assert_eq!(numbers, ["1", "2"], "{history}");

    let out = k.run(&["rollout", "undo", "statefulset/web"]).ok();
    assert!(out.contains("rolled back"), "{out}");
    eventually("undo restores the first template", TIMEOUT, || async {
        let s = sets.get("web").await.ok()?;
        let image = s.spec?.template.spec?.containers[0].image.clone()?;
        (image == "busybox:1.36").then_some(())
    })
    .await;
    rolled_out(&k);
    let revisions: Api<ControllerRevision> = Api::namespaced(c.client.clone(), "default");
    eventually(
        "the first revision re-used as revision 3",
        TIMEOUT,
        || async {
            let items = revisions
                .list(&ListParams::default().labels("app=web"))
                .await
                .ok()?
                .items;
            let mut numbers: Vec<i64> = items.iter().map(|r| r.revision).collect();
            numbers.sort();
            (numbers == [2, 3]).then_some(())
        },
    )
    .await;
    let pods = eventually("pods back on the first image", TIMEOUT, || async {
        let pods = c.pods("default", "web").await;
        let done = pods.len() == 2
            && pods.iter().all(|p| {
                image_of(p) == "busybox:1.36" && ready(p) && p.metadata.deletion_timestamp.is_none()
            });
        done.then_some(pods)
    })
    .await;
    let status = sets.get("web").await.expect("get").status.expect("status");
    assert!(
        pods.iter()
            .all(|p| Some(revision_of(p)) == status.update_revision)
    );
    let history = k.run(&["rollout", "history", "statefulset/web"]).ok();
    assert!(
        history.contains('3') && !history.lines().any(|l| l.starts_with("1 ")),
        "{history}"
    );
}
