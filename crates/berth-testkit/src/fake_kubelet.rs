//! A fake kubelet for controller tests: plays kubelet for pods bound to fake
//! nodes, without containers.
//!
//! It registers Node objects (capacity, `Ready=True`) and renews each node's
//! Lease in `kube-node-lease`; it marks pods bound to its nodes Running and
//! Ready (or not ready, or Failed — see [`OUTCOME_ANNOTATION`]) through the
//! status subresource; it finishes graceful deletions by deleting with
//! `gracePeriodSeconds=0`; optionally it binds unscheduled pods to its nodes
//! round-robin (there is no scheduler in these tests). A node can be
//! stopped: its Lease is no longer renewed and its pods are left alone, as
//! when a real node dies.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Pod annotation choosing what the fake kubelet does with the pod:
/// `ready` (the default: Running and Ready), `not-ready` (Running, never
/// Ready), `succeed` (phase Succeeded, exit code 0), `fail` (phase Failed,
/// exit code 1) or `exit-N` (phase Failed, exit code N).
pub const OUTCOME_ANNOTATION: &str = "fake-kubelet.berth.dev/outcome";

/// Chooses a pod's outcome in code (e.g. by name or completion index);
/// `None` falls back to [`OUTCOME_ANNOTATION`].
#[derive(Clone)]
pub struct OutcomeHook(pub Arc<OutcomeFn>);

/// The function of an [`OutcomeHook`].
pub type OutcomeFn = dyn Fn(&Pod) -> Option<String> + Send + Sync;

impl std::fmt::Debug for OutcomeHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutcomeHook")
    }
}

/// How the fake kubelet behaves.
#[derive(Clone, Debug)]
pub struct FakeKubeletConfig {
    /// Names of the nodes to register.
    pub nodes: Vec<String>,
    /// How often each node's Lease is renewed (upstream kubelet: 10 s).
    pub lease_renew_interval: Duration,
    /// The Lease's `leaseDurationSeconds` (upstream: 40).
    pub lease_duration_seconds: i32,
    /// Bind pods without `spec.nodeName` to the nodes, round-robin.
    pub bind_pending_pods: bool,
    /// API calls in flight at most.
    pub concurrency: usize,
    /// Overrides the outcome annotation per pod.
    pub outcome: Option<OutcomeHook>,
}

impl FakeKubeletConfig {
    /// `count` nodes named `fake-node-0`… with upstream's timings; binds pods.
    pub fn nodes(count: usize) -> Self {
        Self {
            nodes: (0..count).map(|i| format!("fake-node-{i}")).collect(),
            lease_renew_interval: Duration::from_secs(10),
            lease_duration_seconds: 40,
            bind_pending_pods: true,
            concurrency: 64,
            outcome: None,
        }
    }
}

struct Shared {
    client: Client,
    config: FakeKubeletConfig,
    stopped: Mutex<HashSet<String>>,
    in_flight: Mutex<HashSet<(String, Action)>>,
    permits: Semaphore,
    next_ip: AtomicU32,
    next_node: AtomicUsize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Action {
    Bind,
    Start,
    FinishDeletion,
}

/// A running fake kubelet; its tasks stop when it is dropped.
pub struct FakeKubelet {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl FakeKubelet {
    /// Registers the nodes and starts serving their pods.
    pub async fn start(client: Client, config: FakeKubeletConfig) -> Result<Self> {
        let shared = Arc::new(Shared {
            client,
            permits: Semaphore::new(config.concurrency.max(1)),
            config,
            stopped: Mutex::default(),
            in_flight: Mutex::default(),
            next_ip: AtomicU32::new(0),
            next_node: AtomicUsize::new(0),
        });
        for (i, name) in shared.config.nodes.iter().enumerate() {
            register_node(&shared, name, i).await?;
        }
        let tasks = vec![
            tokio::spawn(renew_leases(shared.clone())),
            tokio::spawn(serve_pods(shared.clone())),
        ];
        Ok(Self { shared, tasks })
    }

    /// The registered nodes.
    pub fn node_names(&self) -> &[String] {
        &self.shared.config.nodes
    }

    /// The node dies: no more Lease renewals, its pods are left alone.
    pub fn stop_node(&self, name: &str) {
        lock(&self.shared.stopped).insert(name.to_string());
    }

