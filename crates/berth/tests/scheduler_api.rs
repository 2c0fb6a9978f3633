//! The scheduler against a real `berth server` with Node objects only (no
//! node agent): priority, re-activation on cluster events, taints, zone
//! spreading, explanations of failures, leader election, preemption, and
//! `berth why pod`.

mod scheduler_support;

use std::collections::BTreeMap;

use berth_scheduler::SchedulerOptions;
use berth_testkit::eventually;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use scheduler_support::{Cluster, WAIT, node, pod};
use serde_json::json;

#[tokio::test]
async fn higher_priority_pod_should_be_bound_first_when_capacity_is_scarce() {
    let mut cluster = Cluster::start().await;
    cluster.create_priority_class("high", 1000).await;
    cluster.create_priority_class("low", 10).await;
    cluster.create_node(node("only").cpu("1")).await;
    let low = json!({"priorityClassName": "low"});
    let high = json!({"priorityClassName": "high"});
    cluster.create_pod(pod("low", "1", json!({}), low)).await;
    cluster.create_pod(pod("high", "1", json!({}), high)).await;
    cluster.start_scheduler(SchedulerOptions::new("test-scheduler"));
    assert_eq!(cluster.bound_node("high").await, "only");
    let (reason, message) = cluster.unschedulable_condition("low").await;
    assert_eq!(reason, "Unschedulable");
    assert_eq!(
        message,
        "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: \
         1 No preemption victims found for incoming pod."
    );
}

#[tokio::test]
async fn unschedulable_pod_should_be_scheduled_when_a_node_is_added() {
    let cluster = Cluster::with_scheduler().await;
    cluster.create_node(node("small").cpu("500m")).await;
    cluster
        .create_pod(pod("big", "2", json!({}), json!({})))
        .await;
    cluster.unschedulable_condition("big").await;
    cluster.create_node(node("large").cpu("4")).await;
    assert_eq!(cluster.bound_node("big").await, "large");
}

#[tokio::test]
async fn taints_should_repel_pods_that_do_not_tolerate_them() {
    let cluster = Cluster::with_scheduler().await;
    cluster
        .create_node(node("gpu").taint("dedicated", "gpu", "NoSchedule"))
        .await;
    cluster.create_node(node("plain")).await;
    for i in 0..4 {
        cluster
            .create_pod(pod(&format!("web-{i}"), "100m", json!({}), json!({})))
            .await;
    }
    let on_gpu = json!({
        "nodeSelector": {"kubernetes.io/hostname": "gpu"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}],
    });
    cluster
        .create_pod(pod("trainer", "100m", json!({}), on_gpu))
        .await;
    let intruder = json!({"nodeSelector": {"kubernetes.io/hostname": "gpu"}});
    cluster
        .create_pod(pod("intruder", "100m", json!({}), intruder))
        .await;
    for i in 0..4 {
        assert_eq!(cluster.bound_node(&format!("web-{i}")).await, "plain");
    }
    assert_eq!(cluster.bound_node("trainer").await, "gpu");
    let (_, message) = cluster.unschedulable_condition("intruder").await;
    assert_eq!(
        message,
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, \
         1 node(s) had untolerated taint {dedicated: gpu}. \
         preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
    );
}

#[tokio::test]
async fn zone_spread_constraint_should_place_pods_evenly_across_zones() {
    let cluster = Cluster::with_scheduler().await;
    for zone in ["a", "b", "c", "d"] {
        for i in 0..2 {
            cluster
                .create_node(node(&format!("{zone}-{i}")).zone(zone))
                .await;
        }
    }
    let spread = json!({"topologySpreadConstraints": [{
        "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}},
    }]});
    for i in 0..8 {
        cluster
            .create_pod(pod(
                &format!("web-{i}"),
                "100m",
                json!({"app": "web"}),
                spread.clone(),
            ))
            .await;
    }
    let mut per_zone: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..8 {
        let node = cluster.bound_node(&format!("web-{i}")).await;
        let zone = node.split('-').next().unwrap_or_default().to_owned();
        *per_zone.entry(zone).or_default() += 1;
    }
    assert_eq!(
        per_zone.values().copied().collect::<Vec<_>>(),
        vec![2, 2, 2, 2],
        "{per_zone:?}"
    );
}

#[tokio::test]
async fn failed_scheduling_should_be_explained_by_an_event_and_the_pod_condition() {
    let cluster = Cluster::with_scheduler().await;
    cluster.create_node(node("n1").cpu("1")).await;
    cluster.create_node(node("n2").cpu("1")).await;
    cluster
        .create_pod(pod("huge", "4", json!({}), json!({})))
        .await;
    cluster
        .create_pod(pod("fits", "500m", json!({}), json!({})))
        .await;
    let expected = "0/2 nodes are available: 2 Insufficient cpu. \
        preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.";
    let (reason, message) = cluster.unschedulable_condition("huge").await;
    assert_eq!(
        (reason.as_str(), message.as_str()),
        ("Unschedulable", expected)
    );
    let failed = cluster.events_for("huge", "FailedScheduling").await;
    assert_eq!(failed[0].message.as_deref(), Some(expected));
    assert_eq!(failed[0].type_.as_deref(), Some("Warning"));
    assert_eq!(
        failed[0].reporting_component.as_deref(),
        Some("default-scheduler")
    );
    let node = cluster.bound_node("fits").await;
    let scheduled = cluster.events_for("fits", "Scheduled").await;
    let want = format!("Successfully assigned default/fits to {node}");
    assert_eq!(scheduled[0].message.as_deref(), Some(want.as_str()));
}

