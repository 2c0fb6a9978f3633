use std::sync::Arc;

use crate::framework::{CycleState, ScheduleError, Scheduler};
use crate::plugins::default_profile;
use crate::snapshot::{DisruptionBudget, Snapshot};
use crate::testing::{HOSTNAME, PodBuilder, label_selector, node, pod, snapshot, term};

/// (nominated node, victim names) or the failure message.
fn preempt(s: &Snapshot, p: PodBuilder) -> Result<(String, Vec<String>), String> {
    preempt_pod(s, p.info())
}

fn preempt_pod(
    s: &Snapshot,
    p: Arc<crate::pod_info::PodInfo>,
) -> Result<(String, Vec<String>), String> {
    let profile = default_profile().map_err(|e| e.to_string())?;
    let mut state = CycleState::new();
    match Scheduler::with_seed(7).schedule_pod(&profile, s, &mut state, &p) {
        Ok(result) => Err(format!("scheduled on {}", result.suggested_host)),
        Err(ScheduleError::Unschedulable {
            nominated_node_name: Some(node),
            victims,
            ..
        }) => Ok((node, victims.iter().map(|v| v.key().to_owned()).collect())),
        Err(other) => Err(other.to_string()),
    }
}

fn low(name: &str, cpu: &str, priority: i32) -> PodBuilder {
    pod(name).req(cpu, "1Gi").priority(priority)
}

#[test]
fn preemption_should_evict_only_what_the_pod_needs_least_important_first() {
    let s = snapshot(
        vec![node("n1").cap("4", "32Gi")],
        vec![
            (low("a", "1", 1), "n1"),
            (low("b", "1", 2), "n1"),
            (low("c", "2", 0), "n1"),
        ],
    );
    let high = pod("high").req("2", "1Gi").priority(10);
    assert_eq!(
        preempt(&s, high),
        Ok(("n1".into(), vec!["default/c".into()]))
    );
}

#[test]
fn preemption_should_prefer_the_node_with_lower_priority_victims() {
    let s = snapshot(
        vec![node("n1").cap("2", "32Gi"), node("n2").cap("2", "32Gi")],
        vec![(low("a", "2", 5), "n1"), (low("b", "2", 1), "n2")],
    );
    let high = pod("high").req("2", "1Gi").priority(10);
    assert_eq!(
        preempt(&s, high),
        Ok(("n2".into(), vec!["default/b".into()]))
    );
}

#[test]
fn preemption_should_avoid_violating_a_disruption_budget_when_it_can() {
    let mut s = snapshot(
        vec![node("n1").cap("2", "32Gi"), node("n2").cap("2", "32Gi")],
        vec![
            (low("a", "2", 1).label("app", "db"), "n1"),
            (low("b", "2", 3), "n2"),
        ],
    );
    s.set_disruption_budgets(vec![DisruptionBudget {
        namespace: "default".into(),
        selector: crate::selector::LabelSelector::from_api(Some(&label_selector(&[("app", "db")])))
            .unwrap_or_else(|_| crate::selector::LabelSelector::nothing()),
        disruptions_allowed: 0,
    }]);
    let high = pod("high").req("2", "1Gi").priority(10);
    assert_eq!(
        preempt(&s, high),
        Ok(("n2".into(), vec!["default/b".into()]))
    );
}

#[test]
fn preemption_should_never_evict_equal_or_higher_priority_pods() {
    let s = snapshot(
        vec![node("n1").cap("2", "32Gi")],
        vec![(low("a", "2", 10), "n1")],
    );
    let high = pod("high").req("2", "1Gi").priority(10);
    assert_eq!(
        preempt(&s, high),
        Err("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.".into())
    );
}

#[test]
fn preemption_policy_never_should_make_the_pod_ineligible() {
    let s = snapshot(
        vec![node("n1").cap("2", "32Gi")],
        vec![(low("a", "2", 1), "n1")],
    );
    let mut high = pod("high").req("2", "1Gi").priority(10).build();
    if let Some(spec) = high.spec.as_mut() {
        spec.preemption_policy = Some("Never".into());
    }
    let info = crate::pod_info::PodInfo::new(Arc::new(high)).map(Arc::new);
    let result = info
        .map_err(|e| e.to_string())
        .and_then(|p| preempt_pod(&s, p));
    assert_eq!(
        result,
        Err("0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.".into())
    );
}

#[test]
fn preemption_should_evict_a_pod_that_blocks_required_anti_affinity() {
    let s = snapshot(
        vec![node("n1").cap("8", "32Gi")],
        vec![
            (low("web", "1", 1).label("app", "web"), "n1"),
            (low("other", "1", 1), "n1"),
        ],
    );
    let high = pod("high")
        .req("1", "1Gi")
        .priority(10)
        .required_anti_affinity(term(HOSTNAME, &[("app", "web")]));
    assert_eq!(
        preempt(&s, high),
        Ok(("n1".into(), vec!["default/web".into()]))
    );
}

#[test]
fn a_pod_with_terminating_victims_on_its_nominated_node_should_wait() {
    let s = snapshot(
        vec![node("n1").cap("2", "32Gi")],
        vec![(low("a", "2", 1).terminating(), "n1")],
    );
    let high = pod("high").req("2", "1Gi").priority(10).nominated("n1");
    let result = preempt(&s, high);
    assert!(
        result.as_ref().is_err_and(|m| m
            .ends_with("preemption: not eligible due to a terminating pod on the nominated node.")),
        "{result:?}"
    );
}
