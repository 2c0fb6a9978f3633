use super::*;
use crate::framework::{CycleState, NodeScore, Status};
use crate::snapshot::WorkloadSelector;
use crate::testing::{NodeBuilder, PodBuilder, ZONE, label_selector, node, pod, snapshot, spread};

const SKEW: &str = ERR_REASON_CONSTRAINTS_NOT_MATCH;
const LABEL: &str = ERR_REASON_NODE_LABEL_NOT_MATCH;

fn web() -> PodBuilder {
    pod("p").label("app", "web")
}

fn web_pods(placements: &[(&'static str, usize)]) -> Vec<(PodBuilder, &'static str)> {
    let mut pods = Vec::new();
    for (node_name, count) in placements {
        for i in 0..*count {
            pods.push((
                pod(&format!("web-{node_name}-{i}")).label("app", "web"),
                *node_name,
            ));
        }
    }
    pods
}

/// Filter messages per node; None when PreFilter skips.
fn filter_all(s: &Snapshot, p: PodBuilder) -> Option<Vec<String>> {
    let p = p.info();
    let mut state = CycleState::new();
    let (_, status) = PodTopologySpread.pre_filter(&mut state, &p, s);
    if status.is_skip() {
        return None;
    }
    Some(
        s.nodes()
            .iter()
            .map(|n| PodTopologySpread.filter(&state, &p, n).message())
            .collect(),
    )
}

fn zone_spread(max_skew: i32) -> crate::testing::SpreadBuilder {
    spread(ZONE, max_skew, "DoNotSchedule", &[("app", "web")])
}

fn ok() -> String {
    String::new()
}

#[test]
fn pods_without_hard_constraints_should_skip_filtering() {
    let s = snapshot(vec![node("n1").zone("z1")], vec![]);
    assert_eq!(filter_all(&s, web()), None);
    let soft = web().spread(spread(ZONE, 1, "ScheduleAnyway", &[("app", "web")]));
    assert_eq!(filter_all(&s, soft), None);
}

#[test]
fn skew_above_max_should_reject_and_missing_topology_should_be_unresolvable() {
    let nodes = vec![
        node("n1").zone("z1"),
        node("n2").zone("z1"),
        node("n3").zone("z2"),
        node("n4"),
    ];
    let s = snapshot(nodes, web_pods(&[("n1", 2)]));
    let got = filter_all(&s, web().spread(zone_spread(1)));
    assert_eq!(
        got,
        Some(vec![SKEW.into(), SKEW.into(), ok(), LABEL.into()])
    );
    let relaxed = filter_all(&s, web().spread(zone_spread(3)));
    assert_eq!(relaxed, Some(vec![ok(), ok(), ok(), LABEL.into()]));
}

#[test]
fn a_pod_not_matching_its_own_selector_should_not_count_itself() {
    let s = snapshot(
        vec![node("n1").zone("z1"), node("n2").zone("z2")],
        web_pods(&[("n1", 1)]),
    );
    let other = pod("p").label("app", "api").spread(zone_spread(1));
    assert_eq!(filter_all(&s, other), Some(vec![ok(), ok()]));
}

#[test]
fn fewer_domains_than_min_domains_should_treat_global_minimum_as_zero() {
    let s = snapshot(
        vec![node("n1").zone("z1"), node("n2").zone("z2")],
        web_pods(&[("n1", 1), ("n2", 1)]),
    );
    assert_eq!(
        filter_all(&s, web().spread(zone_spread(1))),
        Some(vec![ok(), ok()])
    );
    let strict = web().spread(zone_spread(1).min_domains(3));
    assert_eq!(filter_all(&s, strict), Some(vec![SKEW.into(), SKEW.into()]));
    let enough = web().spread(zone_spread(1).min_domains(2));
    assert_eq!(filter_all(&s, enough), Some(vec![ok(), ok()]));
}

#[test]
fn node_affinity_policy_should_decide_which_domains_count() {
    let nodes = vec![
        node("n1").zone("z1").label("pool", "a"),
        node("n2").zone("z2").label("pool", "a"),
        node("n3").zone("z3").label("pool", "b"),
    ];
    let s = snapshot(nodes, web_pods(&[("n1", 1), ("n2", 1)]));
    let honor = web().node_selector("pool", "a").spread(zone_spread(1));
    assert_eq!(filter_all(&s, honor), Some(vec![ok(), ok(), ok()]));
    let ignore = web()
        .node_selector("pool", "a")
        .spread(zone_spread(1).node_affinity_policy("Ignore"));
    assert_eq!(
        filter_all(&s, ignore),
        Some(vec![SKEW.into(), SKEW.into(), ok()])
    );
}

#[test]
fn node_taints_policy_should_decide_which_domains_count() {
    let nodes = vec![
        node("n1").zone("z1"),
        node("n2").zone("z2"),
        node("n3").zone("z3").taint("dedicated", "db", "NoSchedule"),
    ];
    let s = snapshot(nodes, web_pods(&[("n1", 1), ("n2", 1)]));
    let ignore = web().spread(zone_spread(1));
    assert_eq!(
        filter_all(&s, ignore),
        Some(vec![SKEW.into(), SKEW.into(), ok()])
    );
    let honor = web().spread(zone_spread(1).node_taints_policy("Honor"));
    assert_eq!(filter_all(&s, honor), Some(vec![ok(), ok(), ok()]));
}

#[test]
fn match_label_keys_should_count_only_pods_of_the_same_revision() {
    let nodes = vec![node("n1").zone("z1"), node("n2").zone("z2")];
    let old = |i: usize| {
        (
            pod(&format!("old-{i}"))
                .label("app", "web")
                .label("rev", "1"),
            "n1",
        )
    };
    let s = snapshot(nodes, vec![old(0), old(1)]);
    let new = || web().label("rev", "2");
    assert_eq!(
        filter_all(&s, new().spread(zone_spread(1))),
        Some(vec![SKEW.into(), ok()])
    );
    let by_rev = new().spread(zone_spread(1).match_label_keys(&["rev"]));
    assert_eq!(filter_all(&s, by_rev), Some(vec![ok(), ok()]));
}

#[test]
fn terminating_and_other_namespace_pods_should_not_count() {
    let nodes = vec![node("n1").zone("z1"), node("n2").zone("z2")];
    let pods = vec![
        (pod("gone").label("app", "web").terminating(), "n1"),
        (pod("elsewhere").ns("other").label("app", "web"), "n1"),
    ];
    let s = snapshot(nodes, pods);
    assert_eq!(
        filter_all(&s, web().spread(zone_spread(0))),
        Some(vec![SKEW.into(), SKEW.into()])
    );
    assert_eq!(
        filter_all(&s, web().spread(zone_spread(1))),
        Some(vec![ok(), ok()])
    );
}

fn normalized_scores(s: &Snapshot, p: PodBuilder, feasible: &[usize]) -> Option<Vec<i64>> {
    let p = p.info();
    let mut state = CycleState::new();
    let status: Status = PodTopologySpread.pre_score(&mut state, &p, s, feasible);
    if status.is_skip() {
        return None;
    }
    let mut scores: Vec<NodeScore> = feasible
        .iter()
        .map(|&i| NodeScore {
            node: i,
            score: PodTopologySpread
                .score(&state, &p, s.node(i))
                .unwrap_or(-999),
        })
        .collect();
    PodTopologySpread.normalize_score(&state, &p, &mut scores);
    Some(scores.iter().map(|n| n.score).collect())
}

fn zoned(names: &[(&str, Option<&str>)]) -> Vec<NodeBuilder> {
    names
        .iter()
        .map(|(n, z)| match z {
            Some(z) => node(n).zone(z),
            None => node(n),
        })
        .collect()
}

#[test]
fn soft_constraints_should_favour_emptier_domains() {
    let nodes = zoned(&[
        ("n1", Some("z1")),
        ("n2", Some("z1")),
        ("n3", Some("z2")),
        ("n4", None),
    ]);
    let s = snapshot(nodes, web_pods(&[("n1", 2), ("n3", 1)]));
    let p = web().spread(spread(ZONE, 1, "ScheduleAnyway", &[("app", "web")]));
    // weight ln(2 domains + 2); raw z1: round(2×1.386)=3, z2: round(1.386)=1; n4 ignored.
    assert_eq!(
        normalized_scores(&s, p, &[0, 1, 2, 3]),
        Some(vec![33, 33, 100, 0])
    );
}

#[test]
fn system_default_constraints_should_spread_pods_of_the_same_workload() {
    let nodes = zoned(&[("n1", Some("z1")), ("n2", Some("z1")), ("n3", Some("z2"))]);
    let mut s = snapshot(nodes, web_pods(&[("n1", 2)]));
    assert_eq!(normalized_scores(&s, web(), &[0, 1, 2]), None);
    s.set_workload_selectors(vec![WorkloadSelector {
        namespace: "default".into(),
        selector: LabelSelector::from_api(Some(&label_selector(&[("app", "web")])))
            .unwrap_or_else(|_| LabelSelector::nothing()),
    }]);
    // hostname (maxSkew 3, ln 5) + zone (maxSkew 5, ln 4): raw 12, 9, 6.
    assert_eq!(
        normalized_scores(&s, web(), &[0, 1, 2]),
        Some(vec![50, 75, 100])
    );
    assert_eq!(
        normalized_scores(&s, pod("p").label("app", "api"), &[0, 1, 2]),
        None
    );
}
