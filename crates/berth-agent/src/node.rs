//! The Node object of this agent: registration with capacity, labels,
//! addresses, nodeInfo and conditions; status refreshed periodically; and
//! the heartbeat Lease in `kube-node-lease` renewed every 10 s.

pub mod capacity;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, NodeAddress, NodeCondition, NodeStatus, NodeSystemInfo};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};

/// Upstream's default `--max-pods`.
pub const MAX_PODS: u32 = 110;
/// Upstream's node lease duration and renew interval.
pub const LEASE_DURATION_SECONDS: i32 = 40;
pub const LEASE_RENEW_INTERVAL: Duration = Duration::from_secs(10);
/// The version this agent reports as `kubeletVersion`.
pub const KUBELET_VERSION: &str = "v1.33.0-berth";

/// What the node reports about itself.
#[derive(Debug, Clone)]
pub struct NodeFacts {
    pub name: String,
    pub ip: String,
    pub runtime_version: String,
    pub data_dir: std::path::PathBuf,
    /// The kubelet API's port (`status.daemonEndpoints`).
    pub kubelet_port: u16,
}

fn quantities(data_dir: &Path) -> BTreeMap<String, Quantity> {
    let kib = |bytes: u64| Quantity(format!("{}Ki", bytes / 1024));
    BTreeMap::from([
        ("cpu".into(), Quantity(capacity::cpu_count().to_string())),
        ("memory".into(), kib(capacity::memory_bytes())),
        (
            "ephemeral-storage".into(),
            kib(capacity::filesystem_bytes(data_dir)),
        ),
        ("pods".into(), Quantity(MAX_PODS.to_string())),
    ])
}

fn condition(type_: &str, status: &str, reason: &str, message: &str, now: &Time) -> NodeCondition {
    NodeCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
    }
}

pub fn node_status(f: &NodeFacts, now: jiff::Timestamp) -> NodeStatus {
    let now = Time(now);
    let q = quantities(&f.data_dir);
    NodeStatus {
        daemon_endpoints: Some(k8s_openapi::api::core::v1::NodeDaemonEndpoints {
            kubelet_endpoint: Some(k8s_openapi::api::core::v1::DaemonEndpoint {
                port: i32::from(f.kubelet_port),
            }),
        }),
        capacity: Some(q.clone()),
        allocatable: Some(q),
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".into(),
                address: f.ip.clone(),
            },
            NodeAddress {
                type_: "Hostname".into(),
                address: f.name.clone(),
            },
        ]),
        conditions: Some(vec![
            condition(
                "MemoryPressure",
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
                &now,
            ),
            condition(
                "DiskPressure",
                "False",
                "KubeletHasNoDiskPressure",
                "kubelet has no disk pressure",
                &now,
            ),
            condition(
                "PIDPressure",
                "False",
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
                &now,
            ),
            condition(
                "Ready",
                "True",
                "KubeletReady",
                "kubelet is posting ready status",
                &now,
            ),
        ]),
        node_info: Some(NodeSystemInfo {
            architecture: capacity::arch().into(),
            boot_id: capacity::boot_id(),
            container_runtime_version: f.runtime_version.clone(),
            kernel_version: capacity::kernel_version(),
            kube_proxy_version: String::new(),
            kubelet_version: KUBELET_VERSION.into(),
            machine_id: capacity::machine_id(),
            operating_system: "linux".into(),
            os_image: capacity::os_image(),
            system_uuid: capacity::machine_id(),
            ..NodeSystemInfo::default()
        }),
        ..NodeStatus::default()
    }
}

pub fn node_object(f: &NodeFacts) -> Node {
    let labels = BTreeMap::from([
        ("kubernetes.io/hostname".to_string(), f.name.clone()),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
        (
            "kubernetes.io/arch".to_string(),
            capacity::arch().to_string(),
        ),
        ("beta.kubernetes.io/os".to_string(), "linux".to_string()),
        (
            "beta.kubernetes.io/arch".to_string(),
            capacity::arch().to_string(),
        ),
    ]);
    Node {
        metadata: ObjectMeta {
            name: Some(f.name.clone()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        ..Node::default()
    }
}

/// Creates the Node if missing, then writes its status.
pub async fn register(client: &kube::Client, f: &NodeFacts) -> Result<(), kube::Error> {
    let api: Api<Node> = Api::all(client.clone());
    match api.create(&PostParams::default(), &node_object(f)).await {
        Ok(_) => tracing::info!(node = f.name, "node registered"),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            tracing::info!(node = f.name, "node already registered")
        }
        Err(e) => return Err(e),
    }
    update_status(client, f).await
}

pub async fn update_status(client: &kube::Client, f: &NodeFacts) -> Result<(), kube::Error> {
    let api: Api<Node> = Api::all(client.clone());
    let patch = serde_json::json!({ "status": node_status(f, jiff::Timestamp::now()) });
    api.patch_status(&f.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(drop)
}

fn lease(node: &str, now: jiff::Timestamp) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(node.into()),
            namespace: Some("kube-node-lease".into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(node.into()),
            lease_duration_seconds: Some(LEASE_DURATION_SECONDS),
            renew_time: Some(MicroTime(now)),
            ..LeaseSpec::default()
        }),
    }
}

/// Creates or renews the node's Lease.
pub async fn renew_lease(client: &kube::Client, node: &str) -> Result<(), kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let now = jiff::Timestamp::now();
    let patch = serde_json::json!({"spec": {"holderIdentity": node, "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": MicroTime(now)}});
    match api
        .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => api
            .create(&PostParams::default(), &lease(node, now))
            .await
            .map(drop),
        Err(e) => Err(e),
    }
}

/// The first non-loopback IPv4 address routes use (no packet is sent).
pub fn default_ip() -> String {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").and_then(|s| {
        s.connect("192.0.2.1:9")?;
        s.local_addr()
    });
    probe.map_or_else(|_| "127.0.0.1".into(), |a| a.ip().to_string())
}
