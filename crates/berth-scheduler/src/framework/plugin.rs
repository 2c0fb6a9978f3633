//! Extension point traits, as upstream's `framework/interface.go`.
//!
//! A plugin implements [`Plugin`] and returns itself from the `as_*` accessor
//! of every extension point it takes part in; a [`crate::framework::Profile`]
//! then calls it at those points. Plugins are immutable during a cycle: any
//! per-pod data goes into the [`CycleState`].

use std::collections::BTreeSet;
use std::time::Duration;

use super::cycle_state::CycleState;
use super::events::ClusterEvent;
use super::status::Status;
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::snapshot::Snapshot;

/// Highest score a Score plugin may return after normalization.
pub const MAX_NODE_SCORE: i64 = 100;
/// Lowest score a Score plugin may return after normalization.
pub const MIN_NODE_SCORE: i64 = 0;

/// The score of one node: `node` is its index in [`Snapshot::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeScore {
    /// Index of the node in the snapshot.
    pub node: usize,
    /// The score.
    pub score: i64,
}

/// Restricts the nodes Filter runs on; `None` node names mean all nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreFilterResult {
    /// The only nodes worth evaluating, when known.
    pub node_names: Option<BTreeSet<String>>,
}

impl PreFilterResult {
    /// Every node is a candidate.
    pub fn all_nodes() -> Self {
        Self { node_names: None }
    }

    /// Intersects two results.
    pub fn merge(self, other: PreFilterResult) -> PreFilterResult {
        match (self.node_names, other.node_names) {
            (None, names) | (names, None) => PreFilterResult { node_names: names },
            (Some(a), Some(b)) => PreFilterResult {
                node_names: Some(a.intersection(&b).cloned().collect()),
            },
        }
    }
}

/// What a PostFilter plugin proposes (a node to nominate after preemption).
#[derive(Debug, Clone, Default)]
pub struct PostFilterResult {
    /// The node the pod is nominated to, if any.
    pub nominated_node_name: Option<String>,
    /// Pods to delete so that the pod fits the nominated node.
    pub victims: Vec<std::sync::Arc<PodInfo>>,
}

/// Every plugin: a name and the extension points it implements.
pub trait Plugin: Send + Sync {
    /// The plugin's name, as in upstream's configuration (`NodeResourcesFit`).
    fn name(&self) -> &'static str;
    /// Cluster events that may make a pod this plugin rejected schedulable.
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        Vec::new()
    }
    /// This plugin as a PreFilter plugin.
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        None
    }
    /// This plugin as a Filter plugin.
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        None
    }
    /// This plugin as a PostFilter plugin.
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        None
    }
    /// PreFilter plugins whose state depends on other pods implement this so
    /// that preemption can evaluate "what if these pods were gone".
    fn as_pre_filter_extensions(&self) -> Option<&dyn PreFilterExtensions> {
        None
    }
    /// This plugin as a PreScore plugin.
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        None
    }
    /// This plugin as a Score plugin.
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        None
    }
    /// This plugin as a Reserve plugin.
    fn as_reserve(&self) -> Option<&dyn ReservePlugin> {
        None
    }
    /// This plugin as a Permit plugin.
    fn as_permit(&self) -> Option<&dyn PermitPlugin> {
        None
    }
    /// This plugin as a Bind plugin.
    fn as_bind(&self) -> Option<&dyn BindPlugin> {
        None
    }
}

/// Runs once per cycle before filtering; may precompute state, narrow the
/// candidate nodes, reject the pod outright, or return Skip to skip its Filter.
pub trait PreFilterPlugin {
    /// Prepares the cycle.
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (PreFilterResult, Status);
}

/// Updates PreFilter state when a pod is added to or removed from a node
/// (preemption's what-if evaluation), as upstream's `PreFilterExtensions`.
pub trait PreFilterExtensions {
    /// `other` is counted (`delta` 1) or no longer counted (-1) on `node`.
    fn update_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        other: &PodInfo,
        node: &NodeInfo,
        snapshot: &Snapshot,
        delta: i64,
    ) -> Status;
}

/// Decides whether a node can host the pod.
pub trait FilterPlugin {
    /// Success, or a rejection with reasons.
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
}

/// Runs when no node passed Filter (preemption lives here).
pub trait PostFilterPlugin {
    /// Tries to make the pod schedulable later.
    fn post_filter(
        &self,
        profile: &super::Profile,
        state: &CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        filtered: &super::NodeToStatus,
    ) -> (PostFilterResult, Status);
}

/// Runs once before scoring with the feasible nodes (indexes into the snapshot).
pub trait PreScorePlugin {
    /// Precomputes scoring state, or returns Skip to skip this plugin's Score.
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        feasible: &[usize],
    ) -> Status;
}

/// Ranks feasible nodes.
pub trait ScorePlugin {
    /// The raw score of a node.
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status>;
    /// Rescales raw scores into `[MIN_NODE_SCORE, MAX_NODE_SCORE]`; the default
    /// leaves them unchanged.
    fn normalize_score(
        &self,
        _state: &CycleState,
        _pod: &PodInfo,
        _scores: &mut [NodeScore],
    ) -> Status {
        Status::success()
    }
}

/// Reserves (and releases) plugin-side resources for the chosen node.
pub trait ReservePlugin {
    /// Called after a node is chosen.
    fn reserve(&self, state: &mut CycleState, pod: &PodInfo, node_name: &str) -> Status;
    /// Called when a later step fails; must be idempotent.
    fn unreserve(&self, state: &mut CycleState, pod: &PodInfo, node_name: &str);
}

/// Approves, rejects or delays binding.
pub trait PermitPlugin {
    /// Success, a rejection, or `Wait` with the maximum time to wait.
    fn permit(&self, state: &CycleState, pod: &PodInfo, node_name: &str) -> (Status, Duration);
}

/// Binds the pod; the first binder not returning Skip wins.
pub trait BindPlugin {
    /// Binds the pod to the node.
    fn bind(&self, state: &CycleState, pod: &PodInfo, node_name: &str) -> Status;
}
