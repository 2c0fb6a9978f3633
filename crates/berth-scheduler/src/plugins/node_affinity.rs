//! NodeAffinity: `spec.nodeSelector` and required node affinity filter
//! nodes; preferred node affinity terms score them.

use std::collections::BTreeSet;

use crate::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, MAX_NODE_SCORE,
    NodeScore, Plugin, PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, Status,
    default_normalize_score,
};
use crate::node_info::NodeInfo;
use crate::node_selector::{PreferredNodeAffinity, RequiredNodeAffinity};
use crate::pod_info::PodInfo;
use crate::snapshot::Snapshot;

/// Filter reason.
pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";
/// PreFilter reason when `metadata.name` terms select no node.
pub const ERR_REASON_CONFLICT: &str = "pod affinity terms conflict";

/// The NodeAffinity plugin.
#[derive(Debug, Default, Clone, Copy)]
pub struct NodeAffinity;

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        super::names::NODE_AFFINITY
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![ClusterEvent::new(
            EventResource::Node,
            ActionType::ADD.or(ActionType::UPDATE_NODE_LABEL),
        )]
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for NodeAffinity {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
    ) -> (PreFilterResult, Status) {
        let required = RequiredNodeAffinity::from_pod(pod.pod());
        if required.is_empty() {
            return (PreFilterResult::all_nodes(), Status::skip());
        }
        let pinned = required.pinned_node_names();
        state.write(required);
        match pinned {
            Some(names) if names.is_empty() => (
                PreFilterResult::all_nodes(),
                Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_CONFLICT),
            ),
            Some(names) => (
                PreFilterResult {
                    node_names: Some(names.into_iter().collect::<BTreeSet<_>>()),
                },
                Status::success(),
            ),
            None => (PreFilterResult::all_nodes(), Status::success()),
        }
    }
}

impl FilterPlugin for NodeAffinity {
    fn filter(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Status {
        let Some(required) = state.read::<RequiredNodeAffinity>() else {
            return Status::error("NodeAffinity PreFilter state missing");
        };
        if required.matches(node.node()) {
            Status::success()
        } else {
            Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_POD)
        }
    }
}

impl PreScorePlugin for NodeAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
        _: &[usize],
    ) -> Status {
        let preferred = PreferredNodeAffinity::from_pod(pod.pod());
        if preferred.is_empty() {
            return Status::skip();
        }
        state.write(preferred);
        Status::success()
    }
}

impl ScorePlugin for NodeAffinity {
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let preferred = state
            .read::<PreferredNodeAffinity>()
            .ok_or_else(|| Status::error("NodeAffinity PreScore state missing"))?;
        Ok(preferred.score(node.node()))
    }

    fn normalize_score(&self, _: &CycleState, _: &PodInfo, scores: &mut [NodeScore]) -> Status {
        default_normalize_score(MAX_NODE_SCORE, false, scores);
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{PodBuilder, node, node_req, pod, snapshot};

    fn pre_filter(p: &PodInfo) -> (CycleState, PreFilterResult, Status) {
        let mut state = CycleState::new();
        let (result, status) = NodeAffinity.pre_filter(&mut state, p, &Snapshot::new());
        (state, result, status)
    }

    #[test]
    fn pods_without_node_constraints_should_skip_filtering() {
        let (_, _, status) = pre_filter(&pod("p").info());
        assert!(status.is_skip());
    }

    #[test]
    fn filter_should_apply_selector_and_required_affinity() {
        let ssd = node("n1").label("disk", "ssd").info();
        let cases: Vec<(PodBuilder, Code)> = vec![
            (pod("p").node_selector("disk", "ssd"), Code::Success),
            (
                pod("p").node_selector("disk", "hdd"),
                Code::UnschedulableAndUnresolvable,
            ),
            (
                pod("p").required_node_affinity(vec![vec![node_req("disk", "NotIn", &["ssd"])]]),
                Code::UnschedulableAndUnresolvable,
            ),
        ];
        for (p, want) in cases {
            let p = p.info();
            let (state, _, _) = pre_filter(&p);
            let status = NodeAffinity.filter(&state, &p, &ssd);
            assert_eq!(status.code(), want);
            if want != Code::Success {
                assert_eq!(status.reasons(), [ERR_REASON_POD]);
            }
        }
    }

    #[test]
    fn node_name_fields_should_narrow_pre_filter_result() {
        let (_, result, status) = pre_filter(&pod("p").required_node_name_field(&["n2"]).info());
        assert!(status.is_success());
        assert_eq!(result.node_names, Some(BTreeSet::from(["n2".to_owned()])));
    }

    #[test]
    fn preferred_terms_should_score_and_normalize() {
        let s = snapshot(
            vec![
                node("a").label("x", "1"),
                node("b").label("y", "1"),
                node("c"),
            ],
            vec![],
        );
        let p = pod("p")
            .preferred_node_affinity(20, vec![node_req("x", "Exists", &[])])
            .preferred_node_affinity(80, vec![node_req("y", "Exists", &[])])
            .info();
        let mut state = CycleState::new();
        assert!(
            NodeAffinity
                .pre_score(&mut state, &p, &s, &[0, 1, 2])
                .is_success()
        );
        let mut scores: Vec<NodeScore> = (0..3)
            .map(|i| NodeScore {
                node: i,
                score: NodeAffinity.score(&state, &p, s.node(i)).unwrap_or(-1),
            })
            .collect();
        NodeAffinity.normalize_score(&state, &p, &mut scores);
        assert_eq!(
            scores.iter().map(|s| s.score).collect::<Vec<_>>(),
            [25, 100, 0]
        );
    }
}
