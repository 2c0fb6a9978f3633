//! Why a pod goes where it goes, or nowhere (`berth why pod`): runs a
//! profile's PreFilter and Filter on every node (no sampling) and
//! PreScore/Score on the feasible ones, keeping what the scheduling cycle
//! throws away: the rejecting plugin per node, the resource numbers behind a
//! NodeResourcesFit rejection, and each plugin's weighted score.
//!
//! Pure: the caller builds the snapshot (from the API or a test).

use crate::framework::{CycleState, FitError, NodeScore, Profile, Status};
use crate::node_info::NodeInfo;
use crate::plugins::names;
use crate::pod_info::PodInfo;
use crate::snapshot::Snapshot;

/// One resource on one node, in the resource's base unit (millicores for
/// cpu, bytes for memory and storage, a count for pods).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceUse {
    /// `cpu`, `memory`, `ephemeral-storage`, `pods` or an extended resource.
    pub resource: String,
    /// What the pod requests.
    pub requested: i64,
    /// Allocatable minus what assigned pods request.
    pub free: i64,
    /// `status.allocatable`.
    pub allocatable: i64,
}

/// A node Filter rejected.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// The node.
    pub node: String,
    /// The first plugin that rejected it.
    pub plugin: &'static str,
    /// The plugin's reasons.
    pub reasons: Vec<String>,
    /// Resource numbers, when NodeResourcesFit rejected it.
    pub resources: Vec<ResourceUse>,
}