#[tokio::test]
async fn leader_elected_scheduler_should_hold_the_lease_and_schedule() {
    let mut cluster = Cluster::start().await;
    cluster.create_node(node("n1")).await;
    cluster.start_scheduler(SchedulerOptions::new("elected").with_leader_election());
    cluster
        .create_pod(pod("p", "100m", json!({}), json!({})))
        .await;
    assert_eq!(cluster.bound_node("p").await, "n1");
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), "kube-system");
    let holder = eventually("kube-scheduler lease", WAIT, || async {
        leases
            .get("kube-scheduler")
            .await
            .ok()?
            .spec?
            .holder_identity
    })
    .await;
    assert_eq!(holder, "elected");
}

#[tokio::test]
async fn high_priority_pod_should_preempt_the_fewest_least_important_pods() {
    let mut cluster = Cluster::start().await;
    for (name, value) in [("high", 1000), ("mid", 100), ("low", 10)] {
        cluster.create_priority_class(name, value).await;
    }
    // Same load on both nodes; only n2's low pod is protected by a budget.
    for n in ["n1", "n2"] {
        cluster.create_node(node(n).cpu("2")).await;
        let on = |class: &str| json!({"priorityClassName": class, "nodeName": n});
        let app = json!({"app": format!("{n}-low")});
        let low = cluster.create_pod(pod(&format!("{n}-low"), "1", app, on("low")));
        low.await;
        for i in 0..2 {
            let mid = pod(&format!("{n}-mid-{i}"), "500m", json!({}), on("mid"));
            cluster.create_pod(mid).await;
        }
    }
    cluster
        .create_disruption_budget("protect-n2", "n2-low")
        .await;
    cluster.start_scheduler(SchedulerOptions::new("test-scheduler"));
    let high = json!({"priorityClassName": "high"});
    cluster.create_pod(pod("high", "1", json!({}), high)).await;
    assert_eq!(cluster.nominated_node("high").await, "n1");
    cluster.finish_termination("n1-low").await;
    assert_eq!(cluster.bound_node("high").await, "n1");
    for survivor in ["n1-mid-0", "n1-mid-1", "n2-low", "n2-mid-0", "n2-mid-1"] {
        let p = cluster.pods().get(survivor).await.expect(survivor);
        assert!(
            p.metadata.deletion_timestamp.is_none(),
            "{survivor} evicted"
        );
    }
    let preempted = cluster.events_for("n1-low", "Preempted").await;
    let message = preempted[0].message.as_deref().unwrap_or_default();
    assert!(message.ends_with("on node n1"), "{message}");
}

#[tokio::test]
async fn why_pod_should_name_the_rejecting_plugin_and_the_best_nodes() {
    let cluster = Cluster::with_scheduler().await;
    cluster.create_node(node("small").cpu("1")).await;
    cluster
        .create_node(
            node("tainted")
                .cpu("8")
                .taint("dedicated", "gpu", "NoSchedule"),
        )
        .await;
    cluster.create_node(node("roomy").cpu("8")).await;
    cluster.create_node(node("roomiest").cpu("16")).await;
    cluster
        .create_pod(pod("web", "2", json!({}), json!({})))
        .await;
    cluster.bound_node("web").await;
    let text = cluster.why_pod("web");
    assert!(
        text.contains("small: rejected by NodeResourcesFit: Insufficient cpu [pods: requested 1, free 110 of 110 allocatable; cpu: requested 2000m, free 1000m of 1000m allocatable"),
        "{text}"
    );
    assert!(
        text.contains(
            "tainted: rejected by TaintToleration: node(s) had untolerated taint {dedicated: gpu}"
        ),
        "{text}"
    );
    let best = text.split("Best nodes:").nth(1).unwrap_or_default();
    let order: Vec<&str> = best
        .lines()
        .filter_map(|l| l.trim().split(':').next())
        .filter(|n| !n.is_empty())
        .collect();
    assert_eq!(order, vec!["roomiest", "roomy"], "{text}");
}

/// Leader election with short timings, so a crash is noticed in seconds.
fn elected(identity: &str) -> SchedulerOptions {
    let mut options = SchedulerOptions::new(identity).with_leader_election();
    if let Some(lease) = options.leader_election.as_mut() {
        lease.lease_duration = std::time::Duration::from_secs(3);
        lease.renew_deadline = std::time::Duration::from_secs(2);
        lease.retry_period = std::time::Duration::from_millis(500);
    }
    options
}

#[tokio::test]
async fn a_second_scheduler_should_take_over_when_the_leader_dies() {
    let cluster = Cluster::start().await;
    cluster.create_node(node("n1")).await;
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), "kube-system");
    let holder = || async {
        leases
            .get("kube-scheduler")
            .await
            .ok()?
            .spec?
            .holder_identity
    };
    let first = cluster.spawn_scheduler(elected("first"));
    assert_eq!(eventually("a leader", WAIT, holder).await, "first");
    let second = cluster.spawn_scheduler(elected("second"));
    cluster
        .create_pod(pod("before", "100m", json!({}), json!({})))
        .await;
    assert_eq!(cluster.bound_node("before").await, "n1");
    first.abort();
    let taken = eventually("the second scheduler leads", WAIT, || async {
        holder().await.filter(|h| h == "second")
    });
    taken.await;
    cluster
        .create_pod(pod("after", "100m", json!({}), json!({})))
        .await;
    assert_eq!(cluster.bound_node("after").await, "n1");
    second.abort();
}
