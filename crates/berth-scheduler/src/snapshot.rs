//! The cluster state one scheduling cycle reads.
//!
//! The scheduling loop owns the `Snapshot` and applies watch events to it
//! between cycles (node added, pod bound, pod deleted, a pod assumed after a
//! decision), so a cycle reads it through `&Snapshot` with no locks and no copy.
//! Every update is incremental: adding or removing a pod touches one `NodeInfo`
//! and the per-topology-domain counts of [`topology`].

pub mod topology;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;

use crate::error::SchedulerError;
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::selector::LabelSelector;
use topology::TopologyIndex;
pub use topology::{DomainCounts, PodQuery, TermKind};

/// A selector of a workload that owns or exposes pods (Service, ReplicaSet,
/// StatefulSet, ReplicationController), used for default topology spreading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadSelector {
    /// The workload's namespace.
    pub namespace: String,
    /// Its pod selector.
    pub selector: LabelSelector,
}

/// A PodDisruptionBudget as preemption sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisruptionBudget {
    /// The budget's namespace.
    pub namespace: String,
    /// Its pod selector (an absent selector selects nothing).
    pub selector: LabelSelector,
    /// `status.disruptionsAllowed`.
    pub disruptions_allowed: i64,
}

/// Nodes, their pods and the few cluster-wide facts plugins need.
/// Invariant: `index[name]` is the position of that node in `nodes`, and
/// `pod_nodes` maps every accounted pod to the node it is accounted on;
/// `topology` counts exactly the pods on known nodes.
#[derive(Debug, Default)]
pub struct Snapshot {
    nodes: Vec<NodeInfo>,
    index: HashMap<String, usize>,
    pod_nodes: HashMap<String, String>,
    pending: HashMap<String, Vec<Arc<PodInfo>>>,
    image_nodes: HashMap<String, usize>,
    namespace_labels: HashMap<String, BTreeMap<String, String>>,
    workload_selectors: Vec<WorkloadSelector>,
    disruption_budgets: Vec<DisruptionBudget>,
    topology: TopologyIndex,
}

impl Snapshot {
    /// An empty cluster.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a node, or updates it when it is already known.
    pub fn upsert_node(&mut self, node: Node) -> Result<(), SchedulerError> {
        let node = Arc::new(node);
        let name = node.metadata.name.clone().unwrap_or_default();
        if let Some(&i) = self.index.get(&name) {
            let relabel =
                self.nodes[i].labels() != node.metadata.labels.as_ref().unwrap_or(&BTreeMap::new());
            if relabel {
                self.index_node(i, -1);
            }
            self.forget_images(i);
            let result = self.nodes[i].set_node(node);
            self.count_images(i);
            if relabel {
                self.index_node(i, 1);
            }
            return result;
        }
        let mut info = NodeInfo::new(node)?;
        for pod in self.pending.remove(&name).into_iter().flatten() {
            info.add_pod(pod);
        }
        self.index.insert(name, self.nodes.len());
        self.nodes.push(info);
        self.count_images(self.nodes.len() - 1);
        self.index_node(self.nodes.len() - 1, 1);
        Ok(())
    }

    /// Counts (`sign` 1) or uncounts (-1) a node's labels and pods in the
    /// topology index.
    fn index_node(&mut self, i: usize, sign: i64) {
        let node = &self.nodes[i];
        self.topology.apply_node(node.labels(), sign);
        for pod in node.pods() {
            let ns = self.namespace_labels.get(pod.namespace());
            self.topology.apply_pod(pod, node.labels(), ns, sign);
        }
    }

    /// Removes a node; its pods stay accounted and reattach if it returns.
    pub fn remove_node(&mut self, name: &str) -> bool {
        let Some(i) = self.index.remove(name) else {
            return false;
        };
        self.forget_images(i);
        self.index_node(i, -1);
        let removed = self.nodes.swap_remove(i);
        if let Some(moved) = self.nodes.get(i) {
            self.index.insert(moved.name().to_owned(), i);
        }
        if !removed.pods().is_empty() {
            self.pending
                .insert(name.to_owned(), removed.pods().to_vec());
        }
        true
    }