/// A feasible node with its scores.
#[derive(Debug, Clone)]
pub struct Ranking {
    /// The node.
    pub node: String,
    /// Sum of weighted normalized scores.
    pub total: i64,
    /// Per Score plugin: name, normalized score, weight.
    pub by_plugin: Vec<(&'static str, i64, i64)>,
}

/// The whole explanation.
#[derive(Debug, Clone, Default)]
pub struct Explanation {
    /// Set when PreFilter rejected the pod on every node: plugin and message.
    pub pre_filter: Option<(&'static str, String)>,
    /// Rejected nodes, in snapshot order.
    pub rejected: Vec<Rejection>,
    /// Feasible nodes, best first.
    pub ranked: Vec<Ranking>,
    /// The FailedScheduling message when no node is feasible.
    pub fit_error: Option<String>,
}

/// Explains the placement of `pod` by `profile` on `snapshot`.
pub fn explain(profile: &Profile, snapshot: &Snapshot, pod: &PodInfo) -> Explanation {
    let mut explanation = Explanation::default();
    let mut state = CycleState::new();
    let mut fit = FitError {
        pod: pod.key().to_owned(),
        num_all_nodes: snapshot.len(),
        diagnosis: Default::default(),
    };
    if let Err(status) = profile.run_pre_filter(&mut state, pod, snapshot) {
        explanation.pre_filter = Some((status.plugin(), status.message()));
        fit.diagnosis.pre_filter_msg = status.message();
        explanation.fit_error = Some(fit.to_string());
        return explanation;
    }
    let mut feasible = Vec::new();
    for (i, node) in snapshot.nodes().iter().enumerate() {
        let status = profile.run_filter(&state, pod, node);
        if status.is_success() {
            feasible.push(i);
        } else {
            explanation.rejected.push(rejection(pod, node, &status));
            fit.diagnosis.node_to_status.set(i, status);
        }
    }
    if feasible.is_empty() {
        explanation.fit_error = Some(fit.to_string());
        return explanation;
    }
    explanation.ranked = rank(profile, &mut state, pod, snapshot, &feasible);
    explanation
}

fn rejection(pod: &PodInfo, node: &NodeInfo, status: &Status) -> Rejection {
    let resources = if status.plugin() == names::NODE_RESOURCES_FIT {
        resource_use(pod, node)
    } else {
        Vec::new()
    };
    Rejection {
        node: node.name().to_owned(),
        plugin: status.plugin(),
        reasons: status.reasons().iter().map(|r| r.to_string()).collect(),
        resources,
    }
}

/// The pod's requests against the node's free room: pods, then every
/// resource the pod requests.
pub fn resource_use(pod: &PodInfo, node: &NodeInfo) -> Vec<ResourceUse> {
    let allocatable = node.allocatable();
    let used = node.requested();
    let mut uses = vec![ResourceUse {
        resource: crate::resource::PODS.to_owned(),
        requested: 1,
        free: allocatable.allowed_pod_number - node.pods().len() as i64,
        allocatable: allocatable.allowed_pod_number,
    }];
    let mut names = vec![
        "cpu".to_owned(),
        "memory".into(),
        "ephemeral-storage".into(),
    ];
    names.extend(pod.requests.scalar.keys().cloned());
    for name in names {
        let requested = pod.requests.get(&name);
        if requested > 0 {
            uses.push(ResourceUse {
                free: allocatable.get(&name) - used.get(&name),
                allocatable: allocatable.get(&name),
                resource: name,
                requested,
            });
        }
    }
    uses
}

fn rank(
    profile: &Profile,
    state: &mut CycleState,
    pod: &PodInfo,
    snapshot: &Snapshot,
    feasible: &[usize],
) -> Vec<Ranking> {
    let mut ranked: Vec<Ranking> = feasible
        .iter()
        .map(|&i| Ranking {
            node: snapshot.node(i).name().to_owned(),
            total: 0,
            by_plugin: Vec::new(),
        })
        .collect();
    if profile
        .run_pre_score(state, pod, snapshot, feasible)
        .is_err()
    {
        return ranked;
    }
    for (plugin, weight) in profile.score_plugins() {
        let Some(scorer) = plugin.as_score() else {
            continue;
        };
        if state.is_score_skipped(plugin.name()) {
            continue;
        }
        let mut scores: Vec<NodeScore> = feasible
            .iter()
            .map(|&node| NodeScore {
                node,
                score: scorer.score(state, pod, snapshot.node(node)).unwrap_or(0),
            })
            .collect();
        scorer.normalize_score(state, pod, &mut scores);
        for (r, s) in ranked.iter_mut().zip(&scores) {
            r.total += s.score * weight;
            r.by_plugin.push((plugin.name(), s.score, weight));
        }
    }
    ranked.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.node.cmp(&b.node)));
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::default_profile;
    use crate::testing::{node, pod, snapshot};

    #[test]
    fn explanation_should_name_the_rejecting_plugin_with_resource_numbers() {
        let s = snapshot(
            vec![
                node("small").cap("1", "8Gi"),
                node("tainted")
                    .cap("8", "8Gi")
                    .taint("k", "v", "NoSchedule"),
                node("big").cap("8", "8Gi"),
                node("bigger").cap("16", "8Gi"),
            ],
            vec![(pod("busy").req("500m", "1Gi"), "small")],
        );
        let Ok(profile) = default_profile() else {
            panic!("default profile");
        };
        let e = explain(&profile, &s, &pod("p").req("2", "1Gi").info());
        let small = e.rejected.iter().find(|r| r.node == "small");
        let cpu = small.and_then(|r| r.resources.iter().find(|u| u.resource == "cpu"));
        assert_eq!(small.map(|r| r.plugin), Some(names::NODE_RESOURCES_FIT));
        assert_eq!(
            cpu.map(|u| (u.requested, u.free, u.allocatable)),
            Some((2000, 500, 1000))
        );
        let tainted = e.rejected.iter().find(|r| r.node == "tainted");
        assert_eq!(tainted.map(|r| r.plugin), Some(names::TAINT_TOLERATION));
        let order: Vec<&str> = e.ranked.iter().map(|r| r.node.as_str()).collect();
        assert_eq!(order, vec!["bigger", "big"]);
        assert!(e.fit_error.is_none());
    }
}
