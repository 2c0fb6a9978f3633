//! Scheduling cycles end to end: profiles, weighted scoring, FitError messages.

use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::node_info::NodeInfo;
use crate::plugins::default_profile;
use crate::pod_info::PodInfo;
use crate::snapshot::Snapshot;
use crate::testing::{NodeBuilder, PodBuilder, node, node_req, pod, snapshot};

struct FakeScore {
    name: &'static str,
    scores: HashMap<&'static str, i64>,
}

impl Plugin for FakeScore {
    fn name(&self) -> &'static str {
        self.name
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl ScorePlugin for FakeScore {
    fn score(&self, _: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        Ok(self.scores.get(node.name()).copied().unwrap_or(0))
    }
}

fn fake(name: &'static str, scores: &[(&'static str, i64)]) -> FakeScore {
    FakeScore {
        name,
        scores: scores.iter().copied().collect(),
    }
}

struct FakePostFilter;

impl Plugin for FakePostFilter {
    fn name(&self) -> &'static str {
        "FakePreemption"
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        Some(self)
    }
    fn as_permit(&self) -> Option<&dyn PermitPlugin> {
        Some(self)
    }
}

impl PostFilterPlugin for FakePostFilter {
    fn post_filter(
        &self,
        _: &Profile,
        _: &CycleState,
        _: &PodInfo,
        s: &Snapshot,
        _: &NodeToStatus,
    ) -> (PostFilterResult, Status) {
        let message = format!(
            "preemption: 0/{} nodes are available: {} No preemption victims found for incoming pod.",
            s.len(),
            s.len()
        );
        (
            PostFilterResult::default(),
            Status::new(Code::Unschedulable, message),
        )
    }
}

impl PermitPlugin for FakePostFilter {
    fn permit(&self, _: &CycleState, _: &PodInfo, node: &str) -> (Status, Duration) {
        match node {
            "slow" => (Status::of(Code::Wait), Duration::from_secs(5)),
            "denied" => (Status::new(Code::Unschedulable, "denied"), Duration::ZERO),
            _ => (Status::success(), Duration::ZERO),
        }
    }
}

fn schedule(
    profile: &Profile,
    s: &Snapshot,
    p: PodBuilder,
) -> Result<ScheduleResult, ScheduleError> {
    Scheduler::with_seed(7).schedule_pod(profile, s, &mut CycleState::new(), &p.info())
}

fn host(result: Result<ScheduleResult, ScheduleError>) -> String {
    match result {
        Ok(r) => r.suggested_host,
        Err(e) => format!("error: {e}"),
    }
}

fn two_nodes() -> Snapshot {
    snapshot(
        vec![node("n1").cap("4", "8Gi"), node("n2").cap("4", "8Gi")],
        vec![],
    )
}

#[test]
fn weighted_scores_should_decide_the_host() {
    let s = two_nodes();
    let a = || fake("A", &[("n1", 100), ("n2", 0)]);
    let b = || fake("B", &[("n1", 0), ("n2", 50)]);
    let heavy_b = Profile::builder("x").plugin(a(), 1).plugin(b(), 3).build();
    let light_b = Profile::builder("x").plugin(a(), 1).plugin(b(), 1).build();
    assert_eq!(
        heavy_b
            .map(|p| host(schedule(&p, &s, pod("p"))))
            .ok()
            .as_deref(),
        Some("n2")
    );
    assert_eq!(
        light_b
            .map(|p| host(schedule(&p, &s, pod("p"))))
            .ok()
            .as_deref(),
        Some("n1")
    );
}

#[test]
fn scores_outside_the_range_should_be_an_error() {
    let s = two_nodes();
    let profile = Profile::builder("x")
        .plugin(fake("Big", &[("n1", 101)]), 1)
        .build();
    let result = profile.map(|p| schedule(&p, &s, pod("p")));
    assert!(matches!(result, Ok(Err(ScheduleError::Plugin { .. }))));
}

#[test]
fn fit_error_should_count_reasons_over_all_nodes() {
    let tainted = |n: &str| node(n).cap("4", "8Gi").taint("key", "value", "NoSchedule");
    let nodes: Vec<NodeBuilder> = vec![
        node("small-1").cap("1", "8Gi"),
        node("small-2").cap("1", "8Gi"),
        tainted("t1"),
        tainted("t2"),
        tainted("t3"),
    ];
    let s = snapshot(nodes, vec![]);
    let profile = default_profile();
    let message = profile.map(|p| host(schedule(&p, &s, pod("p").req("2", "1Gi"))));
    assert_eq!(
        message.ok().as_deref(),
        Some(
            "error: 0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {key: value}. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling."
        )
    );
}

#[test]
fn post_filter_message_should_follow_the_filter_reasons() {
    let s = snapshot(vec![node("n1").cap("1", "1Gi")], vec![]);
    let profile = Profile::builder("x")
        .plugin(
            crate::plugins::node_resources_fit::NodeResourcesFit::default(),
            1,
        )
        .plugin(FakePostFilter, 0)
        .build();
    let message = profile.map(|p| host(schedule(&p, &s, pod("p").req("2", ""))));
    assert_eq!(
        message.ok().as_deref(),
        Some(
            "error: 0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
        )
    );
}

#[test]
fn nodes_excluded_by_pre_filter_should_be_reported_as_absent() {
    let nodes = (1..=4)
        .map(|i| node(&format!("n{i}")).cap("1", "1Gi"))
        .collect();
    let s = snapshot(nodes, vec![]);
    let p = pod("p").req("2", "").required_node_name_field(&["n2"]);
    let message = default_profile().map(|profile| host(schedule(&profile, &s, p)));
    assert_eq!(
        message.ok().as_deref(),
        Some(
            "error: 0/4 nodes are available: 1 Insufficient cpu, 3 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
        )
    );
}

