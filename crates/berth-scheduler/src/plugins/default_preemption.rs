//! DefaultPreemption (PostFilter): when no node fits, find the node where
//! evicting the fewest, least important lower-priority pods makes the pod
//! fit, preferring victims whose PodDisruptionBudgets allow the disruption;
//! nominate that node and name the victims. The service deletes them and
//! sets `status.nominatedNodeName`; the pod is retried once they are gone.
//!
//! Not here: reserving nominated pods' room against lower-priority pods
//! (upstream's AddNominatedPods), clearing other pods' lower-priority
//! nominations, extenders.

mod victims;

use crate::framework::{
    Code, CycleState, Diagnosis, FitError, NodeToStatus, Plugin, PostFilterPlugin,
    PostFilterResult, Profile, Status,
};
use crate::pod_info::PodInfo;
use crate::snapshot::Snapshot;
use victims::{Candidate, select_victims_on_node};

/// Candidates evaluated: at least this many nodes...
const MIN_CANDIDATE_NODES_ABSOLUTE: usize = 100;
/// ...or this percentage of the nodes.
const MIN_CANDIDATE_NODES_PERCENTAGE: usize = 10;

/// The DefaultPreemption plugin.
#[derive(Debug, Default, Clone, Copy)]
pub struct DefaultPreemption;

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        super::names::DEFAULT_PREEMPTION
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        Some(self)
    }
}

impl PostFilterPlugin for DefaultPreemption {
    fn post_filter(
        &self,
        profile: &Profile,
        _: &CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        filtered: &NodeToStatus,
    ) -> (PostFilterResult, Status) {
        if let Some(reason) = not_eligible(pod, snapshot) {
            let message = format!("preemption: not eligible due to {reason}.");
            return (
                PostFilterResult::default(),
                Status::new(Code::Unschedulable, message),
            );
        }
        match find_candidates(profile, pod, snapshot, filtered) {
            Ok(candidate) => (
                PostFilterResult {
                    nominated_node_name: Some(snapshot.node(candidate.node).name().to_owned()),
                    victims: candidate.victims,
                },
                Status::success(),
            ),
            Err(error) => {
                let message = format!("preemption: {error}");
                (
                    PostFilterResult::default(),
                    Status::new(Code::Unschedulable, message),
                )
            }
        }
    }
}

/// Why the pod may not preempt, as upstream's `PodEligibleToPreemptOthers`.
fn not_eligible(pod: &PodInfo, snapshot: &Snapshot) -> Option<&'static str> {
    let spec = pod.pod().spec.as_ref();
    if spec.and_then(|s| s.preemption_policy.as_deref()) == Some("Never") {
        return Some("preemptionPolicy=Never");
    }
    let nominated = pod.pod().status.as_ref()?.nominated_node_name.as_deref()?;
    let node = snapshot.node_by_name(nominated)?;
    let victim_terminating = node
        .pods()
        .iter()
        .any(|p| p.is_terminating() && p.priority() < pod.priority());
    victim_terminating.then_some("a terminating pod on the nominated node")
}

const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

/// Evaluates nodes rejected with a resolvable status and returns the best
/// candidate, or why there is none (upstream's FitError of preemption).
fn find_candidates(
    profile: &Profile,
    pod: &PodInfo,
    snapshot: &Snapshot,
    filtered: &NodeToStatus,
) -> Result<Candidate, Box<FitError>> {
    let wanted =
        (snapshot.len() * MIN_CANDIDATE_NODES_PERCENTAGE / 100).max(MIN_CANDIDATE_NODES_ABSOLUTE);
    let mut diagnosis = Diagnosis::default();
    diagnosis
        .node_to_status
        .set_absent(Status::new(Code::UnschedulableAndUnresolvable, NOT_HELPFUL));
    let mut best: Option<Candidate> = None;
    let mut found = 0;
    for node in 0..snapshot.len() {
        let resolvable = filtered
            .get(node)
            .is_some_and(|s| s.code() == Code::Unschedulable);
        if !resolvable || found >= wanted {
            continue;
        }
        match select_victims_on_node(profile, pod, snapshot, node) {
            Ok(candidate) => {
                found += 1;
                if best.as_ref().is_none_or(|b| candidate.rank() < b.rank()) {
                    best = Some(candidate);
                }
            }
            Err(status) => diagnosis.node_to_status.set(node, status),
        }
    }
    best.ok_or_else(|| {
        Box::new(FitError {
            pod: pod.key().to_owned(),
            num_all_nodes: snapshot.len(),
            diagnosis,
        })
    })
}

#[cfg(test)]
mod tests;
