//! Shared by the scheduler integration tests: a real `berth server` with
//! the scheduler running in-process against it, and Node / Pod builders.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use berth_scheduler::SchedulerOptions;
use berth_testkit::{TestServer, eventually};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const WAIT: Duration = Duration::from_secs(30);

/// A server plus a scheduler task; the scheduler stops when dropped.
pub struct Cluster {
    pub server: TestServer,
    pub client: kube::Client,
    scheduler: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Cluster {
    /// A fresh server, no scheduler yet.
    pub async fn start() -> Self {
        let binary = Path::new(env!("CARGO_BIN_EXE_berth"));
        let server = TestServer::start(binary).expect("berth server starts");
        let client = server.client().await.expect("client");
        Self {
            server,
            client,
            scheduler: None,
        }
    }

    /// A fresh server with a running scheduler.
    pub async fn with_scheduler() -> Self {
        let mut cluster = Self::start().await;
        cluster.start_scheduler(SchedulerOptions::new("test-scheduler"));
        cluster
    }

    /// Starts the scheduler in-process.
    pub fn start_scheduler(&mut self, options: SchedulerOptions) {
        let (stop, stopped) = oneshot::channel();
        let client = self.client.clone();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = berth_scheduler::run(client, options, shutdown).await {
                panic!("scheduler failed: {e}");
            }
        });
        self.scheduler = Some((stop, task));
    }

    /// Starts another scheduler in-process; aborting the handle kills it
    /// without releasing its Lease (a crash).
    pub fn spawn_scheduler(&self, options: SchedulerOptions) -> JoinHandle<()> {
        let client = self.client.clone();
        tokio::spawn(async move {
            if let Err(e) = berth_scheduler::run(client, options, std::future::pending()).await {
                panic!("scheduler failed: {e}");
            }
        })
    }

    pub async fn create_node(&self, node: NodeSpec) {
        let api: Api<Node> = Api::all(self.client.clone());
        let object: Node = serde_json::from_value(json!({
            "metadata": {"name": node.name, "labels": node.labels},
            "spec": {"taints": node.taints},
        }))
        .expect("node");
        api.create(&PostParams::default(), &object)
            .await
            .expect("node created");
        let resources =
            json!({"cpu": node.cpu, "memory": node.memory, "pods": node.pods.to_string()});
        let status = json!({"status": {
            "capacity": resources, "allocatable": resources,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
        }});
        api.patch_status(&node.name, &PatchParams::default(), &Patch::Merge(status))
            .await
            .expect("node status");
    }

    pub async fn create_pod(&self, pod: Value) -> String {
        let pod: Pod = serde_json::from_value(pod).expect("pod");
        let name = pod.metadata.name.clone().unwrap_or_default();
        self.pods()
            .create(&PostParams::default(), &pod)
            .await
            .expect("pod created");
        name
    }

    pub async fn create_priority_class(&self, name: &str, value: i32) {
        let class = PriorityClass {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            value,
            ..Default::default()
        };
        Api::<PriorityClass>::all(self.client.clone())
            .create(&PostParams::default(), &class)
            .await
            .expect("priority class created");
    }

    /// A PodDisruptionBudget selecting `app=<app>` (status left to a
    /// disruption controller: none runs here, so no disruption is allowed).
    pub async fn create_disruption_budget(&self, name: &str, app: &str) {
        let budget: PodDisruptionBudget = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": app}}},
        }))
        .expect("budget");
        Api::<PodDisruptionBudget>::namespaced(self.client.clone(), "default")
            .create(&PostParams::default(), &budget)
            .await
            .expect("budget created");
    }

    /// Waits until the pod is being deleted, then finishes the deletion as
    /// a kubelet would once its containers stopped (grace period 0).
    pub async fn finish_termination(&self, pod: &str) {
        let pods = self.pods();
        eventually(&format!("pod {pod} terminating"), WAIT, || async {
            pods.get(pod).await.ok()?.metadata.deletion_timestamp
        })
        .await;
        pods.delete(pod, &DeleteParams::default().grace_period(0))
            .await
            .expect("pod deleted");
    }

    /// `status.nominatedNodeName`, once set.
    pub async fn nominated_node(&self, pod: &str) -> String {
        let pods = self.pods();
        eventually(&format!("pod {pod} nominated"), WAIT, || async {
            pods.get(pod).await.ok()?.status?.nominated_node_name
        })
        .await
    }

    /// Runs `berth why pod NAME` against this server.
    pub fn why_pod(&self, pod: &str) -> String {
        let binary = Path::new(env!("CARGO_BIN_EXE_berth"));
        let kubeconfig = self.server.kubeconfig();
        let output = std::process::Command::new(binary)
            .args(["why", "pod", pod, "-n", "default", "--kubeconfig"])
            .arg(&kubeconfig)
            .output()
            .expect("berth why runs");
        assert!(
            output.status.success(),
            "berth why pod {pod}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), "default")
    }

    /// The node the pod is bound to, once it is.
    pub async fn bound_node(&self, pod: &str) -> String {
        let pods = self.pods();
        eventually(&format!("pod {pod} bound"), WAIT, || async {
            let p = pods.get(pod).await.ok()?;
            p.spec?.node_name.filter(|n| !n.is_empty())
        })
        .await
    }

    /// The pod's PodScheduled=False condition (reason, message), once set.
    pub async fn unschedulable_condition(&self, pod: &str) -> (String, String) {
        let pods = self.pods();
        eventually(&format!("pod {pod} PodScheduled=False"), WAIT, || async {
            let p = pods.get(pod).await.ok()?;
            let c = p
                .status?
                .conditions?
                .into_iter()
                .find(|c| c.type_ == "PodScheduled")?;
            (c.status == "False")
                .then(|| (c.reason.unwrap_or_default(), c.message.unwrap_or_default()))
        })
        .await
    }

    /// Events about a pod with a reason, once there is one.
    pub async fn events_for(&self, pod: &str, reason: &str) -> Vec<Event> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), "default");
        eventually(&format!("{reason} event for {pod}"), WAIT, || async {
            let list = events.list(&ListParams::default()).await.ok()?;
            let found: Vec<Event> = list
                .items
                .into_iter()
                .filter(|e| {
                    e.involved_object.name.as_deref() == Some(pod)
                        && e.reason.as_deref() == Some(reason)
                })
                .collect();
            (!found.is_empty()).then_some(found)
        })
        .await
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some((stop, task)) = self.scheduler.take() {
            let _ = stop.send(());
            task.abort();
        }
    }
}

