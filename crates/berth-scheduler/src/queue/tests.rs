use super::*;
use crate::framework::{ActionType, EventResource};
use crate::plugins::{default_profile, names};
use crate::testing::{pod, term};

fn queue() -> (SchedulingQueue<Arc<FakeClock>>, Arc<FakeClock>) {
    let clock = Arc::new(FakeClock::new());
    let registrations = default_profile()
        .map(|p| p.events_to_register())
        .unwrap_or_default();
    (
        SchedulingQueue::new(Arc::clone(&clock), QueueConfig::default(), registrations),
        clock,
    )
}

fn popped_names(q: &mut SchedulingQueue<Arc<FakeClock>>) -> Vec<String> {
    std::iter::from_fn(|| q.pop())
        .map(|i| i.pod.key().to_owned())
        .collect()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Pops `name` and fails it, rejected by `plugins`.
fn fail(q: &mut SchedulingQueue<Arc<FakeClock>>, plugins: &[&'static str]) -> bool {
    let Some(mut info) = q.pop() else {
        return false;
    };
    info.unschedulable_plugins = plugins.iter().copied().collect();
    let cycle = q.scheduling_cycle();
    q.add_unschedulable_if_not_present(info, cycle)
}

const NODE_ADD: ClusterEvent = ClusterEvent::new(EventResource::Node, ActionType::ADD);
const NODE_LABEL: ClusterEvent =
    ClusterEvent::new(EventResource::Node, ActionType::UPDATE_NODE_LABEL);

#[test]
fn active_queue_should_order_by_priority_then_arrival() {
    let (mut q, clock) = queue();
    q.add(pod("low").priority(0).info());
    clock.advance(secs(1));
    q.add(pod("high-late").priority(10).info());
    q.add(pod("mid").priority(5).info());
    clock.advance(secs(1));
    q.add(pod("high-later").priority(10).info());
    assert_eq!(
        popped_names(&mut q),
        [
            "default/high-late",
            "default/high-later",
            "default/mid",
            "default/low"
        ]
    );
}

#[test]
fn backoff_should_double_from_one_second_up_to_ten() {
    let (q, _) = queue();
    let got: Vec<u64> = (1..=6).map(|a| q.backoff_duration(a).as_secs()).collect();
    assert_eq!(got, [1, 2, 4, 8, 10, 10]);
}

#[test]
fn relevant_event_should_move_an_unschedulable_pod_through_backoff() {
    let (mut q, clock) = queue();
    q.add(pod("p").info());
    assert!(fail(&mut q, &[names::NODE_AFFINITY]));
    assert_eq!(q.lengths(), (0, 0, 1));
    q.move_all_to_active_or_backoff(&NODE_LABEL);
    assert_eq!(q.lengths(), (0, 1, 0), "still backing off after 1 attempt");
    clock.advance(Duration::from_millis(999));
    q.flush_backoff_completed();
    assert_eq!(q.lengths(), (0, 1, 0));
    clock.advance(Duration::from_millis(1));
    q.flush_backoff_completed();
    assert_eq!(q.lengths(), (1, 0, 0));
    assert_eq!(q.pop().map(|i| i.attempts), Some(2));
}

#[test]
fn irrelevant_event_should_leave_the_pod_in_the_pool() {
    let (mut q, clock) = queue();
    q.add(pod("p").info());
    assert!(fail(&mut q, &[names::NODE_PORTS]));
    clock.advance(secs(30));
    q.move_all_to_active_or_backoff(&NODE_LABEL);
    assert_eq!(q.lengths(), (0, 0, 1));
    q.move_all_to_active_or_backoff(&NODE_ADD);
    assert_eq!(q.lengths(), (1, 0, 0), "backoff already expired");
}

#[test]
fn event_during_the_attempt_should_send_the_pod_to_backoff() {
    let (mut q, _) = queue();
    q.add(pod("p").info());
    let info = q.pop();
    let cycle = q.scheduling_cycle();
    q.move_all_to_active_or_backoff(&NODE_ADD);
    let mut info = info.map(|mut i| {
        i.unschedulable_plugins.insert(names::NODE_RESOURCES_FIT);
        i
    });
    assert!(
        info.take()
            .is_some_and(|i| q.add_unschedulable_if_not_present(i, cycle))
    );
    assert_eq!(q.lengths(), (0, 1, 0));
}

#[test]
fn errors_should_be_retried_with_backoff() {
    let (mut q, clock) = queue();
    q.add(pod("p").info());
    assert!(fail(&mut q, &[]));
    assert_eq!(q.lengths(), (0, 1, 0));
    assert_eq!(q.next_backoff_expiry(), Some(clock.now() + secs(1)));
}

#[test]
fn pods_left_unschedulable_for_five_minutes_should_be_retried() {
    let (mut q, clock) = queue();
    q.add(pod("p").info());
    assert!(fail(&mut q, &[names::NODE_AFFINITY]));
    clock.advance(secs(300));
    q.flush_unschedulable_leftover();
    assert_eq!(
        q.lengths(),
        (0, 0, 1),
        "exactly five minutes is not over the limit"
    );
    clock.advance(secs(1));
    q.flush_unschedulable_leftover();
    assert_eq!(q.lengths(), (1, 0, 0));
}

#[test]
fn a_pod_deleted_during_its_attempt_should_not_be_requeued() {
    let (mut q, _) = queue();
    q.add(pod("p").info());
    let info = q.pop();
    q.delete("default/p");
    let cycle = q.scheduling_cycle();
    assert!(!info.is_some_and(|i| q.add_unschedulable_if_not_present(i, cycle)));
    assert_eq!(q.lengths(), (0, 0, 0));
}

#[test]
fn updating_an_unschedulable_pod_should_retry_it() {
    let (mut q, clock) = queue();
    q.add(pod("p").info());
    assert!(fail(&mut q, &[names::NODE_AFFINITY]));
    clock.advance(secs(2));
    q.update(pod("p").label("fixed", "yes").info());
    assert_eq!(q.lengths(), (1, 0, 0));
    let popped = q.pop();
    assert_eq!(
        popped.map(|i| i.pod.labels().contains_key("fixed")),
        Some(true)
    );
}

#[test]
fn an_assigned_pod_should_wake_only_pods_with_matching_affinity() {
    let (mut q, _) = queue();
    q.add(
        pod("wants-db")
            .required_affinity(term("zone", &[("app", "db")]))
            .info(),
    );
    q.add(
        pod("wants-cache")
            .required_affinity(term("zone", &[("app", "cache")]))
            .info(),
    );
    assert!(fail(&mut q, &[names::INTER_POD_AFFINITY]));
    assert!(fail(&mut q, &[names::INTER_POD_AFFINITY]));
    let event = ClusterEvent::new(EventResource::AssignedPod, ActionType::ADD);
    q.assigned_pod_added(&pod("db").label("app", "db").info(), &event);
    let (active, backoff, unschedulable) = q.lengths();
    assert_eq!((active + backoff, unschedulable), (1, 1));
}
