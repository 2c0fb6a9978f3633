//! One scheduling cycle: PreFilter → Filter (sampled) → PreScore → Score →
//! select host, or a `FitError` after PostFilter.

use std::collections::BTreeSet;

use super::cycle_state::CycleState;
use super::fit_error::{Diagnosis, FitError};
use super::profile::Profile;
use super::status::{Code, Status};
use crate::pod_info::PodInfo;
use crate::snapshot::Snapshot;

/// Below this many nodes every node is evaluated.
const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// The adaptive percentage never drops below this.
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;

/// Where the pod should go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleResult {
    /// The chosen node.
    pub suggested_host: String,
    /// Nodes Filter ran on.
    pub evaluated_nodes: usize,
    /// Nodes that passed Filter.
    pub feasible_nodes: usize,
}

/// Why a cycle produced no node.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ScheduleError {
    /// The snapshot has no node at all.
    #[error("no nodes available to schedule pods")]
    NoNodesAvailable,
    /// No node fits; carries the per-node reasons and the nominated node, if
    /// PostFilter (preemption) nominated one.
    #[error("{error}")]
    Unschedulable {
        /// The reasons (boxed: the error path is rare and the value large).
        error: Box<FitError>,
        /// The node nominated by PostFilter.
        nominated_node_name: Option<String>,
        /// Pods PostFilter (preemption) chose to evict from that node.
        victims: Vec<std::sync::Arc<PodInfo>>,
    },
    /// A plugin failed internally.
    #[error("running plugin {}: {status}", status.plugin())]
    Plugin {
        /// The failing status.
        status: Status,
    },
}

/// The scheduling algorithm's state across cycles: where the next node
/// sampling starts (so successive pods look at different nodes) and the
/// random source that breaks score ties.
#[derive(Debug, Clone)]
pub struct Scheduler {
    next_start_node_index: usize,
    rng: TieBreaker,
}

impl Default for Scheduler {
    fn default() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Self::with_seed(seed)
    }
}

impl Scheduler {
    /// A scheduler whose tie-breaking is reproducible.
    pub fn with_seed(seed: u64) -> Self {
        Self {
            next_start_node_index: 0,
            rng: TieBreaker(seed | 1),
        }
    }

