//! NodeName: a pod with `spec.nodeName` fits only that node.

use crate::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, Plugin, Status,
};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// Filter reason.
pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

/// The NodeName plugin.
#[derive(Debug, Default, Clone, Copy)]
pub struct NodeName;

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        super::names::NODE_NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![ClusterEvent::new(
            EventResource::Node,
            ActionType::ADD.or(ActionType::UPDATE),
        )]
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeName {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let wanted = pod.pod().spec.as_ref().and_then(|s| s.node_name.as_deref());
        match wanted {
            Some(name) if !name.is_empty() && name != node.name() => {
                Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON)
            }
            _ => Status::success(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    #[test]
    fn pods_should_fit_only_their_named_node() {
        let cases = [
            (pod("p"), Code::Success),
            (pod("p").node_name("n1"), Code::Success),
            (pod("p").node_name("n2"), Code::UnschedulableAndUnresolvable),
        ];
        let n1 = node("n1").info();
        for (p, want) in cases {
            let status = NodeName.filter(&CycleState::new(), &p.info(), &n1);
            assert_eq!(status.code(), want);
        }
    }
}
