//! InterPodAffinity scoring: preferred terms of the incoming pod against
//! existing pods, and existing pods' terms against the incoming pod.

use super::{InterPodAffinity, TopologyCounts, add_counts, count_in};
use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeScore, PreScorePlugin, ScorePlugin, Status,
};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::snapshot::{PodQuery, Snapshot, TermKind};

/// Score per topology domain, summed by Score for each node.
struct PreScoreState {
    topology_score: TopologyCounts,
}

impl PreScorePlugin for InterPodAffinity {
    /// O(distinct terms + domains): the incoming pod's preferred terms read
    /// cached per-domain counts; existing pods' terms are deduplicated in
    /// the snapshot with their per-domain counts (or weight sums).
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        _: &[usize],
    ) -> Status {
        let mut scores = TopologyCounts::new();
        for (terms, sign) in [
            (&pod.preferred_affinity, 1),
            (&pod.preferred_anti_affinity, -1),
        ] {
            for weighted in terms {
                let term = &weighted.term;
                let query = PodQuery::AllTerms(vec![term.clone()]);
                snapshot.with_domain_counts(&query, &term.topology_key, |counts| {
                    add_counts(
                        &mut scores,
                        &term.topology_key,
                        counts,
                        weighted.weight * sign,
                    );
                });
            }
        }
        let incoming_ns_labels = snapshot.namespace_labels(pod.namespace());
        let existing = [
            (TermKind::RequiredAffinity, self.hard_pod_affinity_weight),
            (TermKind::PreferredAffinity, 1),
            (TermKind::PreferredAntiAffinity, -1),
        ];
        for (kind, weight) in existing {
            for (term, counts) in snapshot.existing_terms(kind) {
                if term.matches(pod, incoming_ns_labels) {
                    add_counts(&mut scores, &term.topology_key, counts, weight);
                }
            }
        }
        scores.retain(|_, values| {
            values.retain(|_, v| *v != 0);
            !values.is_empty()
        });
        if scores.is_empty() {
            return Status::skip();
        }
        state.write(PreScoreState {
            topology_score: scores,
        });
        Status::success()
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
