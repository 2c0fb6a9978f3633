use super::*;
use serde_json::json;

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).expect("valid")
}

fn pod(name: &str, ready: bool, deleting: bool) -> Arc<Pod> {
    let mut p: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "ns"},
        "status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": if ready { "True" } else { "False" }}]}
    }))
    .expect("pod");
    if deleting {
        p.metadata.deletion_timestamp = Some(Time(at(0)));
    }
    Arc::new(p)
}

fn pdb(disrupted: &[(&str, i64)]) -> PodDisruptionBudget {
    let mut pdb: PodDisruptionBudget = serde_json::from_value(json!({
        "metadata": {"name": "b", "namespace": "ns", "generation": 2},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "a"}}}
    }))
    .expect("pdb");
    let map = disrupted
        .iter()
        .map(|(n, s)| (n.to_string(), Time(at(*s))))
        .collect();
    pdb.status = Some(PodDisruptionBudgetStatus {
        disrupted_pods: Some(map),
        ..Default::default()
    });
    pdb
}

#[test]
fn recently_disrupted_and_terminating_pods_are_not_healthy() {
    let pods = vec![
        pod("a", true, false),
        pod("b", true, false),
        pod("c", true, true),
        pod("d", false, false),
    ];
    let budget = pdb(&[("b", 0), ("a", -500)]);
    let now = at(10);
    let (disrupted, recheck) = disrupted_pods(&budget, &pods, now);
    assert_eq!(
        disrupted.keys().collect::<Vec<_>>(),
        ["b"],
        "a's disruption expired"
    );
    assert_eq!(recheck, Some(at(120)), "b's deletion deadline");
    assert_eq!(count_healthy(&pods, &disrupted, now), 1, "only a");
}

#[test]
fn disruptions_allowed_is_healthy_minus_desired_never_negative() {
    let budget = pdb(&[]);
    let counts = Counts {
        expected: 3,
        desired_healthy: 2,
        unmanaged: 0,
    };
    let s = calculate(&budget, 3, counts, BTreeMap::new(), at(0));
    assert_eq!(
        (
            s.current_healthy,
            s.desired_healthy,
            s.expected_pods,
            s.disruptions_allowed
        ),
        (3, 2, 3, 1)
    );
    assert_eq!(s.observed_generation, Some(2));
    let cond = &s.conditions.as_ref().expect("conditions")[0];
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_str()),
        ("True", SUFFICIENT_PODS)
    );
    let s = calculate(&budget, 1, counts, BTreeMap::new(), at(0));
    assert_eq!(s.disruptions_allowed, 0);
    let cond = &s.conditions.as_ref().expect("conditions")[0];
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_str()),
        ("False", INSUFFICIENT_PODS)
    );
    let none_expected = Counts {
        expected: 0,
        ..counts
    };
    assert_eq!(
        calculate(&budget, 5, none_expected, BTreeMap::new(), at(0)).disruptions_allowed,
        0
    );
}

#[test]
fn a_failed_sync_allows_no_disruption() {
    let mut budget = pdb(&[]);
    budget.status = Some(PodDisruptionBudgetStatus {
        disruptions_allowed: 3,
        ..Default::default()
    });
    let s = failed(&budget, "found no controllers for pod \"x\"", at(0));
    assert_eq!(s.disruptions_allowed, 0);
    let cond = &s.conditions.as_ref().expect("conditions")[0];
    assert_eq!(cond.reason, SYNC_FAILED);
    assert!(cond.message.contains("no controllers"));
}

#[test]
fn the_condition_keeps_its_transition_time_while_unchanged() {
    let mut budget = pdb(&[]);
    let counts = Counts {
        expected: 3,
        desired_healthy: 2,
        unmanaged: 0,
    };
    budget.status = Some(calculate(&budget, 3, counts, BTreeMap::new(), at(0)));
    let later = calculate(&budget, 3, counts, BTreeMap::new(), at(50));
    let cond = &later.conditions.as_ref().expect("conditions")[0];
    assert_eq!(cond.last_transition_time, Time(at(0)));
    let flipped = calculate(&budget, 2, counts, BTreeMap::new(), at(60));
    let cond = &flipped.conditions.as_ref().expect("conditions")[0];
    assert_eq!(cond.last_transition_time, Time(at(60)));
}