    /// Accounts a pod on a node (a bound pod, or an assumed one).
    /// A pod already accounted elsewhere is moved.
    pub fn add_pod(&mut self, pod: Arc<PodInfo>, node_name: &str) {
        self.remove_pod(pod.key());
        self.pod_nodes
            .insert(pod.key().to_owned(), node_name.to_owned());
        match self.index.get(node_name) {
            Some(&i) => {
                let ns = self.namespace_labels.get(pod.namespace());
                self.topology.apply_pod(&pod, self.nodes[i].labels(), ns, 1);
                self.nodes[i].add_pod(pod);
            }
            None => self
                .pending
                .entry(node_name.to_owned())
                .or_default()
                .push(pod),
        }
    }

    /// Releases a pod by `namespace/name`; returns the node it was on.
    pub fn remove_pod(&mut self, key: &str) -> Option<String> {
        let node_name = self.pod_nodes.remove(key)?;
        match self.index.get(&node_name) {
            Some(&i) => {
                if let Some(pod) = self.nodes[i].remove_pod(key) {
                    let ns = self.namespace_labels.get(pod.namespace());
                    self.topology
                        .apply_pod(&pod, self.nodes[i].labels(), ns, -1);
                }
            }
            None => {
                if let Some(pods) = self.pending.get_mut(&node_name) {
                    pods.retain(|p| p.key() != key);
                }
            }
        }
        Some(node_name)
    }

    /// The node a pod is accounted on.
    pub fn node_of_pod(&self, key: &str) -> Option<&str> {
        self.pod_nodes.get(key).map(String::as_str)
    }

    /// Sets the labels of a namespace (for `namespaceSelector` in affinity terms).
    pub fn set_namespace_labels(&mut self, namespace: &str, labels: BTreeMap<String, String>) {
        if self.namespace_labels.get(namespace) != Some(&labels) {
            self.topology.forget_namespace_queries();
        }
        self.namespace_labels.insert(namespace.to_owned(), labels);
    }

    /// Distinct (anti-)affinity terms of accounted pods, with the pods (or
    /// summed weights, for preferred terms) holding each per domain.
    pub fn existing_terms(
        &self,
        kind: TermKind,
    ) -> impl Iterator<Item = (&crate::pod_info::AffinityTerm, &DomainCounts)> {
        self.topology.terms(kind)
    }

    /// Calls `f` with the accounted pods matching `query` per value of the
    /// node label `topology_key` (kept incrementally after the first call).
    pub fn with_domain_counts<R>(
        &self,
        query: &PodQuery,
        topology_key: &str,
        f: impl FnOnce(&DomainCounts) -> R,
    ) -> R {
        let scan = (self.nodes.as_slice(), &self.namespace_labels);
        self.topology.with_counts(query, topology_key, scan, f)
    }

    /// Values of the node label `key`, with how many nodes have each.
    pub fn label_values(&self, key: &str) -> Option<&HashMap<String, i64>> {
        self.topology.label_values(key)
    }

    /// Number of nodes having the label `key`.
    pub fn nodes_with_label(&self, key: &str) -> usize {
        self.label_values(key)
            .map_or(0, |values| values.values().sum::<i64>() as usize)
    }

    /// The labels of a namespace, when known.
    pub fn namespace_labels(&self, namespace: &str) -> Option<&BTreeMap<String, String>> {
        self.namespace_labels.get(namespace)
    }

    /// Replaces the workload selectors used for default topology spreading.
    pub fn set_workload_selectors(&mut self, selectors: Vec<WorkloadSelector>) {
        self.workload_selectors = selectors;
    }

    /// Workload selectors used for default topology spreading.
    pub fn workload_selectors(&self) -> &[WorkloadSelector] {
        &self.workload_selectors
    }

