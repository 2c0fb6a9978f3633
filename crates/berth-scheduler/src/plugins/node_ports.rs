//! NodePorts: the pod's host ports must be free on the node.

use crate::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, Plugin,
    PreFilterPlugin, PreFilterResult, Status,
};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::snapshot::Snapshot;

/// Filter reason.
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// The NodePorts plugin.
#[derive(Debug, Default, Clone, Copy)]
pub struct NodePorts;

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        super::names::NODE_PORTS
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::new(EventResource::AssignedPod, ActionType::DELETE),
            ClusterEvent::new(EventResource::Node, ActionType::ADD),
        ]
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for NodePorts {
    fn pre_filter(
        &self,
        _: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
    ) -> (PreFilterResult, Status) {
        let status = if pod.host_ports.is_empty() {
            Status::skip()
        } else {
            Status::success()
        };
        (PreFilterResult::all_nodes(), status)
    }
}

impl FilterPlugin for NodePorts {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let used = node.used_ports();
        if pod.host_ports.iter().any(|p| used.conflicts(p)) {
            Status::new(Code::Unschedulable, ERR_REASON)
        } else {
            Status::success()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    #[test]
    fn host_port_conflicts_should_follow_ip_and_protocol_rules() {
        // (in use, wanted, conflicts)
        let cases = [
            ((8080, "TCP", ""), (8080, "TCP", ""), true),
            ((8080, "TCP", ""), (8080, "UDP", ""), false),
            ((8080, "TCP", ""), (8081, "TCP", ""), false),
            ((8080, "TCP", "10.0.0.1"), (8080, "TCP", "10.0.0.2"), false),
            ((8080, "TCP", "10.0.0.1"), (8080, "TCP", "10.0.0.1"), true),
            ((8080, "TCP", "10.0.0.1"), (8080, "TCP", "0.0.0.0"), true),
            ((8080, "TCP", ""), (8080, "TCP", "10.0.0.1"), true),
            ((8080, "", ""), (8080, "TCP", "127.0.0.1"), true),
        ];
        for (used, wanted, conflict) in cases {
            let mut n = node("n").info();
            n.add_pod(pod("old").host_port(used.0, used.1, used.2).info());
            let p = pod("p").host_port(wanted.0, wanted.1, wanted.2).info();
            let status = NodePorts.filter(&CycleState::new(), &p, &n);
            assert_eq!(!status.is_success(), conflict, "{used:?} vs {wanted:?}");
        }
    }

    #[test]
    fn pods_without_host_ports_should_skip() {
        let (_, status) =
            NodePorts.pre_filter(&mut CycleState::new(), &pod("p").info(), &Snapshot::new());
        assert!(status.is_skip());
    }
}
