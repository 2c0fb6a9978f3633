//! InterPodAffinity scoring: preferred terms of the incoming pod against
//! existing pods, and existing pods' terms against the incoming pod.

use std::collections::BTreeMap;

use super::{InterPodAffinity, TopologyCounts, add_count, count_in};
use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeScore, PreScorePlugin, ScorePlugin, Status,
};
use crate::node_info::NodeInfo;
use crate::pod_info::{AffinityTerm, PodInfo, WeightedAffinityTerm};
use crate::snapshot::Snapshot;

/// Score per topology domain, summed by Score for each node.
struct PreScoreState {
    topology_score: TopologyCounts,
}

impl PreScorePlugin for InterPodAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        _: &[usize],
    ) -> Status {
        let has_constraints =
            !(pod.preferred_affinity.is_empty() && pod.preferred_anti_affinity.is_empty());
        let incoming_ns_labels = snapshot.namespace_labels(pod.namespace());
        let mut scores = TopologyCounts::new();
        for node in snapshot.nodes() {
            if !has_constraints && node.pods_with_affinity() == 0 {
                continue;
            }
            for existing in node.pods() {
                if !has_constraints && !existing.has_affinity() {
                    continue;
                }
                let existing_ns_labels = snapshot.namespace_labels(existing.namespace());
                let mut domain = Domain {
                    scores: &mut scores,
                    node,
                };
                domain.add_weighted(&pod.preferred_affinity, existing, existing_ns_labels, 1);
                domain.add_weighted(
                    &pod.preferred_anti_affinity,
                    existing,
                    existing_ns_labels,
                    -1,
                );
                if self.hard_pod_affinity_weight > 0 && !node.labels().is_empty() {
                    for term in &existing.required_affinity {
                        domain.add(term, pod, incoming_ns_labels, self.hard_pod_affinity_weight);
                    }
                }
                domain.add_weighted(&existing.preferred_affinity, pod, incoming_ns_labels, 1);
                domain.add_weighted(
                    &existing.preferred_anti_affinity,
                    pod,
                    incoming_ns_labels,
                    -1,
                );
            }
        }
        if scores.is_empty() {
            return Status::skip();
        }
        state.write(PreScoreState {
            topology_score: scores,
        });
        Status::success()
    }
}

/// Adds weights to the domains of one node.
struct Domain<'a> {
    scores: &'a mut TopologyCounts,
    node: &'a NodeInfo,
}

impl Domain<'_> {
    fn add(
        &mut self,
        term: &AffinityTerm,
        target: &PodInfo,
        ns_labels: Option<&BTreeMap<String, String>>,
        weight: i64,
    ) {
        if !term.matches(target, ns_labels) {
            return;
        }
        if let Some(value) = self.node.labels().get(&term.topology_key) {
            add_count(self.scores, &term.topology_key, value, weight);
        }
    }

    fn add_weighted(
        &mut self,
        terms: &[WeightedAffinityTerm],
        target: &PodInfo,
        ns_labels: Option<&BTreeMap<String, String>>,
        sign: i64,
    ) {
        for weighted in terms {
            self.add(&weighted.term, target, ns_labels, weighted.weight * sign);
        }
    }
}

impl ScorePlugin for InterPodAffinity {
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let s = state
            .read::<PreScoreState>()
            .ok_or_else(|| Status::error("InterPodAffinity PreScore state missing"))?;
        let score = s
            .topology_score
            .keys()
            .filter_map(|key| {
                let value = node.labels().get(key)?;
                Some(count_in(&s.topology_score, key, value))
            })
            .sum();
        Ok(score)
    }

    /// Min-max scaling to `[0, 100]` (all zero when every node scores the same).
    fn normalize_score(&self, _: &CycleState, _: &PodInfo, scores: &mut [NodeScore]) -> Status {
        let min = scores.iter().map(|s| s.score).min().unwrap_or(0);
        let max = scores.iter().map(|s| s.score).max().unwrap_or(0);
        let spread = max - min;
        for s in scores.iter_mut() {
            s.score = if spread > 0 {
                (MAX_NODE_SCORE as f64 * ((s.score - min) as f64 / spread as f64)) as i64
            } else {
                0
            };
        }
        Status::success()
    }
}
