//! PodTopologySpread scoring: fewer matching pods in a node's domains scores
//! higher; domains are weighted by `ln(number of domains + 2)`.

use std::collections::{HashMap, HashSet};

use super::{
    Constraint, LABEL_HOSTNAME, PodTopologySpread, SCHEDULE_ANYWAY, default_constraints,
    has_all_topology_keys, has_own_constraints, indexed_counts, pod_constraints,
};
use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeScore, PreScorePlugin, ScorePlugin, Status,
};
use crate::node_info::NodeInfo;
use crate::node_selector::RequiredNodeAffinity;
use crate::pod_info::PodInfo;
use crate::snapshot::Snapshot;

struct PreScoreState {
    constraints: Vec<Constraint>,
    /// Nodes lacking a topology key of the pod's own constraints score 0.
    require_all_topologies: bool,
    ignored: HashSet<usize>,
    /// Matching pods per domain of feasible nodes (hostname is counted in Score).
    counts: Vec<HashMap<String, i64>>,
    weights: Vec<f64>,
}

impl PreScorePlugin for PodTopologySpread {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        feasible: &[usize],
    ) -> Status {
        let own = has_own_constraints(pod);
        let constraints = if own {
            match pod_constraints(pod, SCHEDULE_ANYWAY) {
                Ok(c) => c,
                Err(e) => return Status::error(e.to_string()),
            }
        } else {
            default_constraints(pod, snapshot)
        };
        if constraints.is_empty() || feasible.is_empty() {
            return Status::skip();
        }
        let mut s = PreScoreState {
            counts: vec![HashMap::new(); constraints.len()],
            weights: Vec::new(),
            ignored: HashSet::new(),
            require_all_topologies: own,
            constraints,
        };
        init_domains(&mut s, snapshot, feasible);
        count_pods(&mut s, pod, snapshot);
        state.write(s);
        Status::success()
    }
}

fn init_domains(s: &mut PreScoreState, snapshot: &Snapshot, feasible: &[usize]) {
    for &i in feasible {
        let node = snapshot.node(i);
        if s.require_all_topologies && !has_all_topology_keys(node, &s.constraints) {
            s.ignored.insert(i);
            continue;
        }
        for (c, counts) in s.constraints.iter().zip(s.counts.iter_mut()) {
            if c.topology_key == LABEL_HOSTNAME {
                continue;
            }
            let value = node
                .labels()
                .get(&c.topology_key)
                .cloned()
                .unwrap_or_default();
            counts.entry(value).or_insert(0);
        }
    }
    let scored_nodes = feasible.len() - s.ignored.len();
    s.weights = s
        .constraints
        .iter()
        .zip(&s.counts)
        .map(|(c, counts)| {
            let domains = if c.topology_key == LABEL_HOSTNAME {
                scored_nodes
            } else {
                counts.len()
            };
            ((domains + 2) as f64).ln()
        })
        .collect();
}

fn count_pods(s: &mut PreScoreState, pod: &PodInfo, snapshot: &Snapshot) {
    let required = RequiredNodeAffinity::from_pod(pod.pod());
    let mut scan = Vec::new();
    for (i, c) in s.constraints.iter().enumerate() {
        if c.topology_key == LABEL_HOSTNAME {
            continue;
        }
        match indexed_counts(c, &s.constraints, pod, &required, snapshot) {
            Some(indexed) => {
                for (value, count) in s.counts[i].iter_mut() {
                    *count += indexed.get(value).copied().unwrap_or(0);
                }
            }
            None => scan.push(i),
        }
    }
    if scan.is_empty() {
        return;
    }
    for node in snapshot.nodes() {
        if !has_all_topology_keys(node, &s.constraints) {
            continue;
        }
        for &i in &scan {
            let c = &s.constraints[i];
            if !c.includes_node(pod, &required, node.node()) {
                continue;
            }
            let value = node
                .labels()
                .get(&c.topology_key)
                .map(String::as_str)
                .unwrap_or_default();
            if let Some(count) = s.counts[i].get_mut(value) {
                *count += c.count_matching(node, pod.namespace());
            }
        }
    }
}

impl ScorePlugin for PodTopologySpread {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let s = state
            .read::<PreScoreState>()
            .ok_or_else(|| Status::error("PodTopologySpread PreScore state missing"))?;
        if s.require_all_topologies && !has_all_topology_keys(node, &s.constraints) {
            return Ok(0);
        }
        let mut score = 0.0;
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(value) = node.labels().get(&c.topology_key) else {
                continue;
            };
            let count = if c.topology_key == LABEL_HOSTNAME {
                c.count_matching(node, pod.namespace())
            } else {
                s.counts[i].get(value).copied().unwrap_or(0)
            };
            score += count as f64 * s.weights[i] + (c.max_skew - 1) as f64;
        }
        Ok(score.round() as i64)
    }

    /// Inverts raw scores: `100 × (max + min − score) / max`; ignored nodes get 0.
    fn normalize_score(&self, state: &CycleState, _: &PodInfo, scores: &mut [NodeScore]) -> Status {
        let Some(s) = state.read::<PreScoreState>() else {
            return Status::success();
        };
        let valid = |n: &NodeScore| !s.ignored.contains(&n.node);
        let min = scores
            .iter()
            .filter(|n| valid(n))
            .map(|n| n.score)
            .min()
            .unwrap_or(0);
        let max = scores
            .iter()
            .filter(|n| valid(n))
            .map(|n| n.score)
            .max()
            .unwrap_or(0);
        for n in scores.iter_mut() {
            n.score = if !valid(n) {
                0
            } else if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - n.score) / max
            };
        }
        Status::success()
    }
}
