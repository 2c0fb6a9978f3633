//! Why a pod fits no node: per-node statuses and the upstream event message.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use super::status::Status;

/// The Filter status of each rejected node (by snapshot index), plus one
/// status shared by nodes that were never evaluated ("absent" nodes, e.g.
/// excluded by a PreFilter result or a failed PreFilter).
#[derive(Debug, Clone, Default)]
pub struct NodeToStatus {
    statuses: HashMap<usize, Status>,
    absent: Option<Status>,
}

impl NodeToStatus {
    /// Records the status of an evaluated node.
    pub fn set(&mut self, node: usize, status: Status) {
        self.statuses.insert(node, status);
    }

    /// Sets the status of nodes that were not evaluated.
    pub fn set_absent(&mut self, status: Status) {
        self.absent = Some(status);
    }

    /// The status of a node: its own, or the absent-node status.
    pub fn get(&self, node: usize) -> Option<&Status> {
        self.statuses.get(&node).or(self.absent.as_ref())
    }

    /// Number of explicitly recorded nodes.
    pub fn len(&self) -> usize {
        self.statuses.len()
    }

    /// True when no node was recorded.
    pub fn is_empty(&self) -> bool {
        self.statuses.is_empty()
    }

    /// Explicitly recorded statuses.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Status)> {
        self.statuses.iter().map(|(i, s)| (*i, s))
    }
}

/// Everything learnt while failing to find a node.
#[derive(Debug, Clone, Default)]
pub struct Diagnosis {
    /// Per-node Filter statuses.
    pub node_to_status: NodeToStatus,
    /// Plugins that rejected the pod somewhere (drives re-queueing on events).
    pub unschedulable_plugins: BTreeSet<&'static str>,
    /// The message of a PreFilter rejection, if PreFilter rejected the pod.
    pub pre_filter_msg: String,
    /// The message of PostFilter (preemption), if it ran.
    pub post_filter_msg: String,
}

/// The pod fits no node. Displays as upstream's FailedScheduling message:
/// `0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated
/// taint {key: value}. preemption: ...`.
#[derive(Debug, Clone)]
pub struct FitError {
    /// `namespace/name` of the pod.
    pub pod: String,
    /// Number of nodes in the snapshot.
    pub num_all_nodes: usize,
    /// The reasons.
    pub diagnosis: Diagnosis,
}

impl FitError {
    /// Counts each reason over all nodes, absent nodes included.
    fn reason_histogram(&self) -> BTreeMap<&str, usize> {
        let statuses = &self.diagnosis.node_to_status;
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, status) in statuses.iter() {
            for reason in status.reasons() {
                *counts.entry(reason.as_ref()).or_default() += 1;
            }
        }
        let absent_nodes = self.num_all_nodes.saturating_sub(statuses.len());
        if let Some(absent) = statuses.absent.as_ref().filter(|_| absent_nodes > 0) {
            for reason in absent.reasons() {
                *counts.entry(reason.as_ref()).or_default() += absent_nodes;
            }
        }
        counts
    }
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0/{} nodes are available:", self.num_all_nodes)?;
        if !self.diagnosis.pre_filter_msg.is_empty() {
            write!(f, " {}.", self.diagnosis.pre_filter_msg)?;
        } else {
            // Upstream sorts the formatted "<count> <reason>" strings.
            let mut entries: Vec<String> = self
                .reason_histogram()
                .into_iter()
                .map(|(reason, count)| format!("{count} {reason}"))
                .collect();
            entries.sort();
            if !entries.is_empty() {
                write!(f, " {}.", entries.join(", "))?;
            }
        }
        if !self.diagnosis.post_filter_msg.is_empty() {
            write!(f, " {}", self.diagnosis.post_filter_msg)?;
        }
        Ok(())
    }
}

impl std::error::Error for FitError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;

    fn fit_error(statuses: Vec<Status>, total: usize) -> FitError {
        let mut diagnosis = Diagnosis::default();
        for (i, s) in statuses.into_iter().enumerate() {
            diagnosis.node_to_status.set(i, s);
        }
        FitError {
            pod: "default/p".into(),
            num_all_nodes: total,
            diagnosis,
        }
    }

    #[test]
    fn reasons_should_be_counted_and_sorted_as_upstream() {
        let taint = "node(s) had untolerated taint {key: value}";
        let err = fit_error(
            vec![
                Status::new(Code::UnschedulableAndUnresolvable, taint),
                Status::with_reasons(
                    Code::Unschedulable,
                    vec!["Insufficient cpu".into(), "Insufficient memory".into()],
                ),
                Status::new(Code::UnschedulableAndUnresolvable, taint),
                Status::new(Code::Unschedulable, "Insufficient cpu"),
                Status::new(Code::UnschedulableAndUnresolvable, taint),
            ],
            5,
        );
        assert_eq!(
            err.to_string(),
            "0/5 nodes are available: 1 Insufficient memory, 2 Insufficient cpu, \
             3 node(s) had untolerated taint {key: value}."
        );
    }

    #[test]
    fn absent_nodes_should_be_counted_with_their_shared_status() {
        let mut err = fit_error(vec![Status::new(Code::Unschedulable, "Too many pods")], 4);
        err.diagnosis.node_to_status.set_absent(Status::new(
            Code::UnschedulableAndUnresolvable,
            "node(s) didn't satisfy plugin(s) [NodeAffinity]",
        ));
        err.diagnosis.post_filter_msg =
            "preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod."
                .into();
        assert_eq!(
            err.to_string(),
            "0/4 nodes are available: 1 Too many pods, 3 node(s) didn't satisfy plugin(s) \
             [NodeAffinity]. preemption: 0/4 nodes are available: 4 No preemption victims \
             found for incoming pod."
        );
    }

    #[test]
    fn pre_filter_rejection_should_replace_node_reasons() {
        let mut err = fit_error(vec![Status::new(Code::Unschedulable, "ignored")], 3);
        err.diagnosis.pre_filter_msg =
            "node(s) didn't match pod topology spread constraints".into();
        assert_eq!(
            err.to_string(),
            "0/3 nodes are available: node(s) didn't match pod topology spread constraints."
        );
    }
}
