//! Cluster events that can make an unschedulable pod schedulable.

use k8s_openapi::api::core::v1::Node;

/// The kind of object an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventResource {
    /// A node.
    Node,
    /// A pod already assigned to a node.
    AssignedPod,
    /// The unscheduled pod itself (its spec changed).
    UnscheduledPod,
    /// Any resource (used for wildcard and timeout events).
    Wildcard,
}

/// What happened, as a set of bits so registrations can cover several actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActionType(u32);

impl ActionType {
    /// Created.
    pub const ADD: Self = Self(1);
    /// Deleted.
    pub const DELETE: Self = Self(1 << 1);
    /// Node allocatable changed.
    pub const UPDATE_NODE_ALLOCATABLE: Self = Self(1 << 2);
    /// Node labels changed.
    pub const UPDATE_NODE_LABEL: Self = Self(1 << 3);
    /// Node taints (or `spec.unschedulable`) changed.
    pub const UPDATE_NODE_TAINT: Self = Self(1 << 4);
    /// Node conditions changed.
    pub const UPDATE_NODE_CONDITION: Self = Self(1 << 5);
    /// Node annotations changed.
    pub const UPDATE_NODE_ANNOTATION: Self = Self(1 << 6);
    /// Pod labels changed.
    pub const UPDATE_POD_LABEL: Self = Self(1 << 7);
    /// Pod resource requests shrank.
    pub const UPDATE_POD_SCALE_DOWN: Self = Self(1 << 8);
    /// Pod tolerations changed.
    pub const UPDATE_POD_TOLERATION: Self = Self(1 << 9);
    /// Any other update.
    pub const UPDATE_OTHER: Self = Self(1 << 10);
    /// Every update.
    pub const UPDATE: Self = Self((1 << 11) - 1 - 0b11);
    /// Everything.
    pub const ALL: Self = Self((1 << 11) - 1);
    /// Nothing.
    pub const NONE: Self = Self(0);

    /// The union of two action sets.
    pub const fn or(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// True when the two sets share an action.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

/// An event: which resource, what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClusterEvent {
    /// The resource kind.
    pub resource: EventResource,
    /// The actions.
    pub action: ActionType,
}

impl ClusterEvent {
    /// An event.
    pub const fn new(resource: EventResource, action: ActionType) -> Self {
        Self { resource, action }
    }

    /// A pod stayed in the unschedulable pool longer than the flush interval.
    pub const UNSCHEDULABLE_TIMEOUT: Self = Self::new(EventResource::Wildcard, ActionType::ALL);

    /// True when a registration (`self`) covers an event that happened.
    pub fn covers(&self, event: &ClusterEvent) -> bool {
        let resource_matches = self.resource == event.resource
            || self.resource == EventResource::Wildcard
            || event.resource == EventResource::Wildcard;
        resource_matches && self.action.intersects(event.action)
    }
}

/// The update actions a node change represents.
pub fn node_update_actions(old: &Node, new: &Node) -> ActionType {
    let mut action = ActionType::NONE;
    let status = |n: &Node| n.status.clone().unwrap_or_default();
    let (old_status, new_status) = (status(old), status(new));
    if old_status.allocatable != new_status.allocatable {
        action = action.or(ActionType::UPDATE_NODE_ALLOCATABLE);
    }
    if old.metadata.labels != new.metadata.labels {
        action = action.or(ActionType::UPDATE_NODE_LABEL);
    }
    let taints = |n: &Node| {
        let spec = n.spec.clone().unwrap_or_default();
        (spec.taints, spec.unschedulable)
    };
    if taints(old) != taints(new) {
        action = action.or(ActionType::UPDATE_NODE_TAINT);
    }
    if old_status.conditions != new_status.conditions {
        action = action.or(ActionType::UPDATE_NODE_CONDITION);
    }
    if old.metadata.annotations != new.metadata.annotations {
        action = action.or(ActionType::UPDATE_NODE_ANNOTATION);
    }
    action
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::node;

    #[test]
    fn node_updates_should_be_classified() {
        let old = node("n1").cap("4", "8Gi").build();
        let relabeled = node("n1").cap("4", "8Gi").label("a", "b").build();
        let tainted = node("n1").cap("4", "8Gi").unschedulable().build();
        let grown = node("n1").cap("8", "8Gi").build();
        assert_eq!(
            node_update_actions(&old, &relabeled),
            ActionType::UPDATE_NODE_LABEL
        );
        assert_eq!(
            node_update_actions(&old, &tainted),
            ActionType::UPDATE_NODE_TAINT
        );
        assert_eq!(
            node_update_actions(&old, &grown),
            ActionType::UPDATE_NODE_ALLOCATABLE
        );
    }

    #[test]
    fn registrations_should_cover_matching_events() {
        let reg = ClusterEvent::new(
            EventResource::Node,
            ActionType::ADD.or(ActionType::UPDATE_NODE_TAINT),
        );
        assert!(reg.covers(&ClusterEvent::new(EventResource::Node, ActionType::ADD)));
        assert!(!reg.covers(&ClusterEvent::new(
            EventResource::Node,
            ActionType::UPDATE_NODE_LABEL
        )));
        assert!(!reg.covers(&ClusterEvent::new(
            EventResource::AssignedPod,
            ActionType::ADD
        )));
        assert!(reg.covers(&ClusterEvent::UNSCHEDULABLE_TIMEOUT));
    }
}
