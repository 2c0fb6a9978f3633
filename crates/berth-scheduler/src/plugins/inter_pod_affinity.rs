//! InterPodAffinity: required pod affinity / anti-affinity (including the
//! anti-affinity of pods already running, which must not be violated by the
//! incoming pod) filter nodes; preferred terms of both sides score them.

mod scoring;

use std::collections::HashMap;

use crate::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, Plugin,
    PreFilterExtensions, PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, Status,
};
use crate::node_info::NodeInfo;
use crate::pod_info::{AffinityTerm, PodInfo};
use crate::snapshot::{DomainCounts, PodQuery, Snapshot, TermKind};

/// Filter reason: no pod matching the required affinity in the node's domain.
pub const ERR_REASON_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod affinity rules";
/// Filter reason: a pod matching the required anti-affinity is in the node's domain.
pub const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't match pod anti-affinity rules";
/// Filter reason: an existing pod's anti-affinity forbids the incoming pod there.
pub const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";

/// Weight given to existing pods' required affinity terms when scoring.
pub const DEFAULT_HARD_POD_AFFINITY_WEIGHT: i64 = 1;

/// Counts of matching pods per topology key, then per topology value.
pub(crate) type TopologyCounts = HashMap<String, HashMap<String, i64>>;

fn count_in(counts: &TopologyCounts, key: &str, value: &str) -> i64 {
    counts
        .get(key)
        .and_then(|values| values.get(value))
        .copied()
        .unwrap_or(0)
}

/// The InterPodAffinity plugin.
#[derive(Debug, Clone, Copy)]
pub struct InterPodAffinity {
    hard_pod_affinity_weight: i64,
}

impl Default for InterPodAffinity {
    fn default() -> Self {
        Self {
            hard_pod_affinity_weight: DEFAULT_HARD_POD_AFFINITY_WEIGHT,
        }
    }
}

impl InterPodAffinity {
    /// With `hardPodAffinityWeight` (0-100).
    pub fn new(hard_pod_affinity_weight: i64) -> Self {
        Self {
            hard_pod_affinity_weight,
        }
    }
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        super::names::INTER_POD_AFFINITY
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::new(EventResource::AssignedPod, ActionType::ALL),
            ClusterEvent::new(
                EventResource::Node,
                ActionType::ADD.or(ActionType::UPDATE_NODE_LABEL),
            ),
            ClusterEvent::new(EventResource::UnscheduledPod, ActionType::UPDATE_POD_LABEL),
        ]
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_filter_extensions(&self) -> Option<&dyn PreFilterExtensions> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

/// What Filter needs, computed once per cycle.
#[derive(Debug, Default)]
struct PreFilterState {
    /// Domains where an existing pod's required anti-affinity matches the incoming pod.
    existing_anti_affinity: TopologyCounts,
    /// Domains with pods matching all of the incoming pod's required affinity terms.
    affinity: TopologyCounts,
    /// Domains with pods matching one of the incoming pod's required anti-affinity terms.
    anti_affinity: TopologyCounts,
    required_affinity: Vec<AffinityTerm>,
    required_anti_affinity: Vec<AffinityTerm>,
    /// The incoming pod matches all its own affinity terms.
    matches_own_affinity: bool,
}

impl PreFilterPlugin for InterPodAffinity {
    /// O(distinct terms + matching domains): reads the snapshot's
    /// incrementally kept per-domain counts instead of scanning pods.
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (PreFilterResult, Status) {
        let own_ns_labels = snapshot.namespace_labels(pod.namespace());
        let mut s = PreFilterState {
            required_affinity: pod.required_affinity.clone(),
            required_anti_affinity: pod.required_anti_affinity.clone(),
            ..Default::default()
        };
        for (term, counts) in snapshot.existing_terms(TermKind::RequiredAntiAffinity) {
            if term.matches(pod, own_ns_labels) {
                add_counts(&mut s.existing_anti_affinity, &term.topology_key, counts, 1);
            }
        }
        let all = PodQuery::AllTerms(s.required_affinity.clone());
        for term in &s.required_affinity {
            snapshot.with_domain_counts(&all, &term.topology_key, |counts| {
                add_counts(&mut s.affinity, &term.topology_key, counts, 1);
            });
        }
        for term in &s.required_anti_affinity {
            let one = PodQuery::AllTerms(vec![term.clone()]);
            snapshot.with_domain_counts(&one, &term.topology_key, |counts| {
                add_counts(&mut s.anti_affinity, &term.topology_key, counts, 1);
            });
        }
        let needs_incoming =
            !(s.required_affinity.is_empty() && s.required_anti_affinity.is_empty());
        if s.existing_anti_affinity.is_empty() && !needs_incoming {
            return (PreFilterResult::all_nodes(), Status::skip());
        }
        s.matches_own_affinity = matches_all(&s.required_affinity, pod, own_ns_labels);
        state.write(s);
        (PreFilterResult::all_nodes(), Status::success())
    }
}

