//! NodeUnschedulable: cordoned nodes (`spec.unschedulable`) admit only pods
//! tolerating `node.kubernetes.io/unschedulable:NoSchedule`.

use k8s_openapi::api::core::v1::Taint;

use crate::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, Plugin, Status,
};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::toleration::{NO_SCHEDULE, any_tolerates};

/// Filter reason.
pub const ERR_REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";
/// The taint a cordoned node implies.
pub const TAINT_NODE_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// The NodeUnschedulable plugin.
#[derive(Debug, Default, Clone, Copy)]
pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        super::names::NODE_UNSCHEDULABLE
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::new(
                EventResource::Node,
                ActionType::ADD.or(ActionType::UPDATE_NODE_TAINT),
            ),
            ClusterEvent::new(
                EventResource::UnscheduledPod,
                ActionType::UPDATE_POD_TOLERATION,
            ),
        ]
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeUnschedulable {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let cordoned = node
            .node()
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false);
        if !cordoned {
            return Status::success();
        }
        let tolerations = pod
            .pod()
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or_default();
        let taint = Taint {
            key: TAINT_NODE_UNSCHEDULABLE.to_owned(),
            effect: NO_SCHEDULE.to_owned(),
            ..Default::default()
        };
        if any_tolerates(tolerations, &taint) {
            Status::success()
        } else {
            Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_UNSCHEDULABLE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod, toleration};

    #[test]
    fn cordoned_nodes_should_admit_only_tolerating_pods() {
        let key = TAINT_NODE_UNSCHEDULABLE;
        let cases = [
            (node("n"), pod("p"), Code::Success),
            (
                node("n").unschedulable(),
                pod("p"),
                Code::UnschedulableAndUnresolvable,
            ),
            (
                node("n").unschedulable(),
                pod("p").toleration(toleration(key, "Exists", "", "NoSchedule")),
                Code::Success,
            ),
            (
                node("n").unschedulable(),
                pod("p").toleration(toleration(key, "Exists", "", "NoExecute")),
                Code::UnschedulableAndUnresolvable,
            ),
        ];
        for (n, p, want) in cases {
            let status = NodeUnschedulable.filter(&CycleState::new(), &p.info(), &n.info());
            assert_eq!(status.code(), want);
        }
    }
}