#[test]
fn pre_filter_rejection_should_be_the_whole_message() {
    let s = two_nodes();
    let conflicting = vec![
        node_req("metadata.name", "In", &["n1"]),
        node_req("metadata.name", "In", &["n2"]),
    ];
    let p = pod("p").required_node_fields(conflicting);
    let message = default_profile().map(|profile| host(schedule(&profile, &s, p)));
    assert_eq!(
        message.ok().as_deref(),
        Some(
            "error: 0/2 nodes are available: pod affinity terms conflict. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
        )
    );
}

#[test]
fn least_allocated_should_spread_assumed_pods() {
    let mut s = two_nodes();
    let profile = default_profile().expect("default profile");
    let mut scheduler = Scheduler::with_seed(3);
    for i in 0..4 {
        let p = pod(&format!("p{i}")).req("1", "1Gi").info();
        let result = scheduler.schedule_pod(&profile, &s, &mut CycleState::new(), &p);
        let node = result.map(|r| r.suggested_host).expect("schedulable");
        s.add_pod(p, &node);
    }
    let pods = |n: &str| s.node_by_name(n).map(|i| i.pods().len());
    assert_eq!((pods("n1"), pods("n2")), (Some(2), Some(2)));
}

#[test]
fn the_nominated_node_should_be_tried_first() {
    let s = snapshot(
        vec![
            node("big").cap("8", "8Gi"),
            node("nominated").cap("2", "2Gi"),
        ],
        vec![],
    );
    let profile = default_profile().expect("default profile");
    let result = schedule(&profile, &s, pod("p").req("1", "").nominated("nominated"));
    assert_eq!(
        result.map(|r| (r.suggested_host, r.feasible_nodes)).ok(),
        Some(("nominated".into(), 1))
    );
}

#[test]
fn sampling_should_stop_after_enough_feasible_nodes_and_rotate() {
    let nodes = (0..200)
        .map(|i| node(&format!("n{i:03}")).cap("4", "8Gi"))
        .collect();
    let s = snapshot(nodes, vec![]);
    let profile = Profile::builder("x")
        .plugin(
            crate::plugins::node_resources_fit::NodeResourcesFit::default(),
            1,
        )
        .percentage_of_nodes_to_score(50)
        .build()
        .expect("valid profile");
    let mut scheduler = Scheduler::with_seed(5);
    for _ in 0..3 {
        let result = scheduler.schedule_pod(&profile, &s, &mut CycleState::new(), &pod("p").info());
        assert_eq!(result.map(|r| r.evaluated_nodes).ok(), Some(100));
    }
    assert_eq!(scheduler.next_start_node_index_for_tests(), 100);
}

#[test]
fn an_empty_cluster_should_report_no_nodes() {
    let profile = default_profile().expect("default profile");
    let result = schedule(&profile, &Snapshot::new(), pod("p"));
    assert_eq!(
        result.map_err(|e| e.to_string()),
        Err("no nodes available to schedule pods".into())
    );
}

#[test]
fn invalid_profiles_should_be_rejected() {
    let dup = Profile::builder("x")
        .plugin(fake("A", &[]), 1)
        .plugin(fake("A", &[]), 1)
        .build();
    assert!(dup.is_err());
    let zero = Profile::builder("x").plugin(fake("A", &[]), 0).build();
    assert!(zero.is_err());
    let pct = Profile::builder("x")
        .percentage_of_nodes_to_score(101)
        .build();
    assert!(pct.is_err());
}

#[test]
fn permit_should_wait_reject_or_allow() {
    let profile = Profile::builder("x")
        .plugin(FakePostFilter, 0)
        .build()
        .expect("valid profile");
    let p = pod("p").info();
    let state = CycleState::new();
    let (status, timeout) = profile.run_permit(&state, &p, "slow");
    assert_eq!(
        (status.code(), timeout),
        (Code::Wait, Duration::from_secs(5))
    );
    assert_eq!(
        profile.run_permit(&state, &p, "denied").0.plugin(),
        "FakePreemption"
    );
    assert!(profile.run_permit(&state, &p, "fast").0.is_success());
    assert!(profile.run_bind(&state, &p, "fast").is_skip());
}

/// Throughput probe for the 2,500 pods/s × 5,000 nodes target. Run with
/// `cargo test --release -p berth-scheduler -- --ignored --nocapture`.
#[test]
#[ignore = "throughput probe; run in release"]
fn throughput_on_five_thousand_nodes() {
    let nodes = (0..5000)
        .map(|i| {
            node(&format!("node-{i:04}"))
                .cap("32", "128Gi")
                .zone(&format!("z{}", i % 10))
        })
        .collect();
    let mut s = snapshot(nodes, vec![]);
    let profile = default_profile().expect("default profile");
    let mut scheduler = Scheduler::with_seed(11);
    let pods: Vec<_> = (0..2500)
        .map(|i| {
            pod(&format!("p{i}"))
                .label("app", &format!("web-{}", i % 50))
                .req("100m", "256Mi")
                .info()
        })
        .collect();
    let start = std::time::Instant::now();
    for p in pods {
        let result = scheduler.schedule_pod(&profile, &s, &mut CycleState::new(), &p);
        let node = result.map(|r| r.suggested_host).expect("schedulable");
        s.add_pod(p, &node);
    }
    let elapsed = start.elapsed();
    println!(
        "2500 pods on 5000 nodes in {elapsed:?}: {:.0} pods/s",
        2500.0 / elapsed.as_secs_f64()
    );
}
