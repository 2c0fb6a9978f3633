//! Victim selection on one node, as upstream's `SelectVictimsOnNode`:
//! remove every lower-priority pod; if the pod then fits, add them back one
//! by one, most important first (PDB-violating ones before the others), and
//! keep as victims only those whose return makes the pod unschedulable.

use std::cmp::Reverse;
use std::sync::Arc;

use super::NO_VICTIMS;
use crate::framework::{Code, CycleState, Profile, Status};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::snapshot::{DisruptionBudget, Snapshot};

/// A node where preemption makes the pod fit, with what it costs.
#[derive(Debug)]
pub(super) struct Candidate {
    /// The node (index into the snapshot).
    pub node: usize,
    /// Pods to evict, most important first.
    pub victims: Vec<Arc<PodInfo>>,
    /// Victims whose eviction violates a PodDisruptionBudget.
    pub pdb_violations: usize,
}

impl Candidate {
    /// Upstream's order (lower is better): fewest PDB violations, lowest
    /// highest victim priority, lowest priority sum, fewest victims.
    pub fn rank(&self) -> (usize, i64, i64, usize) {
        let highest = self
            .victims
            .iter()
            .map(|v| i64::from(v.priority()))
            .max()
            .unwrap_or(i64::MIN);
        // Offset so that negative priorities still add up to a positive cost.
        let sum = self
            .victims
            .iter()
            .map(|v| i64::from(v.priority()) + i64::from(i32::MAX) + 1)
            .sum();
        (self.pdb_violations, highest, sum, self.victims.len())
    }
}

/// The minimal victims on `node`, or why preemption cannot help there (the
/// Filter status with every lower-priority pod gone, or no such pod).
pub(super) fn select_victims_on_node(
    profile: &Profile,
    pod: &PodInfo,
    snapshot: &Snapshot,
    node: usize,
) -> Result<Candidate, Status> {
    let mut potential: Vec<Arc<PodInfo>> = snapshot
        .node(node)
        .pods()
        .iter()
        .filter(|p| p.priority() < pod.priority())
        .cloned()
        .collect();
    if potential.is_empty() {
        return Err(Status::new(Code::UnschedulableAndUnresolvable, NO_VICTIMS));
    }
    let mut state = CycleState::new();
    profile.run_pre_filter(&mut state, pod, snapshot)?;
    let mut info = snapshot.node(node).clone();
    let mut sim = Simulation {
        profile,
        pod,
        snapshot,
        state: &mut state,
        info: &mut info,
    };
    for victim in &potential {
        sim.remove(victim);
    }
    let status = sim.filter();
    if !status.is_success() {
        return Err(status);
    }
    potential.sort_by_key(|p| (Reverse(p.priority()), start_time(p)));
    let (violating, allowed) = split_by_budgets(potential, snapshot.disruption_budgets());
    let mut candidate = Candidate {
        node,
        victims: Vec::new(),
        pdb_violations: 0,
    };
    for (group, violates) in [(violating, true), (allowed, false)] {
        for pod in group {
            if !sim.reprieve(&pod) {
                candidate.pdb_violations += usize::from(violates);
                candidate.victims.push(pod);
            }
        }
    }
    Ok(candidate)
}

/// A what-if copy of one node and the cycle state that follows it.
struct Simulation<'a> {
    profile: &'a Profile,
    pod: &'a PodInfo,
    snapshot: &'a Snapshot,
    state: &'a mut CycleState,
    info: &'a mut NodeInfo,
}

impl Simulation<'_> {
    fn remove(&mut self, other: &Arc<PodInfo>) {
        self.info.remove_pod(other.key());
        self.profile
            .run_update_pod(self.state, self.pod, other, self.info, self.snapshot, -1);
    }

    fn add(&mut self, other: &Arc<PodInfo>) {
        self.info.add_pod(Arc::clone(other));
        self.profile
            .run_update_pod(self.state, self.pod, other, self.info, self.snapshot, 1);
    }

    fn filter(&self) -> Status {
        self.profile.run_filter(self.state, self.pod, self.info)
    }

    /// Puts `other` back; keeps it when the pod still fits, else removes it
    /// again and returns false (it is a victim).
    fn reprieve(&mut self, other: &Arc<PodInfo>) -> bool {
        self.add(other);
        if self.filter().is_success() {
            return true;
        }
        self.remove(other);
        false
    }
}

fn start_time(pod: &PodInfo) -> Option<jiff::Timestamp> {
    let status = pod.pod().status.as_ref();
    status
        .and_then(|s| s.start_time.as_ref())
        .or(pod.pod().metadata.creation_timestamp.as_ref())
        .map(|t| t.0)
}

/// Splits pods into those whose eviction would exceed a matching budget's
/// `disruptionsAllowed` and the rest, spending the budgets in order.
fn split_by_budgets(
    pods: Vec<Arc<PodInfo>>,
    budgets: &[DisruptionBudget],
) -> (Vec<Arc<PodInfo>>, Vec<Arc<PodInfo>>) {
    let mut allowed: Vec<i64> = budgets.iter().map(|b| b.disruptions_allowed).collect();
    let mut violating = Vec::new();
    let mut rest = Vec::new();
    for pod in pods {
        let mut violates = false;
        for (budget, left) in budgets.iter().zip(allowed.iter_mut()) {
            if budget.namespace != pod.namespace() || !budget.selector.matches(pod.labels()) {
                continue;
            }
            *left -= 1;
            if *left < 0 {
                violates = true;
            }
        }
        if violates {
            violating.push(pod);
        } else {
            rest.push(pod);
        }
    }
    (violating, rest)
}
