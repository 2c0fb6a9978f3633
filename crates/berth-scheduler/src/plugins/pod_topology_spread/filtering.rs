//! PodTopologySpread filtering: `matching pods in the node's domain + self −
//! global minimum ≤ maxSkew` for every DoNotSchedule constraint.

use std::collections::HashMap;

use super::{
    Constraint, DO_NOT_SCHEDULE, ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH,
    PodTopologySpread, has_all_topology_keys, indexed_counts, pod_constraints,
};
use crate::framework::{
    Code, CycleState, FilterPlugin, PreFilterExtensions, PreFilterPlugin, PreFilterResult, Status,
};
use crate::node_info::NodeInfo;
use crate::node_selector::RequiredNodeAffinity;
use crate::pod_info::PodInfo;
use crate::snapshot::Snapshot;

/// Per constraint: matching pods per domain, and the global minimum used
/// for skew (0 when fewer than minDomains domains exist).
struct PreFilterState {
    constraints: Vec<Constraint>,
    matches: Vec<HashMap<String, i64>>,
    global_min: Vec<i64>,
    self_match: Vec<bool>,
}

impl PreFilterPlugin for PodTopologySpread {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (PreFilterResult, Status) {
        let constraints = match pod_constraints(pod, DO_NOT_SCHEDULE) {
            Ok(c) if c.is_empty() => return (PreFilterResult::all_nodes(), Status::skip()),
            Ok(c) => c,
            Err(e) => return (PreFilterResult::all_nodes(), Status::error(e.to_string())),
        };
        let required = RequiredNodeAffinity::from_pod(pod.pod());
        let indexed: Vec<_> = constraints
            .iter()
            .map(|c| indexed_counts(c, &constraints, pod, &required, snapshot))
            .collect();
        let matches = if indexed.iter().all(Option::is_some) {
            indexed.into_iter().flatten().collect()
        } else {
            scan_matches(&constraints, pod, &required, snapshot)
        };
        let global_min = constraints
            .iter()
            .zip(&matches)
            .map(|(c, counts)| global_min(c, counts))
            .collect();
        let self_match = constraints
            .iter()
            .map(|c| c.selector.matches(pod.labels()))
            .collect();
        state.write(PreFilterState {
            constraints,
            matches,
            global_min,
            self_match,
        });
        (PreFilterResult::all_nodes(), Status::success())
    }
}

/// Matching pods per domain by a scan of every node (node inclusion
/// policies or topology keys missing on some nodes).
fn scan_matches(
    constraints: &[Constraint],
    pod: &PodInfo,
    required: &RequiredNodeAffinity,
    snapshot: &Snapshot,
) -> Vec<HashMap<String, i64>> {
    let mut matches = vec![HashMap::new(); constraints.len()];
    for node in snapshot.nodes() {
        if !has_all_topology_keys(node, constraints) {
            continue;
        }
        for (c, counts) in constraints.iter().zip(matches.iter_mut()) {
            if !c.includes_node(pod, required, node.node()) {
                continue;
            }
            let value = node
                .labels()
                .get(&c.topology_key)
                .cloned()
                .unwrap_or_default();
            *counts.entry(value).or_default() += c.count_matching(node, pod.namespace());
        }
    }
    matches
}

impl PreFilterExtensions for PodTopologySpread {
    fn update_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        other: &PodInfo,
        node: &NodeInfo,
        _: &Snapshot,
        delta: i64,
    ) -> Status {
        let Some(s) = state.read_mut::<PreFilterState>() else {
            return Status::success();
        };
        if !has_all_topology_keys(node, &s.constraints)
            || other.is_terminating()
            || other.namespace() != pod.namespace()
        {
            return Status::success();
        }
        let required = RequiredNodeAffinity::from_pod(pod.pod());
        for (i, c) in s.constraints.iter().enumerate() {
            if !c.includes_node(pod, &required, node.node()) || !c.selector.matches(other.labels())
            {
                continue;
            }
            let Some(value) = node.labels().get(&c.topology_key) else {
                continue;
            };
            *s.matches[i].entry(value.clone()).or_default() += delta;
            s.global_min[i] = global_min(c, &s.matches[i]);
        }
        Status::success()
    }
}

/// The minimum matching pods over domains; 0 while fewer than minDomains exist.
fn global_min(c: &Constraint, counts: &HashMap<String, i64>) -> i64 {
    if counts.len() < c.min_domains {
        0
    } else {
        counts
            .values()
            .copied()
            .min()
            .unwrap_or(i64::from(i32::MAX))
    }
}

impl FilterPlugin for PodTopologySpread {
    fn filter(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<PreFilterState>() else {
            return Status::error("PodTopologySpread PreFilter state missing");
        };
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(value) = node.labels().get(&c.topology_key) else {
                return Status::new(
                    Code::UnschedulableAndUnresolvable,
                    ERR_REASON_NODE_LABEL_NOT_MATCH,
                );
            };
            let in_domain = s.matches[i].get(value).copied().unwrap_or(0);
            let skew = in_domain + i64::from(s.self_match[i]) - s.global_min[i];
            if skew > c.max_skew {
                return Status::new(Code::Unschedulable, ERR_REASON_CONSTRAINTS_NOT_MATCH);
            }
        }
        Status::success()
    }
}
