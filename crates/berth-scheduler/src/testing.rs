//! Test builders: `pod("a").req("100m", "128Mi").priority(10)`,
//! `node("n1").cap("4", "8Gi").zone("z1").taint(...)`.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerImage, ContainerPort, Node, NodeAffinity, NodeSelector,
    NodeSelectorRequirement, NodeSelectorTerm, NodeSpec, NodeStatus, Pod, PodAffinity,
    PodAffinityTerm, PodAntiAffinity, PodSpec, PodStatus, PreferredSchedulingTerm,
    ResourceRequirements, Taint, Toleration, TopologySpreadConstraint, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};

use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::snapshot::Snapshot;

pub const ZONE: &str = "topology.kubernetes.io/zone";
pub const HOSTNAME: &str = "kubernetes.io/hostname";

fn resources(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
        .collect()
}

fn container(name: String, requests: BTreeMap<String, Quantity>) -> Container {
    Container {
        name,
        resources: (!requests.is_empty()).then(|| ResourceRequirements {
            requests: Some(requests),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub struct PodBuilder(Pod);

pub fn pod(name: &str) -> PodBuilder {
    let mut p = Pod::default();
    p.metadata.name = Some(name.into());
    p.metadata.namespace = Some("default".into());
    p.spec = Some(PodSpec::default());
    PodBuilder(p)
}

impl PodBuilder {
    fn spec(&mut self) -> &mut PodSpec {
        self.0.spec.get_or_insert_with(Default::default)
    }

    fn affinity(&mut self) -> &mut Affinity {
        self.spec().affinity.get_or_insert_with(Default::default)
    }

    fn push(mut self, c: Container) -> Self {
        self.spec().containers.push(c);
        self
    }

    fn push_init(mut self, c: Container) -> Self {
        self.spec().init_containers.get_or_insert_with(Vec::new).push(c);
        self
    }

    fn next_name(&mut self) -> String {
        let spec = self.spec();
        let n = spec.containers.len() + spec.init_containers.as_ref().map_or(0, Vec::len);
        format!("c{n}")
    }

    pub fn ns(mut self, ns: &str) -> Self {
        self.0.metadata.namespace = Some(ns.into());
        self
    }
    pub fn req(mut self, cpu: &str, mem: &str) -> Self {
        let name = self.next_name();
        self.push(container(name, resources(&[("cpu", cpu), ("memory", mem)])))
    }
    pub fn container(mut self) -> Self {
        let name = self.next_name();
        self.push(container(name, BTreeMap::new()))
    }
    pub fn ext_req(mut self, resource: &str, q: &str) -> Self {
        let name = self.next_name();
        self.push(container(name, resources(&[(resource, q)])))
    }
    pub fn init(mut self, cpu: &str, mem: &str) -> Self {
        let name = self.next_name();
        self.push_init(container(name, resources(&[("cpu", cpu), ("memory", mem)])))
    }
    pub fn sidecar(mut self, cpu: &str, mem: &str) -> Self {
        let name = self.next_name();
        let mut c = container(name, resources(&[("cpu", cpu), ("memory", mem)]));
        c.restart_policy = Some("Always".into());
        self.push_init(c)
    }
    pub fn overhead(mut self, cpu: &str, mem: &str) -> Self {
        self.spec().overhead = Some(resources(&[("cpu", cpu), ("memory", mem)]));
        self
    }
    pub fn image(mut self, image: &str) -> Self {
        let name = self.next_name();
        let mut c = container(name, BTreeMap::new());
        c.image = Some(image.into());
        self.push(c)
    }
    pub fn host_port(mut self, port: i32, protocol: &str, ip: &str) -> Self {
        let name = self.next_name();
        let mut c = container(name, BTreeMap::new());
        c.ports = Some(vec![ContainerPort {
            container_port: port,
            host_port: Some(port),
            protocol: (!protocol.is_empty()).then(|| protocol.into()),
            host_ip: (!ip.is_empty()).then(|| ip.into()),
            ..Default::default()
        }]);
        self.push(c)
    }
    pub fn priority(mut self, p: i32) -> Self {
        self.spec().priority = Some(p);
        self
    }
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.0.metadata.labels.get_or_insert_with(Default::default).insert(k.into(), v.into());
        self
    }
    pub fn node_name(mut self, n: &str) -> Self {
        self.spec().node_name = Some(n.into());
        self
    }
    pub fn nominated(mut self, n: &str) -> Self {
        self.0.status.get_or_insert_with(PodStatus::default).nominated_node_name = Some(n.into());
        self
    }
    pub fn terminating(mut self) -> Self {
        self.0.metadata.deletion_timestamp = Some(Time(Default::default()));
        self
    }
    pub fn node_selector(mut self, k: &str, v: &str) -> Self {
        self.spec().node_selector.get_or_insert_with(Default::default).insert(k.into(), v.into());
        self
    }
    pub fn toleration(mut self, t: Toleration) -> Self {
        self.spec().tolerations.get_or_insert_with(Vec::new).push(t);
        self
    }
    fn node_affinity(&mut self) -> &mut NodeAffinity {
        self.affinity().node_affinity.get_or_insert_with(Default::default)
    }
    pub fn required_node_affinity(mut self, terms: Vec<Vec<NodeSelectorRequirement>>) -> Self {
        let terms = terms
            .into_iter()
            .map(|exprs| NodeSelectorTerm { match_expressions: Some(exprs), match_fields: None })
            .collect();
        self.node_affinity().required_during_scheduling_ignored_during_execution =
            Some(NodeSelector { node_selector_terms: terms });
        self
    }
    pub fn required_node_name_field(mut self, names: &[&str]) -> Self {
        let term = NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![node_req("metadata.name", "In", names)]),
        };
        self.node_affinity().required_during_scheduling_ignored_during_execution =
            Some(NodeSelector { node_selector_terms: vec![term] });
        self
    }
    pub fn preferred_node_affinity(mut self, weight: i32, exprs: Vec<NodeSelectorRequirement>) -> Self {
        let term = PreferredSchedulingTerm {
            weight,
            preference: NodeSelectorTerm { match_expressions: Some(exprs), match_fields: None },
        };
        self.node_affinity()
            .preferred_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(term);
        self
    }
    fn pod_affinity(&mut self) -> &mut PodAffinity {
        self.affinity().pod_affinity.get_or_insert_with(Default::default)
    }
    fn pod_anti_affinity(&mut self) -> &mut PodAntiAffinity {
        self.affinity().pod_anti_affinity.get_or_insert_with(Default::default)
    }
    pub fn required_affinity(mut self, t: PodAffinityTerm) -> Self {
        let list = &mut self.pod_affinity().required_during_scheduling_ignored_during_execution;
        list.get_or_insert_with(Vec::new).push(t);
        self
    }
    pub fn required_anti_affinity(mut self, t: PodAffinityTerm) -> Self {
        let list = &mut self.pod_anti_affinity().required_during_scheduling_ignored_during_execution;
        list.get_or_insert_with(Vec::new).push(t);
        self
    }
    pub fn preferred_affinity(mut self, weight: i32, t: PodAffinityTerm) -> Self {
        let list = &mut self.pod_affinity().preferred_during_scheduling_ignored_during_execution;
        list.get_or_insert_with(Vec::new)
            .push(WeightedPodAffinityTerm { weight, pod_affinity_term: t });
        self
    }
    pub fn preferred_anti_affinity(mut self, weight: i32, t: PodAffinityTerm) -> Self {
        let list = &mut self.pod_anti_affinity().preferred_during_scheduling_ignored_during_execution;
        list.get_or_insert_with(Vec::new)
            .push(WeightedPodAffinityTerm { weight, pod_affinity_term: t });
        self
    }
    pub fn spread(mut self, c: SpreadBuilder) -> Self {
        self.spec().topology_spread_constraints.get_or_insert_with(Vec::new).push(c.0);
        self
    }
    pub fn build(self) -> Pod {
        self.0
    }
    pub fn info(self) -> Arc<PodInfo> {
        Arc::new(PodInfo::new(Arc::new(self.0)).expect("valid test pod"))
    }
}

pub fn label_selector(pairs: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
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

pub struct SpreadBuilder(TopologySpreadConstraint);

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
        self.allocatable().extend(resources(&[("cpu", cpu), ("memory", mem)]));
        self
    }
    pub fn alloc(mut self, resource: &str, q: &str) -> Self {
        self.allocatable().insert(resource.into(), Quantity(q.into()));
        self
    }
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.0.metadata.labels.get_or_insert_with(Default::default).insert(k.into(), v.into());
        self
    }
    pub fn without_label(mut self, k: &str) -> Self {
        if let Some(labels) = self.0.metadata.labels.as_mut() {
            labels.remove(k);
        }
        self
    }
    pub fn zone(self, z: &str) -> Self {
        self.label(ZONE, z)
    }
    pub fn taint(mut self, key: &str, value: &str, effect: &str) -> Self {
        let spec = self.0.spec.get_or_insert_with(NodeSpec::default);
        spec.taints.get_or_insert_with(Vec::new).push(taint(key, value, effect));
        self
    }
    pub fn unschedulable(mut self) -> Self {
        self.0.spec.get_or_insert_with(NodeSpec::default).unschedulable = Some(true);
        self
    }
    pub fn image(mut self, names: &[&str], size: i64) -> Self {
        let status = self.0.status.get_or_insert_with(Default::default);
        status.images.get_or_insert_with(Vec::new).push(ContainerImage {
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
