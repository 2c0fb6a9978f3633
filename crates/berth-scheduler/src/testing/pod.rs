//! The pod builder: `pod("a").req("100m", "128Mi").priority(10)`.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerPort, NodeAffinity, NodeSelector, NodeSelectorRequirement,
    NodeSelectorTerm, Pod, PodAffinity, PodAffinityTerm, PodAntiAffinity, PodSpec, PodStatus,
    PreferredSchedulingTerm, ResourceRequirements, Toleration, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{SpreadBuilder, node_req, resources};
use crate::pod_info::PodInfo;

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
        self.spec()
            .init_containers
            .get_or_insert_with(Vec::new)
            .push(c);
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
        self.0
            .metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert(k.into(), v.into());
        self
    }
    pub fn node_name(mut self, n: &str) -> Self {
        self.spec().node_name = Some(n.into());
        self
    }
    pub fn nominated(mut self, n: &str) -> Self {
        self.0
            .status
            .get_or_insert_with(PodStatus::default)
            .nominated_node_name = Some(n.into());
        self
    }
    pub fn terminating(mut self) -> Self {
        self.0.metadata.deletion_timestamp = Some(Time(Default::default()));
        self
    }
    pub fn node_selector(mut self, k: &str, v: &str) -> Self {
        self.spec()
            .node_selector
            .get_or_insert_with(Default::default)
            .insert(k.into(), v.into());
        self
    }
    pub fn toleration(mut self, t: Toleration) -> Self {
        self.spec().tolerations.get_or_insert_with(Vec::new).push(t);
        self
    }
    fn node_affinity(&mut self) -> &mut NodeAffinity {
        self.affinity()
            .node_affinity
            .get_or_insert_with(Default::default)
    }
    pub fn required_node_affinity(mut self, terms: Vec<Vec<NodeSelectorRequirement>>) -> Self {
        let terms = terms
            .into_iter()
            .map(|exprs| NodeSelectorTerm {
                match_expressions: Some(exprs),
                match_fields: None,
            })
            .collect();
        self.node_affinity()
            .required_during_scheduling_ignored_during_execution = Some(NodeSelector {
            node_selector_terms: terms,
        });
        self
    }
    pub fn required_node_name_field(self, names: &[&str]) -> Self {
        self.required_node_fields(vec![node_req("metadata.name", "In", names)])
    }
    pub fn required_node_fields(mut self, fields: Vec<NodeSelectorRequirement>) -> Self {
        let term = NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(fields),
        };
        self.node_affinity()
            .required_during_scheduling_ignored_during_execution = Some(NodeSelector {
            node_selector_terms: vec![term],
        });
        self
    }
    pub fn preferred_node_affinity(
        mut self,
        weight: i32,
        exprs: Vec<NodeSelectorRequirement>,
    ) -> Self {
        let term = PreferredSchedulingTerm {
            weight,
            preference: NodeSelectorTerm {
                match_expressions: Some(exprs),
                match_fields: None,
            },
        };
        self.node_affinity()
            .preferred_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(term);
        self
    }
    fn pod_affinity(&mut self) -> &mut PodAffinity {
        self.affinity()
            .pod_affinity
            .get_or_insert_with(Default::default)
    }
    fn pod_anti_affinity(&mut self) -> &mut PodAntiAffinity {
        self.affinity()
            .pod_anti_affinity
            .get_or_insert_with(Default::default)
    }
    pub fn required_affinity(mut self, t: PodAffinityTerm) -> Self {
        let list = &mut self
            .pod_affinity()
            .required_during_scheduling_ignored_during_execution;
        list.get_or_insert_with(Vec::new).push(t);
        self
    }
    pub fn required_anti_affinity(mut self, t: PodAffinityTerm) -> Self {
        let list = &mut self
            .pod_anti_affinity()
            .required_during_scheduling_ignored_during_execution;
        list.get_or_insert_with(Vec::new).push(t);
        self
    }
    pub fn preferred_affinity(mut self, weight: i32, t: PodAffinityTerm) -> Self {
        let list = &mut self
            .pod_affinity()
            .preferred_during_scheduling_ignored_during_execution;
        list.get_or_insert_with(Vec::new)
            .push(WeightedPodAffinityTerm {
                weight,
                pod_affinity_term: t,
            });
        self
    }
    pub fn preferred_anti_affinity(mut self, weight: i32, t: PodAffinityTerm) -> Self {
        let list = &mut self
            .pod_anti_affinity()
            .preferred_during_scheduling_ignored_during_execution;
        list.get_or_insert_with(Vec::new)
            .push(WeightedPodAffinityTerm {
                weight,
                pod_affinity_term: t,
            });
        self
    }
    pub fn spread(mut self, c: SpreadBuilder) -> Self {
        self.spec()
            .topology_spread_constraints
            .get_or_insert_with(Vec::new)
            .push(c.0);
        self
    }
    pub fn build(self) -> Pod {
        self.0
    }
    pub fn info(self) -> Arc<PodInfo> {
        Arc::new(PodInfo::new(Arc::new(self.0)).expect("valid test pod"))
    }
}