    /// Runs one scheduling cycle for `pod` against `snapshot`.
    pub fn schedule_pod(
        &mut self,
        profile: &Profile,
        snapshot: &Snapshot,
        state: &mut CycleState,
        pod: &PodInfo,
    ) -> Result<ScheduleResult, ScheduleError> {
        if snapshot.is_empty() {
            return Err(ScheduleError::NoNodesAvailable);
        }
        let mut diagnosis = Diagnosis::default();
        let feasible = self.find_nodes_that_fit(profile, snapshot, state, pod, &mut diagnosis)?;
        let evaluated_nodes = feasible.len() + diagnosis.node_to_status.len();
        match feasible.as_slice() {
            [] => Err(self.fit_error(profile, snapshot, state, pod, diagnosis)),
            [only] => Ok(ScheduleResult {
                suggested_host: snapshot.node(*only).name().to_owned(),
                evaluated_nodes,
                feasible_nodes: 1,
            }),
            _ => {
                profile
                    .run_pre_score(state, pod, snapshot, &feasible)
                    .map_err(plugin_error)?;
                let totals = profile
                    .run_score(state, pod, snapshot, &feasible)
                    .map_err(plugin_error)?;
                let chosen = self.rng.select_host(&feasible, &totals);
                Ok(ScheduleResult {
                    suggested_host: snapshot.node(chosen).name().to_owned(),
                    evaluated_nodes,
                    feasible_nodes: feasible.len(),
                })
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn next_start_node_index_for_tests(&self) -> usize {
        self.next_start_node_index
    }

    fn find_nodes_that_fit(
        &mut self,
        profile: &Profile,
        snapshot: &Snapshot,
        state: &mut CycleState,
        pod: &PodInfo,
        diagnosis: &mut Diagnosis,
    ) -> Result<Vec<usize>, ScheduleError> {
        let outcome = match profile.run_pre_filter(state, pod, snapshot) {
            Ok(outcome) => outcome,
            Err(status) if status.is_rejected() => {
                diagnosis.pre_filter_msg = status.message();
                diagnosis.unschedulable_plugins.insert(status.plugin());
                diagnosis.node_to_status.set_absent(status);
                return Ok(Vec::new());
            }
            Err(status) => return Err(plugin_error(status)),
        };
        if let Some(node) = self.feasible_nominated_node(profile, snapshot, state, pod) {
            return Ok(vec![node]);
        }
        let candidates: Vec<usize> = match &outcome.result.node_names {
            None => (0..snapshot.len()).collect(),
            Some(names) => {
                let plugins: BTreeSet<_> = outcome.narrowed_by.iter().copied().collect();
                let list = plugins.into_iter().collect::<Vec<_>>().join(" ");
                diagnosis.node_to_status.set_absent(Status::new(
                    Code::UnschedulableAndUnresolvable,
                    format!("node(s) didn't satisfy plugin(s) [{list}]"),
                ));
                names.iter().filter_map(|n| snapshot.index_of(n)).collect()
            }
        };
        self.filter_candidates(profile, snapshot, state, pod, &candidates, diagnosis)
    }

    /// Evaluates `status.nominatedNodeName` first, as upstream does.
    fn feasible_nominated_node(
        &self,
        profile: &Profile,
        snapshot: &Snapshot,
        state: &CycleState,
        pod: &PodInfo,
    ) -> Option<usize> {
        let name = pod.pod().status.as_ref()?.nominated_node_name.as_deref()?;
        let index = snapshot.index_of(name)?;
        profile
            .run_filter(state, pod, snapshot.node(index))
            .is_success()
            .then_some(index)
    }

    fn filter_candidates(
        &mut self,
        profile: &Profile,
        snapshot: &Snapshot,
        state: &CycleState,
        pod: &PodInfo,
        candidates: &[usize],
        diagnosis: &mut Diagnosis,
    ) -> Result<Vec<usize>, ScheduleError> {
        let total = candidates.len();
        if total == 0 {
            return Ok(Vec::new());
        }
        let wanted = num_feasible_nodes_to_find(profile.percentage_of_nodes_to_score(), total);
        let mut feasible = Vec::with_capacity(wanted);
        let start = self.next_start_node_index % total;
        let mut processed = 0;
        let filters = profile.active_filters(state);
        for offset in 0..total {
            let node = candidates[(start + offset) % total];
            processed += 1;
            let status = filters.run(state, pod, snapshot.node(node));
            if status.is_success() {
                feasible.push(node);
                if feasible.len() >= wanted {
                    break;
                }
            } else if status.is_rejected() {
                diagnosis.unschedulable_plugins.insert(status.plugin());
                diagnosis.node_to_status.set(node, status);
            } else {
                return Err(plugin_error(status));
            }
        }
        self.next_start_node_index = (start + processed) % total;
        Ok(feasible)
    }

    fn fit_error(
        &self,
        profile: &Profile,
        snapshot: &Snapshot,
        state: &CycleState,
        pod: &PodInfo,
        mut diagnosis: Diagnosis,
    ) -> ScheduleError {
        let mut nominated_node_name = None;
        let mut victims = Vec::new();
        if profile.has_post_filter() {
            let (result, status) =
                profile.run_post_filter(state, pod, snapshot, &diagnosis.node_to_status);
            if status.is_success() {
                nominated_node_name = result.nominated_node_name;
                victims = result.victims;
            }
            diagnosis.post_filter_msg = status.message();
        }
        ScheduleError::Unschedulable {
            error: Box::new(FitError {
                pod: pod.key().to_owned(),
                num_all_nodes: snapshot.len(),
                diagnosis,
            }),
            nominated_node_name,
            victims,
        }
    }
}

fn plugin_error(status: Status) -> ScheduleError {
    ScheduleError::Plugin { status }
}

/// How many feasible nodes to find before scoring, as upstream: all nodes
/// below 100; otherwise `percentage` (or adaptively `50 - nodes/125`, at
/// least 5) percent of the nodes, but never fewer than 100.
pub fn num_feasible_nodes_to_find(percentage: Option<u32>, num_all_nodes: usize) -> usize {
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND {
        return num_all_nodes;
    }
    let percentage = match percentage {
        Some(p) if p > 0 => p as usize,
        _ => 50usize
            .saturating_sub(num_all_nodes / 125)
            .max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND),
    };
    (num_all_nodes * percentage / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// A small xorshift generator: reservoir sampling among top-scored nodes.
#[derive(Debug, Clone)]
struct TieBreaker(u64);

impl TieBreaker {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// The highest-scored node; ties are broken uniformly at random.
    fn select_host(&mut self, nodes: &[usize], totals: &[i64]) -> usize {
        let mut best = 0;
        let mut ties = 1u64;
        for i in 1..nodes.len() {
            if totals[i] > totals[best] {
                best = i;
                ties = 1;
            } else if totals[i] == totals[best] {
                ties += 1;
                if self.next().is_multiple_of(ties) {
                    best = i;
                }
            }
        }
        nodes[best]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feasible_node_count_should_follow_upstream_formula() {
        let cases = [
            (None, 50, 50),
            (None, 99, 99),
            (None, 100, 100),
            (None, 1000, 420),
            (None, 5000, 500),
            (None, 6000, 300),
            (None, 20000, 1000),
            (Some(30), 1000, 300),
            (Some(5), 1000, 100),
            (Some(100), 1000, 1000),
        ];
        for (percentage, nodes, want) in cases {
            assert_eq!(
                num_feasible_nodes_to_find(percentage, nodes),
                want,
                "{nodes}"
            );
        }
    }

    #[test]
    fn ties_should_be_broken_across_all_top_nodes() {
        let mut rng = TieBreaker(42);
        let mut seen = [0usize; 4];
        for _ in 0..400 {
            seen[rng.select_host(&[0, 1, 2, 3], &[5, 9, 9, 9])] += 1;
        }
        assert_eq!(seen[0], 0);
        assert!(seen[1..].iter().all(|&n| n > 60), "{seen:?}");
    }
}
