//! NodeResourcesBalancedAllocation: prefer nodes whose resource use stays
//! balanced across resources after placing the pod.

use super::resource_allocation::{ResourceSpec, allocatable_and_requested, balanced_allocation};
use crate::framework::{
    ActionType, ClusterEvent, CycleState, EventResource, Plugin, PreScorePlugin, ScorePlugin,
    Status,
};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::snapshot::Snapshot;

/// The NodeResourcesBalancedAllocation plugin.
#[derive(Debug, Clone)]
pub struct BalancedAllocation {
    resources: Vec<ResourceSpec>,
}

impl Default for BalancedAllocation {
    fn default() -> Self {
        Self::new(ResourceSpec::defaults())
    }
}

impl BalancedAllocation {
    /// Balances the given resources (weights are ignored, as upstream).
    pub fn new(resources: Vec<ResourceSpec>) -> Self {
        Self { resources }
    }
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        super::names::NODE_RESOURCES_BALANCED_ALLOCATION
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::new(EventResource::AssignedPod, ActionType::DELETE),
            ClusterEvent::new(
                EventResource::Node,
                ActionType::ADD.or(ActionType::UPDATE_NODE_ALLOCATABLE),
            ),
        ]
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreScorePlugin for BalancedAllocation {
    /// Best-effort pods are not scored, so that they do not all pile onto
    /// one node (upstream issue 129138).
    fn pre_score(&self, _: &mut CycleState, pod: &PodInfo, _: &Snapshot, _: &[usize]) -> Status {
        let best_effort = self
            .resources
            .iter()
            .all(|r| pod.requests.get(&r.name) == 0);
        if best_effort {
            Status::skip()
        } else {
            Status::success()
        }
    }
}

impl ScorePlugin for BalancedAllocation {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let usage = allocatable_and_requested(node, pod, &self.resources, true);
        Ok(balanced_allocation(usage.allocatable(), usage.requested()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    #[test]
    fn balanced_nodes_should_score_higher() {
        let plugin = BalancedAllocation::default();
        let p = pod("p").req("1", "2500").info();
        let mut skewed = node("a").cap("4", "10000").info();
        skewed.add_pod(pod("u").req("2", "2500").info());
        // fractions 3/4 and 5000/10000 → std 0.125 → 87
        let got = plugin.score(&CycleState::new(), &p, &skewed).unwrap_or(-1);
        assert_eq!(got, 87);
        let mut even = node("b").cap("4", "10000").info();
        even.add_pod(pod("u").req("1", "2500").info());
        // fractions 1/2 and 1/2 → 100
        assert_eq!(
            plugin.score(&CycleState::new(), &p, &even).unwrap_or(-1),
            100
        );
    }

    #[test]
    fn best_effort_pods_should_skip_scoring() {
        let plugin = BalancedAllocation::default();
        let s = Snapshot::new();
        let status = plugin.pre_score(
            &mut CycleState::new(),
            &pod("p").container().info(),
            &s,
            &[],
        );
        assert!(status.is_skip());
        let status = plugin.pre_score(
            &mut CycleState::new(),
            &pod("p").req("1m", "").info(),
            &s,
            &[],
        );
        assert!(status.is_success());
    }
}
