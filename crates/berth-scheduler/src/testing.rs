//! Test builders: `pod("a").req("100m", "128Mi").priority(10)`,
//! `node("n1").cap("4", "8Gi").zone("z1").taint(...)`.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    ContainerImage, Node, NodeSelectorRequirement, NodeSpec, NodeStatus, PodAffinityTerm, Taint,
    Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

mod pod;

pub use pod::{PodBuilder, pod};

use crate::node_info::NodeInfo;
use crate::snapshot::Snapshot;

pub const ZONE: &str = "topology.kubernetes.io/zone";
pub const HOSTNAME: &str = "kubernetes.io/hostname";

pub(crate) fn resources(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
        .collect()
}

pub fn label_selector(pairs: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        match_expressions: None,
    }
}

/// A pod affinity term selecting `labels` over `topology_key`.
pub fn term(topology_key: &str, labels: &[(&str, &str)]) -> PodAffinityTerm {
    PodAffinityTerm {
        label_selector: Some(label_selector(labels)),
        topology_key: topology_key.into(),
        ..Default::default()
    }
}

pub fn node_req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: key.into(),
        operator: op.into(),
        values: (!values.is_empty()).then(|| values.iter().map(|v| v.to_string()).collect()),
    }
}

pub fn taint(key: &str, value: &str, effect: &str) -> Taint {
    Taint {
        key: key.into(),
        value: (!value.is_empty()).then(|| value.into()),
        effect: effect.into(),
        time_added: None,
    }
}

pub fn toleration(key: &str, op: &str, value: &str, effect: &str) -> Toleration {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Toleration {
        key: opt(key),
        operator: opt(op),
        value: opt(value),
        effect: opt(effect),
        toleration_seconds: None,
    }
}

pub struct SpreadBuilder(pub(crate) TopologySpreadConstraint);

/// A spread constraint over `key` selecting `labels`.
pub fn spread(key: &str, max_skew: i32, when: &str, labels: &[(&str, &str)]) -> SpreadBuilder {
    SpreadBuilder(TopologySpreadConstraint {
        topology_key: key.into(),
        max_skew,
        when_unsatisfiable: when.into(),
        label_selector: Some(label_selector(labels)),
        ..Default::default()
    })
}

impl SpreadBuilder {
    pub fn min_domains(mut self, n: i32) -> Self {
        self.0.min_domains = Some(n);
        self
    }
    pub fn node_affinity_policy(mut self, p: &str) -> Self {
        self.0.node_affinity_policy = Some(p.into());
        self
    }
    pub fn node_taints_policy(mut self, p: &str) -> Self {
        self.0.node_taints_policy = Some(p.into());
        self
    }
    pub fn match_label_keys(mut self, keys: &[&str]) -> Self {
        self.0.match_label_keys = Some(keys.iter().map(|k| k.to_string()).collect());
        self
    }
}

pub struct NodeBuilder(Node);

pub fn node(name: &str) -> NodeBuilder {
    let mut n = Node::default();
    n.metadata.name = Some(name.into());
    n.metadata.labels = Some(BTreeMap::from([(HOSTNAME.to_string(), name.to_string())]));
    n.status = Some(NodeStatus {
        allocatable: Some(resources(&[("pods", "110")])),
        ..Default::default()
    });
    NodeBuilder(n)
}

impl NodeBuilder {
    fn allocatable(&mut self) -> &mut BTreeMap<String, Quantity> {
        let status = self.0.status.get_or_insert_with(Default::default);
        status.allocatable.get_or_insert_with(Default::default)
    }
    pub fn cap(mut self, cpu: &str, mem: &str) -> Self {
        self.allocatable()
            .extend(resources(&[("cpu", cpu), ("memory", mem)]));
        self
    }
    pub fn alloc(mut self, resource: &str, q: &str) -> Self {
        self.allocatable()
            .insert(resource.into(), Quantity(q.into()));
        self
    }
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.0
            .metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert(k.into(), v.into());
        self
    }
    pub fn zone(self, z: &str) -> Self {
        self.label(ZONE, z)
    }
    pub fn taint(mut self, key: &str, value: &str, effect: &str) -> Self {
        let spec = self.0.spec.get_or_insert_with(NodeSpec::default);
        spec.taints
            .get_or_insert_with(Vec::new)
            .push(taint(key, value, effect));
        self
    }
    pub fn unschedulable(mut self) -> Self {
        self.0
            .spec
            .get_or_insert_with(NodeSpec::default)
            .unschedulable = Some(true);
        self
    }
    pub fn image(mut self, names: &[&str], size: i64) -> Self {
        let status = self.0.status.get_or_insert_with(Default::default);
        status
            .images
            .get_or_insert_with(Vec::new)
            .push(ContainerImage {
                names: Some(names.iter().map(|n| n.to_string()).collect()),
                size_bytes: Some(size),
            });
        self
    }
    pub fn build(self) -> Node {
        self.0
    }
    pub fn info(self) -> NodeInfo {
        NodeInfo::new(Arc::new(self.0)).expect("valid test node")
    }
}

/// A snapshot with `nodes` and `pods` bound to the named nodes.
pub fn snapshot(nodes: Vec<NodeBuilder>, pods: Vec<(PodBuilder, &str)>) -> Snapshot {
    let mut s = Snapshot::new();
    for n in nodes {
        s.upsert_node(n.build()).expect("valid test node");
    }
    for (p, node_name) in pods {
        s.add_pod(p.info(), node_name);
    }
    s
}
