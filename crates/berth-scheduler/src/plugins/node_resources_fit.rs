//! NodeResourcesFit: the node must have room for the pod's effective request,
//! and nodes are scored by a resource strategy (LeastAllocated by default).

use std::borrow::Cow;

use super::resource_allocation::{
    ResourceSpec, UtilizationShapePoint, allocatable_and_requested, least_allocated,
    most_allocated, requested_to_capacity_ratio,
};
use crate::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, Plugin, ScorePlugin,
    Status,
};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// How NodeResourcesFit scores nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScoringStrategy {
    /// Prefer nodes with the most free resources (spreading).
    LeastAllocated(Vec<ResourceSpec>),
    /// Prefer nodes with the least free resources (bin packing).
    MostAllocated(Vec<ResourceSpec>),
    /// Score by a broken-linear function of utilization.
    RequestedToCapacityRatio {
        /// Resources and weights.
        resources: Vec<ResourceSpec>,
        /// The function's points, sorted by utilization.
        shape: Vec<UtilizationShapePoint>,
    },
}

impl Default for ScoringStrategy {
    fn default() -> Self {
        Self::LeastAllocated(ResourceSpec::defaults())
    }
}

/// One resource the node lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsufficientResource {
    /// The resource name.
    pub resource: String,
    /// The filter reason (`Insufficient cpu`, `Too many pods`).
    pub reason: Cow<'static, str>,
    /// True when the node could not fit the pod even if it were empty.
    pub unresolvable: bool,
}

/// The NodeResourcesFit plugin.
#[derive(Debug, Clone, Default)]
pub struct NodeResourcesFit {
    strategy: ScoringStrategy,
}

impl NodeResourcesFit {
    /// With a scoring strategy.
    pub fn new(strategy: ScoringStrategy) -> Self {
        Self { strategy }
    }
}

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        super::names::NODE_RESOURCES_FIT
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::new(
                EventResource::AssignedPod,
                ActionType::DELETE.or(ActionType::UPDATE_POD_SCALE_DOWN),
            ),
            ClusterEvent::new(
                EventResource::Node,
                ActionType::ADD.or(ActionType::UPDATE_NODE_ALLOCATABLE),
            ),
            ClusterEvent::new(
                EventResource::UnscheduledPod,
                ActionType::UPDATE_POD_SCALE_DOWN,
            ),
        ]
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeResourcesFit {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let insufficient = fits_request(pod, node);
        if insufficient.is_empty() {
            return Status::success();
        }
        let code = if insufficient.iter().any(|i| i.unresolvable) {
            Code::UnschedulableAndUnresolvable
        } else {
            Code::Unschedulable
        };
        Status::with_reasons(code, insufficient.into_iter().map(|i| i.reason).collect())
    }
}

/// Every resource the node lacks for the pod, in upstream's order: pods,
/// cpu, memory, ephemeral-storage, then extended resources by name.
pub fn fits_request(pod: &PodInfo, node: &NodeInfo) -> Vec<InsufficientResource> {
    let mut insufficient = Vec::new();
    let allocatable = node.allocatable();
    let used = node.requested();
    if node.pods().len() as i64 + 1 > allocatable.allowed_pod_number {
        insufficient.push(InsufficientResource {
            resource: crate::resource::PODS.to_owned(),
            reason: Cow::Borrowed("Too many pods"),
            unresolvable: false,
        });
    }
    let request = &pod.requests;
    if request.is_zero() {
        return insufficient;
    }
    let mut check = |name: &str, reason: Cow<'static, str>, want: i64| {
        let (capacity, in_use) = (allocatable.get(name), used.get(name));
        if want > 0 && want > capacity - in_use {
            insufficient.push(InsufficientResource {
                resource: name.to_owned(),
                reason,
                unresolvable: want > capacity,
            });
        }
    };
    check("cpu", Cow::Borrowed("Insufficient cpu"), request.milli_cpu);
    check(
        "memory",
        Cow::Borrowed("Insufficient memory"),
        request.memory,
    );
    check(
        "ephemeral-storage",
        Cow::Borrowed("Insufficient ephemeral-storage"),
        request.ephemeral_storage,
    );
    for (name, want) in &request.scalar {
        check(name, Cow::Owned(format!("Insufficient {name}")), *want);
    }
    insufficient
}

impl ScorePlugin for NodeResourcesFit {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let score = match &self.strategy {
            ScoringStrategy::LeastAllocated(resources) => {
                let u = allocatable_and_requested(node, pod, resources, false);
                least_allocated(resources, u.allocatable(), u.requested())
            }
            ScoringStrategy::MostAllocated(resources) => {
                let u = allocatable_and_requested(node, pod, resources, false);
                most_allocated(resources, u.allocatable(), u.requested())
            }
            ScoringStrategy::RequestedToCapacityRatio { resources, shape } => {
                let u = allocatable_and_requested(node, pod, resources, false);
                requested_to_capacity_ratio(resources, shape, u.allocatable(), u.requested())
            }
        };
        Ok(score)
    }
}

#[cfg(test)]
mod tests;
