//! `NodeInfo`: a node with the pods assigned to it and incremental aggregates.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Taint};

use crate::error::SchedulerError;
use crate::pod_info::{HostPort, PodInfo};
use crate::resource::Resource;

static EMPTY_LABELS: BTreeMap<String, String> = BTreeMap::new();

/// Host ports in use on a node, reference-counted so that removing a pod
/// releases exactly what adding it took.
#[derive(Debug, Clone, Default)]
pub struct HostPortInfo {
    exact: HashMap<HostPort, u32>,
    by_protocol_port: HashMap<(String, i32), u32>,
}

const ANY_IP: &str = "0.0.0.0";

impl HostPortInfo {
    fn add(&mut self, port: &HostPort) {
        *self.exact.entry(port.clone()).or_default() += 1;
        *self
            .by_protocol_port
            .entry((port.protocol.clone(), port.port))
            .or_default() += 1;
    }

    fn remove(&mut self, port: &HostPort) {
        decrement(&mut self.exact, port);
        decrement(
            &mut self.by_protocol_port,
            &(port.protocol.clone(), port.port),
        );
    }

    /// True when `port` conflicts with a port in use: the same protocol and
    /// port on the same IP, or where either side binds `0.0.0.0`.
    pub fn conflicts(&self, port: &HostPort) -> bool {
        if port.port <= 0 {
            return false;
        }
        if port.ip == ANY_IP {
            return self
                .by_protocol_port
                .contains_key(&(port.protocol.clone(), port.port));
        }
        let wildcard = HostPort {
            ip: ANY_IP.to_owned(),
            ..port.clone()
        };
        self.exact.contains_key(port) || self.exact.contains_key(&wildcard)
    }
}

fn decrement<K: std::hash::Hash + Eq + Clone>(map: &mut HashMap<K, u32>, key: &K) {
    if let Some(count) = map.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            map.remove(key);
        }
    }
}

/// A node and its assigned pods. Invariant: `requested`, `non_zero_requested`,
/// `used_ports` and the affinity counters always equal the aggregate over
/// `pods`; only [`NodeInfo::add_pod`] and [`NodeInfo::remove_pod`] change them.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    node: Arc<Node>,
    allocatable: Resource,
    requested: Resource,
    non_zero_requested: Resource,
    pods: Vec<Arc<PodInfo>>,
    pods_with_affinity: usize,
    pods_with_required_anti_affinity: usize,
    used_ports: HostPortInfo,
    images: HashMap<String, i64>,
}

impl NodeInfo {
    /// A node with no pods.
    pub fn new(node: Arc<Node>) -> Result<Self, SchedulerError> {
        let allocatable = node
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .map(Resource::from_list)
            .transpose()
            .map_err(|source| SchedulerError::InvalidNodeResources {
                node: node.metadata.name.clone().unwrap_or_default(),
                source,
            })?
            .unwrap_or_default();
        let images = image_sizes(&node);
        Ok(Self {
            node,
            allocatable,
            requested: Resource::default(),
            non_zero_requested: Resource::default(),
            pods: Vec::new(),
            pods_with_affinity: 0,
            pods_with_required_anti_affinity: 0,
            used_ports: HostPortInfo::default(),
            images,
        })
    }

    /// Replaces the node object, keeping the pods.
    pub fn set_node(&mut self, node: Arc<Node>) -> Result<(), SchedulerError> {
        let fresh = Self::new(node)?;
        self.node = fresh.node;
        self.allocatable = fresh.allocatable;
        self.images = fresh.images;
        Ok(())
    }

    /// The node object.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        self.node.metadata.name.as_deref().unwrap_or_default()
    }

    /// The node's labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        self.node.metadata.labels.as_ref().unwrap_or(&EMPTY_LABELS)
    }

    /// The node's taints.
    pub fn taints(&self) -> &[Taint] {
        self.node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_deref())
            .unwrap_or_default()
    }

    /// `status.allocatable`.
    pub fn allocatable(&self) -> &Resource {
        &self.allocatable
    }

    /// Sum of the effective requests of the assigned pods.
    pub fn requested(&self) -> &Resource {
        &self.requested
    }

    /// Same as `requested` with scoring defaults for missing cpu/memory.
    pub fn non_zero_requested(&self) -> &Resource {
        &self.non_zero_requested
    }

    /// The assigned pods.
    pub fn pods(&self) -> &[Arc<PodInfo>] {
        &self.pods
    }

    /// Number of assigned pods with any pod (anti-)affinity term.
    pub fn pods_with_affinity(&self) -> usize {
        self.pods_with_affinity
    }

    /// Number of assigned pods with a required anti-affinity term.
    pub fn pods_with_required_anti_affinity(&self) -> usize {
        self.pods_with_required_anti_affinity
    }

    /// Host ports in use.
    pub fn used_ports(&self) -> &HostPortInfo {
        &self.used_ports
    }

    /// The size of an image present on the node, by any of its names.
    pub fn image_size(&self, name: &str) -> Option<i64> {
        self.images.get(name).copied()
    }

    /// Image names present on the node.
    pub fn image_names(&self) -> impl Iterator<Item = &str> {
        self.images.keys().map(String::as_str)
    }

    /// Accounts a pod on this node.
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested.add(&pod.requests);
        self.non_zero_requested.add(&pod.non_zero_requests);
        for port in &pod.host_ports {
            self.used_ports.add(port);
        }
        if pod.has_affinity() {
            self.pods_with_affinity += 1;
        }
        if !pod.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity += 1;
        }
        self.pods.push(pod);
    }

    /// Releases a pod by `namespace/name`; returns it when it was on this node.
    pub fn remove_pod(&mut self, key: &str) -> Option<Arc<PodInfo>> {
        let index = self.pods.iter().position(|p| p.key() == key)?;
        let pod = self.pods.swap_remove(index);
        self.requested.sub(&pod.requests);
        self.non_zero_requested.sub(&pod.non_zero_requests);
        for port in &pod.host_ports {
            self.used_ports.remove(port);
        }
        if pod.has_affinity() {
            self.pods_with_affinity -= 1;
        }
        if !pod.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity -= 1;
        }
        Some(pod)
    }
}

fn image_sizes(node: &Node) -> HashMap<String, i64> {
    let images = node.status.as_ref().and_then(|s| s.images.as_deref());
    let mut sizes = HashMap::new();
    for image in images.unwrap_or_default() {
        for name in image.names.iter().flatten() {
            sizes.insert(name.clone(), image.size_bytes.unwrap_or(0));
        }
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    #[test]
    fn adding_and_removing_pods_should_keep_aggregates_exact() {
        let mut info = node("n1").cap("4", "8Gi").info();
        let a = pod("a").req("500m", "1Gi").host_port(80, "TCP", "").info();
        let b = pod("b").container().info();
        info.add_pod(a);
        info.add_pod(b);
        assert_eq!(info.requested().milli_cpu, 500);
        // a: 500m + 100m default for its port-only container; b: 100m default.
        assert_eq!(info.non_zero_requested().milli_cpu, 700);
        assert_eq!(info.pods().len(), 2);
        let http = HostPort {
            ip: "10.0.0.1".into(),
            protocol: "TCP".into(),
            port: 80,
        };
        assert!(info.used_ports().conflicts(&http));
        assert!(info.remove_pod("default/a").is_some());
        assert_eq!(info.requested().milli_cpu, 0);
        assert_eq!(info.non_zero_requested().milli_cpu, 100);
        assert!(!info.used_ports().conflicts(&http));
        assert!(info.remove_pod("default/a").is_none());
    }
}