/// A Node with allocatable resources.
pub struct NodeSpec {
    pub name: String,
    pub cpu: String,
    pub memory: String,
    pub pods: u32,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Value>,
}

pub fn node(name: &str) -> NodeSpec {
    NodeSpec {
        name: name.into(),
        cpu: "4".into(),
        memory: "8Gi".into(),
        pods: 110,
        labels: BTreeMap::from([("kubernetes.io/hostname".to_string(), name.to_string())]),
        taints: Vec::new(),
    }
}

impl NodeSpec {
    pub fn cpu(mut self, cpu: &str) -> Self {
        self.cpu = cpu.into();
        self
    }
    pub fn zone(mut self, zone: &str) -> Self {
        self.labels
            .insert("topology.kubernetes.io/zone".into(), zone.into());
        self
    }
    pub fn taint(mut self, key: &str, value: &str, effect: &str) -> Self {
        self.taints
            .push(json!({"key": key, "value": value, "effect": effect}));
        self
    }
}

/// A pod in `default` with one container requesting `cpu`; `extra` is
/// merged into its spec.
pub fn pod(name: &str, cpu: &str, labels: Value, extra: Value) -> Value {
    let mut spec = json!({
        "containers": [{"name": "c", "image": "busybox:1.36",
            "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}],
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": spec})
}
