//! PodTopologySpread filtering: `matching pods in the node's domain + self −
//! global minimum ≤ maxSkew` for every DoNotSchedule constraint.

use std::collections::HashMap;

use super::{
    Constraint, DO_NOT_SCHEDULE, ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH,
    PodTopologySpread, has_all_topology_keys, pod_constraints,
};
use crate::framework::{Code, CycleState, FilterPlugin, PreFilterPlugin, PreFilterResult, Status};
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
        let mut matches = vec![HashMap::new(); constraints.len()];
        for node in snapshot.nodes() {
            if !has_all_topology_keys(node, &constraints) {
                continue;
            }
            for (c, counts) in constraints.iter().zip(matches.iter_mut()) {
                if !c.includes_node(pod, &required, node.node()) {
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
        let global_min = constraints
            .iter()
            .zip(&matches)
            .map(|(c, counts)| {
                if counts.len() < c.min_domains {
                    0
                } else {
                    counts
                        .values()
                        .copied()
                        .min()
                        .unwrap_or(i64::from(i32::MAX))
                }
            })
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