/// Adds `weight ×` per-domain counts of one topology key.
pub(crate) fn add_counts(into: &mut TopologyCounts, key: &str, counts: &DomainCounts, weight: i64) {
    if counts.is_empty() || weight == 0 {
        return;
    }
    let values = into.entry(key.to_owned()).or_default();
    for (value, count) in counts {
        *values.entry(value.clone()).or_default() += count * weight;
    }
}

fn matches_all(
    terms: &[AffinityTerm],
    pod: &PodInfo,
    ns_labels: Option<&std::collections::BTreeMap<String, String>>,
) -> bool {
    !terms.is_empty() && terms.iter().all(|t| t.matches(pod, ns_labels))
}

impl PreFilterExtensions for InterPodAffinity {
    fn update_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        other: &PodInfo,
        node: &NodeInfo,
        snapshot: &Snapshot,
        delta: i64,
    ) -> Status {
        let Some(s) = state.read_mut::<PreFilterState>() else {
            return Status::success();
        };
        let own_ns_labels = snapshot.namespace_labels(pod.namespace());
        let other_ns_labels = snapshot.namespace_labels(other.namespace());
        let labels = node.labels();
        let bump = |counts: &mut TopologyCounts, key: &str| {
            if let Some(value) = labels.get(key) {
                let values = counts.entry(key.to_owned()).or_default();
                *values.entry(value.clone()).or_default() += delta;
                values.retain(|_, c| *c != 0);
                if values.is_empty() {
                    counts.remove(key);
                }
            }
        };
        for term in &other.required_anti_affinity {
            if term.matches(pod, own_ns_labels) {
                bump(&mut s.existing_anti_affinity, &term.topology_key);
            }
        }
        if matches_all(&s.required_affinity, other, other_ns_labels) {
            for term in &s.required_affinity {
                bump(&mut s.affinity, &term.topology_key);
            }
        }
        for term in &s.required_anti_affinity {
            if term.matches(other, other_ns_labels) {
                bump(&mut s.anti_affinity, &term.topology_key);
            }
        }
        Status::success()
    }
}

impl FilterPlugin for InterPodAffinity {
    fn filter(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<PreFilterState>() else {
            return Status::error("InterPodAffinity PreFilter state missing");
        };
        if !satisfies_affinity(s, node) {
            return Status::new(
                Code::UnschedulableAndUnresolvable,
                ERR_REASON_AFFINITY_RULES_NOT_MATCH,
            );
        }
        if !satisfies_anti_affinity(s, node) {
            return Status::new(
                Code::Unschedulable,
                ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
            );
        }
        if !satisfies_existing_anti_affinity(s, node) {
            return Status::new(
                Code::Unschedulable,
                ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH,
            );
        }
        Status::success()
    }
}

/// Every affinity term's domain on this node holds a matching pod; or no pod
/// matches anywhere yet and the pod matches its own terms (the first pod of
/// a group with affinity to itself).
fn satisfies_affinity(s: &PreFilterState, node: &NodeInfo) -> bool {
    let mut pods_exist = true;
    for term in &s.required_affinity {
        let Some(value) = node.labels().get(&term.topology_key) else {
            return false;
        };
        if count_in(&s.affinity, &term.topology_key, value) <= 0 {
            pods_exist = false;
        }
    }
    pods_exist || (s.affinity.is_empty() && s.matches_own_affinity)
}

fn satisfies_anti_affinity(s: &PreFilterState, node: &NodeInfo) -> bool {
    s.required_anti_affinity.iter().all(|term| {
        node.labels()
            .get(&term.topology_key)
            .is_none_or(|value| count_in(&s.anti_affinity, &term.topology_key, value) <= 0)
    })
}

fn satisfies_existing_anti_affinity(s: &PreFilterState, node: &NodeInfo) -> bool {
    s.existing_anti_affinity.iter().all(|(key, values)| {
        node.labels()
            .get(key)
            .is_none_or(|value| values.get(value).copied().unwrap_or(0) <= 0)
    })
}

#[cfg(test)]
mod tests;