    /// Replaces the PodDisruptionBudgets preemption honours.
    pub fn set_disruption_budgets(&mut self, budgets: Vec<DisruptionBudget>) {
        self.disruption_budgets = budgets;
    }

    /// PodDisruptionBudgets preemption honours.
    pub fn disruption_budgets(&self) -> &[DisruptionBudget] {
        &self.disruption_budgets
    }

    /// All nodes, in a stable order between updates.
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    /// The node at `index` in [`Snapshot::nodes`].
    pub fn node(&self, index: usize) -> &NodeInfo {
        &self.nodes[index]
    }

    /// The index of a node by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// A node by name.
    pub fn node_by_name(&self, name: &str) -> Option<&NodeInfo> {
        self.index_of(name).map(|i| &self.nodes[i])
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the cluster has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Number of nodes that have an image (by exact name).
    pub fn nodes_with_image(&self, name: &str) -> usize {
        self.image_nodes.get(name).copied().unwrap_or(0)
    }

    fn count_images(&mut self, i: usize) {
        for name in self.nodes[i].image_names() {
            *self.image_nodes.entry(name.to_owned()).or_default() += 1;
        }
    }

    fn forget_images(&mut self, i: usize) {
        for name in self.nodes[i].image_names() {
            if let Some(count) = self.image_nodes.get_mut(name) {
                *count -= 1;
                if *count == 0 {
                    self.image_nodes.remove(name);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    #[test]
    fn pods_bound_before_their_node_is_known_should_attach_when_it_arrives() {
        let mut snapshot = Snapshot::new();
        snapshot.add_pod(pod("a").req("1", "1Gi").info(), "n1");
        assert!(
            snapshot
                .upsert_node(node("n1").cap("4", "8Gi").build())
                .is_ok()
        );
        let n1 = snapshot.node_by_name("n1").map(|n| n.requested().milli_cpu);
        assert_eq!(n1, Some(1000));
    }

    #[test]
    fn removing_a_node_should_keep_indexes_consistent() {
        let mut snapshot = Snapshot::new();
        for name in ["n1", "n2", "n3"] {
            assert!(snapshot.upsert_node(node(name).build()).is_ok());
        }
        assert!(snapshot.remove_node("n1"));
        assert_eq!(snapshot.len(), 2);
        for name in ["n2", "n3"] {
            let i = snapshot.index_of(name).unwrap_or(usize::MAX);
            assert_eq!(snapshot.node(i).name(), name);
        }
    }

    #[test]
    fn image_counts_should_follow_node_updates() {
        let mut snapshot = Snapshot::new();
        let with_image = |n: &str| node(n).image(&["nginx:1.27"], 100).build();
        assert!(snapshot.upsert_node(with_image("n1")).is_ok());
        assert!(snapshot.upsert_node(with_image("n2")).is_ok());
        assert_eq!(snapshot.nodes_with_image("nginx:1.27"), 2);
        assert!(snapshot.upsert_node(node("n2").build()).is_ok());
        assert_eq!(snapshot.nodes_with_image("nginx:1.27"), 1);
        snapshot.remove_node("n1");
        assert_eq!(snapshot.nodes_with_image("nginx:1.27"), 0);
    }

    #[test]
    fn moving_a_pod_should_release_it_from_its_old_node() {
        let mut snapshot = Snapshot::new();
        assert!(snapshot.upsert_node(node("n1").build()).is_ok());
        assert!(snapshot.upsert_node(node("n2").build()).is_ok());
        snapshot.add_pod(pod("a").req("1", "").info(), "n1");
        snapshot.add_pod(pod("a").req("1", "").info(), "n2");
        let cpu = |n: &str| snapshot.node_by_name(n).map(|i| i.requested().milli_cpu);
        assert_eq!((cpu("n1"), cpu("n2")), (Some(0), Some(1000)));
        assert_eq!(snapshot.remove_pod("default/a").as_deref(), Some("n2"));
    }
}
