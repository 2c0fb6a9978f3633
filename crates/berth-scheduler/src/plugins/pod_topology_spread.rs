//! PodTopologySpread: `topologySpreadConstraints` with
//! `whenUnsatisfiable: DoNotSchedule` filter nodes (maxSkew, minDomains, node
//! inclusion policies, matchLabelKeys); `ScheduleAnyway` constraints, or the
//! system default constraints for pods without any, score them.

mod filtering;
mod scoring;

use k8s_openapi::api::core::v1::{Node, TopologySpreadConstraint};

use crate::framework::{
    ActionType, ClusterEvent, EventResource, FilterPlugin, Plugin, PreFilterPlugin, PreScorePlugin,
    ScorePlugin,
};
use crate::node_info::NodeInfo;
use crate::node_selector::RequiredNodeAffinity;
use crate::pod_info::PodInfo;
use crate::selector::{LabelSelector, Requirement, SelectorError};
use crate::snapshot::{PodQuery, Snapshot};
use crate::toleration::find_untolerated_hard_taint;

/// Filter reason when the skew would exceed maxSkew.
pub const ERR_REASON_CONSTRAINTS_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints";
/// Filter reason when the node lacks a constraint's topology key.
pub const ERR_REASON_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

/// The node label for host-level spreading.
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
/// The node label for zone-level spreading.
pub const LABEL_TOPOLOGY_ZONE: &str = "topology.kubernetes.io/zone";

const DO_NOT_SCHEDULE: &str = "DoNotSchedule";
const SCHEDULE_ANYWAY: &str = "ScheduleAnyway";

/// A compiled spread constraint.
#[derive(Debug, Clone)]
pub(crate) struct Constraint {
    max_skew: i64,
    topology_key: String,
    selector: LabelSelector,
    min_domains: usize,
    honor_node_affinity: bool,
    honor_node_taints: bool,
}

impl Constraint {
    fn compile(c: &TopologySpreadConstraint, pod: &PodInfo) -> Result<Self, SelectorError> {
        let mut selector = LabelSelector::from_api(c.label_selector.as_ref())?;
        for key in c.match_label_keys.iter().flatten() {
            if let Some(value) = pod.labels().get(key) {
                selector.push(Requirement::is_in(key, vec![value.clone()]));
            }
        }
        Ok(Self {
            max_skew: i64::from(c.max_skew),
            topology_key: c.topology_key.clone(),
            selector,
            min_domains: c.min_domains.map_or(1, |d| d.max(0) as usize),
            honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
            honor_node_taints: c.node_taints_policy.as_deref() == Some("Honor"),
        })
    }

    /// True when the node counts towards this constraint's domains under the
    /// nodeAffinityPolicy / nodeTaintsPolicy.
    fn includes_node(&self, pod: &PodInfo, required: &RequiredNodeAffinity, node: &Node) -> bool {
        if self.honor_node_affinity && !required.matches(node) {
            return false;
        }
        if self.honor_node_taints {
            let tolerations = pod
                .pod()
                .spec
                .as_ref()
                .and_then(|s| s.tolerations.as_deref())
                .unwrap_or_default();
            let taints = node
                .spec
                .as_ref()
                .and_then(|s| s.taints.as_deref())
                .unwrap_or_default();
            if find_untolerated_hard_taint(taints, tolerations).is_some() {
                return false;
            }
        }
        true
    }

    /// Pods on the node in the pod's namespace, not terminating, selected.
    fn count_matching(&self, node: &NodeInfo, namespace: &str) -> i64 {
        node.pods()
            .iter()
            .filter(|p| {
                !p.is_terminating()
                    && p.namespace() == namespace
                    && self.selector.matches(p.labels())
            })
            .count() as i64
    }
}

/// Per-domain matching pods of one constraint read from the snapshot's
/// incremental counts: `Some` when every node with the topology key counts
/// (no node inclusion policy narrows them and no other constraint's key is
/// missing anywhere), `None` when the caller must scan nodes.
fn indexed_counts(
    c: &Constraint,
    constraints: &[Constraint],
    pod: &PodInfo,
    required: &RequiredNodeAffinity,
    snapshot: &Snapshot,
) -> Option<std::collections::HashMap<String, i64>> {
    let narrowed = c.honor_node_taints || (c.honor_node_affinity && !required.is_empty());
    let keys_everywhere = constraints.len() == 1
        || constraints
            .iter()
            .all(|other| snapshot.nodes_with_label(&other.topology_key) == snapshot.len());
    if narrowed || !keys_everywhere {
        return None;
    }
    let query = PodQuery::Spread {
        namespace: pod.namespace().to_owned(),
        selector: c.selector.clone(),
    };
    let domains = snapshot.label_values(&c.topology_key)?;
    Some(
        snapshot.with_domain_counts(&query, &c.topology_key, |counts| {
            domains
                .keys()
                .map(|value| (value.clone(), counts.get(value).copied().unwrap_or(0)))
                .collect()
        }),
    )
}

/// True when the node has every constraint's topology key.
fn has_all_topology_keys(node: &NodeInfo, constraints: &[Constraint]) -> bool {
    constraints
        .iter()
        .all(|c| node.labels().contains_key(&c.topology_key))
}

/// The pod's own constraints with the given `whenUnsatisfiable`.
fn pod_constraints(pod: &PodInfo, when: &str) -> Result<Vec<Constraint>, SelectorError> {
    pod.pod()
        .spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_deref())
        .unwrap_or_default()
        .iter()
        .filter(|c| c.when_unsatisfiable == when)
        .map(|c| Constraint::compile(c, pod))
        .collect()
}

fn has_own_constraints(pod: &PodInfo) -> bool {
    pod.pod()
        .spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_ref())
        .is_some_and(|c| !c.is_empty())
}

/// The system default constraints (hostname maxSkew 3, zone maxSkew 5, both
/// ScheduleAnyway) selecting the pods of the workloads that select this pod.
fn default_constraints(pod: &PodInfo, snapshot: &Snapshot) -> Vec<Constraint> {
    let mut selector: Option<LabelSelector> = None;
    for workload in snapshot.workload_selectors() {
        if workload.namespace == pod.namespace() && workload.selector.matches(pod.labels()) {
            selector
                .get_or_insert_with(LabelSelector::everything)
                .and(&workload.selector);
        }
    }
    let Some(selector) = selector.filter(|s| !s.is_everything()) else {
        return Vec::new();
    };
    [(LABEL_HOSTNAME, 3), (LABEL_TOPOLOGY_ZONE, 5)]
        .into_iter()
        .map(|(key, max_skew)| Constraint {
            max_skew,
            topology_key: key.to_owned(),
            selector: selector.clone(),
            min_domains: 1,
            honor_node_affinity: true,
            honor_node_taints: false,
        })
        .collect()
}

/// The PodTopologySpread plugin (with system default constraints).
#[derive(Debug, Default, Clone, Copy)]
pub struct PodTopologySpread;

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        super::names::POD_TOPOLOGY_SPREAD
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::new(EventResource::AssignedPod, ActionType::ALL),
            ClusterEvent::new(
                EventResource::Node,
                ActionType::ADD
                    .or(ActionType::DELETE)
                    .or(ActionType::UPDATE_NODE_LABEL)
                    .or(ActionType::UPDATE_NODE_TAINT),
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
    fn as_pre_filter_extensions(&self) -> Option<&dyn crate::framework::PreFilterExtensions> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

#[cfg(test)]
mod tests;