    /// The node comes back: posts Ready, renews its Lease, serves its pods.
    pub async fn restart_node(&self, name: &str) -> Result<()> {
        lock(&self.shared.stopped).remove(name);
        renew_lease(&self.shared, name).await?;
        post_node_status(&self.shared, name, 0).await?;
        let pods: Api<Pod> = Api::all(self.shared.client.clone());
        let lp = ListParams::default().fields(&format!("spec.nodeName={name}"));
        for pod in pods.list(&lp).await? {
            handle_pod(&self.shared, pod);
        }
        Ok(())
    }
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now() -> String {
    Timestamp::now().to_string()
}

async fn register_node(shared: &Shared, name: &str, index: usize) -> Result<()> {
    let nodes: Api<Node> = Api::all(shared.client.clone());
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", "type": "fake-kubelet"}},
        "spec": {}
    }))?;
    match nodes.create(&PostParams::default(), &node).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => return Err(e).with_context(|| format!("registering node {name}")),
    }
    post_node_status(shared, name, index).await?;
    let leases: Api<Lease> = Api::namespaced(shared.client.clone(), "kube-node-lease");
    let created = nodes.get(name).await?;
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": name, "ownerReferences": [{"apiVersion": "v1", "kind": "Node",
            "name": name, "uid": created.uid()}]},
        "spec": {"holderIdentity": name, "leaseDurationSeconds": shared.config.lease_duration_seconds,
            "renewTime": Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()}
    }))?;
    match leases.create(&PostParams::default(), &lease).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => renew_lease(shared, name).await,
        Err(e) => Err(e).with_context(|| format!("creating the lease of {name}")),
    }
}

async fn post_node_status(shared: &Shared, name: &str, index: usize) -> Result<()> {
    let nodes: Api<Node> = Api::all(shared.client.clone());
    let t = now();
    let cond = |type_: &str, status: &str, reason: &str, message: &str| {
        json!({"type": type_, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": t, "lastTransitionTime": t})
    };
    let resources =
        json!({"cpu": "32", "memory": "128Gi", "pods": "250", "ephemeral-storage": "100Gi"});
    let status = json!({"status": {
        "capacity": resources, "allocatable": resources,
        "conditions": [
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [{"type": "InternalIP", "address": format!("192.168.{}.{}", 100 + index / 250, 1 + index % 250)},
                      {"type": "Hostname", "address": name}],
        "nodeInfo": {"machineID": name, "systemUUID": name, "bootID": name, "kernelVersion": "6.1.0",
            "osImage": "Berth fake node", "containerRuntimeVersion": "fake://1.0",
            "kubeletVersion": "v1.33.0-fake", "kubeProxyVersion": "", "operatingSystem": "linux",
            "architecture": "amd64"}
    }});
    nodes
        .patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await
        .with_context(|| format!("posting the status of node {name}"))?;
    Ok(())
}

async fn renew_lease(shared: &Shared, name: &str) -> Result<()> {
    let leases: Api<Lease> = Api::namespaced(shared.client.clone(), "kube-node-lease");
    let renew = Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let patch = json!({"spec": {"renewTime": renew, "holderIdentity": name}});
    leases
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    Ok(())
}

async fn renew_leases(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(shared.config.lease_renew_interval);
    loop {
        tick.tick().await;
        let live: Vec<String> = {
            let stopped = lock(&shared.stopped);
            shared
                .config
                .nodes
                .iter()
                .filter(|n| !stopped.contains(*n))
                .cloned()
                .collect()
        };
        let renewals = live.iter().map(|n| renew_lease(&shared, n));
        for r in futures::future::join_all(renewals).await {
            if let Err(e) = r {
                eprintln!("fake kubelet: renewing a lease: {e:#}");
            }
        }
    }
}

async fn serve_pods(shared: Arc<Shared>) {
    let pods: Api<Pod> = Api::all(shared.client.clone());
    let mut events = watcher::watcher(pods, watcher::Config::default())
        .default_backoff()
        .boxed();
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Apply(pod) | Event::InitApply(pod)) => handle_pod(&shared, pod),
            Ok(_) => {}
            Err(e) => eprintln!("fake kubelet: pod watch: {e}"),
        }
    }
}

/// Decides what a kubelet would do with this pod now, and does it.
fn handle_pod(shared: &Arc<Shared>, pod: Pod) {
    let node = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .unwrap_or_default();
    let action = if node.is_empty() {
        if !shared.config.bind_pending_pods || pod.metadata.deletion_timestamp.is_some() {
            return;
        }
        Action::Bind
    } else {
        if !shared.config.nodes.contains(&node) || lock(&shared.stopped).contains(&node) {
            return;
        }
        if pod.metadata.deletion_timestamp.is_some() {
            Action::FinishDeletion
        } else if pod
            .status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .is_none()
        {
            Action::Start
        } else {
            return;
        }
    };
    let key = (pod.uid().unwrap_or_default(), action);
    if !lock(&shared.in_flight).insert(key.clone()) {
        return;
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        let Ok(_permit) = shared.permits.acquire().await else {
            return;
        };
        if let Err(e) = act(&shared, &pod, action).await {
            eprintln!("fake kubelet: {action:?} pod {}: {e:#}", pod.name_any());
        }
        lock(&shared.in_flight).remove(&key);
    });
}

