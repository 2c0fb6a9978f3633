//! TaintToleration: NoSchedule/NoExecute taints must be tolerated; nodes
//! with fewer untolerated PreferNoSchedule taints score higher.

use crate::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, FilterPlugin, MAX_NODE_SCORE,
    NodeScore, Plugin, PreScorePlugin, ScorePlugin, Status, default_normalize_score,
};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::snapshot::Snapshot;
use crate::toleration::{PREFER_NO_SCHEDULE, any_tolerates, find_untolerated_hard_taint};

/// The TaintToleration plugin.
#[derive(Debug, Default, Clone, Copy)]
pub struct TaintToleration;

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        super::names::TAINT_TOLERATION
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
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

fn tolerations(pod: &PodInfo) -> &[k8s_openapi::api::core::v1::Toleration] {
    pod.pod()
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default()
}

impl FilterPlugin for TaintToleration {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        match find_untolerated_hard_taint(node.taints(), tolerations(pod)) {
            None => Status::success(),
            Some(taint) => Status::new(
                Code::UnschedulableAndUnresolvable,
                format!(
                    "node(s) had untolerated taint {{{}: {}}}",
                    taint.key,
                    taint.value.as_deref().unwrap_or_default()
                ),
            ),
        }
    }
}

/// The pod's tolerations that can apply to PreferNoSchedule taints.
struct PreferNoScheduleTolerations(Vec<k8s_openapi::api::core::v1::Toleration>);

impl PreScorePlugin for TaintToleration {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
        _: &[usize],
    ) -> Status {
        let relevant = tolerations(pod)
            .iter()
            .filter(|t| {
                matches!(
                    t.effect.as_deref(),
                    None | Some("") | Some(PREFER_NO_SCHEDULE)
                )
            })
            .cloned()
            .collect();
        state.write(PreferNoScheduleTolerations(relevant));
        Status::success()
    }
}

impl ScorePlugin for TaintToleration {
    /// The number of PreferNoSchedule taints the pod does not tolerate.
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let tolerations = state
            .read::<PreferNoScheduleTolerations>()
            .ok_or_else(|| Status::error("TaintToleration PreScore state missing"))?;
        let count = node
            .taints()
            .iter()
            .filter(|t| t.effect == PREFER_NO_SCHEDULE && !any_tolerates(&tolerations.0, t))
            .count();
        Ok(count as i64)
    }

    fn normalize_score(&self, _: &CycleState, _: &PodInfo, scores: &mut [NodeScore]) -> Status {
        default_normalize_score(MAX_NODE_SCORE, true, scores);
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod, toleration};

    #[test]
    fn filter_should_reject_untolerated_hard_taints() {
        let tainted = || node("n").taint("dedicated", "gpu", "NoSchedule");
        let cases = [
            (
                tainted(),
                pod("p"),
                Some("node(s) had untolerated taint {dedicated: gpu}"),
            ),
            (
                tainted(),
                pod("p").toleration(toleration("dedicated", "Equal", "gpu", "NoSchedule")),
                None,
            ),
            (
                node("n").taint("k", "", "NoExecute"),
                pod("p"),
                Some("node(s) had untolerated taint {k: }"),
            ),
            (
                node("n").taint("k", "v", "PreferNoSchedule"),
                pod("p"),
                None,
            ),
        ];
        for (n, p, want) in cases {
            let status = TaintToleration.filter(&CycleState::new(), &p.info(), &n.info());
            assert_eq!(status.reasons().first().map(|r| r.as_ref()), want);
            if want.is_some() {
                assert_eq!(status.code(), Code::UnschedulableAndUnresolvable);
            }
        }
    }

    #[test]
    fn nodes_with_fewer_intolerable_soft_taints_should_score_higher() {
        let p = pod("p")
            .toleration(toleration("a", "Exists", "", "PreferNoSchedule"))
            .info();
        let nodes = [
            node("n0").info(),
            node("n1")
                .taint("a", "", "PreferNoSchedule")
                .taint("b", "", "PreferNoSchedule")
                .info(),
            node("n2")
                .taint("b", "", "PreferNoSchedule")
                .taint("c", "", "PreferNoSchedule")
                .info(),
        ];
        let mut state = CycleState::new();
        TaintToleration.pre_score(&mut state, &p, &Snapshot::new(), &[]);
        let mut scores: Vec<NodeScore> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| NodeScore {
                node: i,
                score: TaintToleration.score(&state, &p, n).unwrap_or(-1),
            })
            .collect();
        assert_eq!(
            scores.iter().map(|s| s.score).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        TaintToleration.normalize_score(&state, &p, &mut scores);
        assert_eq!(
            scores.iter().map(|s| s.score).collect::<Vec<_>>(),
            [100, 50, 0]
        );
    }
}
