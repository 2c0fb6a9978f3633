//! The objects `berth bench scheduler` creates, as upstream's scheduler_perf
//! templates: nodes with 32 CPU / 256 Gi / 110 pods in four zones, and pods
//! requesting 100m / 128 Mi, optionally with anti-affinity or zone spread.

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

/// The pod shape of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodShape {
    /// Requests only.
    Plain,
    /// Required anti-affinity on hostname against pods of the same app.
    AntiAffinity,
    /// Zone topology spread, maxSkew 1, DoNotSchedule, per app.
    ZoneSpread,
}

pub const NAMESPACE: &str = "bench";

pub fn node(i: usize) -> Node {
    let name = format!("node-{i:05}");
    let resources = json!({"cpu": "32", "memory": "256Gi", "pods": "110"});
    let node = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name,
            "topology.kubernetes.io/zone": format!("zone-{}", i % 4),
        }},
        "status": {"capacity": resources, "allocatable": resources,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]},
    });
    serde_json::from_value(node).unwrap_or_default()
}

/// The status a node needs when the server dropped it on create.
pub fn node_status() -> Value {
    let resources = json!({"cpu": "32", "memory": "256Gi", "pods": "110"});
    json!({"status": {"capacity": resources, "allocatable": resources,
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}})
}

pub fn pod(i: usize, shape: PodShape, apps: usize) -> Pod {
    let app = format!("app-{}", i % apps.max(1));
    let selector = json!({"matchLabels": {"app": app}});
    let mut spec = json!({
        "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}],
    });
    match shape {
        PodShape::Plain => {}
        PodShape::AntiAffinity => {
            spec["affinity"] = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": selector, "topologyKey": "kubernetes.io/hostname"}]}});
        }
        PodShape::ZoneSpread => {
            spec["topologySpreadConstraints"] = json!([{"maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule", "labelSelector": selector}]);
        }
    }
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("pod-{i:06}"), "namespace": NAMESPACE, "labels": {"app": app}},
        "spec": spec});
    serde_json::from_value(pod).unwrap_or_default()
}