async fn act(shared: &Shared, pod: &Pod, action: Action) -> Result<()> {
    let api: Api<Pod> =
        Api::namespaced(shared.client.clone(), &pod.namespace().unwrap_or_default());
    let name = pod.name_any();
    let result = match action {
        Action::Bind => bind(shared, &api, pod).await,
        Action::Start => api
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(started_status(shared, pod)),
            )
            .await
            .map(|_| ()),
        Action::FinishDeletion => {
            let dp = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid: pod.uid(),
                    resource_version: None,
                }),
                ..Default::default()
            };
            api.delete(&name, &dp).await.map(|_| ())
        }
    };
    match result {
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        r => Ok(r?),
    }
}

async fn bind(shared: &Shared, api: &Api<Pod>, pod: &Pod) -> kube::Result<()> {
    let live: Vec<String> = {
        let stopped = lock(&shared.stopped);
        shared
            .config
            .nodes
            .iter()
            .filter(|n| !stopped.contains(*n))
            .cloned()
            .collect()
    };
    let node = match required_node(pod) {
        Some(n) if live.contains(&n) => n,
        Some(_) => return Ok(()),
        None if live.is_empty() => return Ok(()),
        None => live[shared.next_node.fetch_add(1, Ordering::Relaxed) % live.len()].clone(),
    };
    let binding = json!({"apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": pod.name_any(), "uid": pod.uid()},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node}});
    api.create_subresource::<Value, Value>(
        "binding",
        &pod.name_any(),
        &PostParams::default(),
        &binding,
    )
    .await
    .map(|_| ())
}

/// The one node a pod may run on, as a DaemonSet pod names it: required
/// node affinity on `metadata.name`, or a `kubernetes.io/hostname` selector.
fn required_node(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let by_field = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .into_iter()
        .flat_map(|r| &r.node_selector_terms)
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|f| f.key == "metadata.name" && f.operator == "In")
        .and_then(|f| f.values.as_ref()?.first().cloned());
    by_field.or_else(|| {
        spec.node_selector
            .as_ref()?
            .get("kubernetes.io/hostname")
            .cloned()
    })
}

/// What the pod does: the hook's choice, else the annotation, else `ready`.
fn outcome(shared: &Shared, pod: &Pod) -> String {
    shared
        .config
        .outcome
        .as_ref()
        .and_then(|h| (h.0)(pod))
        .or_else(|| pod.annotations().get(OUTCOME_ANNOTATION).cloned())
        .unwrap_or_else(|| "ready".to_string())
}

/// The exit code of a finished outcome (`succeed` 0, `fail` 1, `exit-N`).
fn exit_code(outcome: &str) -> Option<i32> {
    match outcome {
        "succeed" => Some(0),
        "fail" => Some(1),
        o => o.strip_prefix("exit-")?.parse().ok(),
    }
}

fn started_status(shared: &Shared, pod: &Pod) -> Value {
    let outcome = outcome(shared, pod);
    let t = now();
    let n = shared.next_ip.fetch_add(1, Ordering::Relaxed);
    let ip = format!(
        "10.{}.{}.{}",
        100 + n / 64_516,
        (n / 254) % 254 + 1,
        n % 254 + 1
    );
    let ready = outcome == "ready";
    let exit = exit_code(&outcome);
    let failed = exit.is_some_and(|c| c != 0);
    let finished = exit.is_some();
    let flag = |b: bool| if b { "True" } else { "False" };
    let cond =
        |type_: &str, ok: bool| json!({"type": type_, "status": flag(ok), "lastTransitionTime": t});
    let containers: Vec<Value> = pod.spec.iter().flat_map(|s| &s.containers).map(|c| {
        let state = if let Some(code) = exit {
            let reason = if code == 0 { "Completed" } else { "Error" };
            json!({"terminated": {"exitCode": code, "reason": reason, "startedAt": t, "finishedAt": t}})
        } else {
            json!({"running": {"startedAt": t}})
        };
        json!({"name": c.name, "image": c.image, "imageID": "", "ready": ready, "started": !finished,
               "restartCount": 0, "containerID": format!("fake://{}", c.name), "state": state})
    }).collect();
    json!({"status": {
        "phase": match (finished, failed) {
            (false, _) => "Running",
            (true, false) => "Succeeded",
            (true, true) => "Failed",
        },
        "conditions": [cond("PodScheduled", true), cond("Initialized", true),
                       cond("ContainersReady", ready), cond("Ready", ready)],
        "hostIP": "192.168.100.1", "podIP": ip, "podIPs": [{"ip": ip}], "startTime": t,
        "containerStatuses": containers,
    }})
}
