//! Shared by the `controllers_*` tests: a real `berth server`, a real
//! `berth controller-manager` child process, the fake kubelet, builders.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use berth_testkit::{FakeKubelet, FakeKubeletConfig, TestServer, eventually};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Client;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use serde_json::{Value, json};

pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_berth"))
}

/// Long enough for a loaded 2-core machine, short enough to fail fast.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A `berth controller-manager` process, killed (SIGKILL) when dropped.
pub struct Manager(Option<Child>);

impl Manager {
    pub fn pid(&self) -> Option<u32> {
        self.0.as_ref().map(Child::id)
    }

    /// SIGKILLs it, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The server, a client, the fake kubelet and (usually) a controller manager.
/// Fields drop in order: the manager and kubelet stop before the server.
pub struct Cluster {
    pub manager: Manager,
    pub kubelet: FakeKubelet,
    pub client: Client,
    pub server: TestServer,
}

impl Cluster {
    /// A server, `nodes` fake nodes, and a controller manager with `flags`
    /// (leader election off unless the flags say otherwise).
    pub async fn start(nodes: usize, flags: &[&str]) -> Self {
        let mut config = FakeKubeletConfig::nodes(nodes);
        config.lease_renew_interval = Duration::from_secs(1);
        Self::start_with(config, flags).await
    }

    /// As [`Cluster::start`], with the fake kubelet configured by the caller.
    pub async fn start_with(kubelet: FakeKubeletConfig, flags: &[&str]) -> Self {
        let server = TestServer::start(binary()).expect("berth server starts");
        let client = server.client().await.expect("client");
        let kubelet = FakeKubelet::start(client.clone(), kubelet)
            .await
            .expect("fake kubelet starts");
        let manager = start_manager(&server, flags);
        Self {
            manager,
            kubelet,
            client,
            server,
        }
    }

    pub async fn namespace(&self, name: &str) {
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("namespace created");
    }

    /// Pods in `ns` with label `app=<app>`, terminating ones included.
    pub async fn pods(&self, ns: &str, app: &str) -> Vec<Pod> {
        Api::<Pod>::namespaced(self.client.clone(), ns)
            .list(&ListParams::default().labels(&format!("app={app}")))
            .await
            .expect("list pods")
            .items
    }

    /// Waits until `app` has exactly `n` pods, none terminating, all ready.
    pub async fn wait_ready_pods(&self, ns: &str, app: &str, n: usize) -> Vec<Pod> {
        eventually(&format!("{n} ready pods of {app}"), TIMEOUT, || async {
            let pods = self.pods(ns, app).await;
            let ready = pods.iter().all(|p| {
                p.metadata.deletion_timestamp.is_none() && berth_controllers::pod_state::is_ready(p)
            });
            (pods.len() == n && ready).then_some(pods)
        })
        .await
    }
}

/// Starts `berth controller-manager` against the server.
pub fn start_manager(server: &TestServer, flags: &[&str]) -> Manager {
    let mut args = vec!["controller-manager".to_string(), "--kubeconfig".into()];
    args.push(server.kubeconfig().display().to_string());
    if !flags.iter().any(|f| f.starts_with("--leader-elect")) {
        args.push("--leader-elect=false".into());
    }
    args.extend(flags.iter().map(|s| s.to_string()));
    let child = Command::new(binary())
        .args(&args)
        .env(
            "BERTH_LOG",
            std::env::var("BERTH_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("controller manager starts");
    Manager(Some(child))
}

/// A pod template with label `app=<app>` and one container.
pub fn template(app: &str, image: &str) -> Value {
    json!({"metadata": {"labels": {"app": app}},
           "spec": {"containers": [{"name": "c", "image": image}],
                    "terminationGracePeriodSeconds": 30}})
}

pub fn replica_set(name: &str, replicas: i32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                    "template": template(name, "busybox:1.36")}})
}

pub fn deployment(name: &str, replicas: i32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                    "template": template(name, "busybox:1.36")}})
}

/// A StatefulSet of `app=<name>` pods governed by the Service `<name>`.
pub fn stateful_set(name: &str, replicas: i32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
           "spec": {"replicas": replicas, "serviceName": name,
                    "selector": {"matchLabels": {"app": name}},
                    "template": template(name, "busybox:1.36")}})
}

pub fn from_json<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("valid object")
}

/// Follows every event (after the initial list) of the pods with `app=<app>` in `ns` and calls
/// `check` with the pods as they are after each event; the task's handle
/// yields the number of events seen.
pub fn watch_pods(
    client: &Client,
    ns: &str,
    app: &str,
    mut check: impl FnMut(&std::collections::BTreeMap<String, Pod>) + Send + 'static,
) -> tokio::task::JoinHandle<usize> {
    use futures::StreamExt;
    use kube::runtime::watcher::{self, Event};
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let config = watcher::Config::default().labels(&format!("app={app}"));
    tokio::spawn(async move {
        let mut pods = std::collections::BTreeMap::new();
        let mut seen = 0;
        let mut synced = false;
        let mut events = watcher::watcher(api, config).boxed();
        while let Some(event) = events.next().await {
            match event.expect("watch works") {
                Event::Apply(p) | Event::InitApply(p) => {
                    pods.insert(p.metadata.name.clone().unwrap_or_default(), p);
                }
                Event::Delete(p) => {
                    pods.remove(&p.metadata.name.clone().unwrap_or_default());
                }
                Event::Init => synced = false,
                Event::InitDone => synced = true,
            }
            seen += 1;
            if synced {
                check(&pods);
            }
        }
        seen
    })
}

/// Pods that count as available: ready and not terminating.
pub fn available(pods: &std::collections::BTreeMap<String, Pod>) -> usize {
    pods.values()
        .filter(|p| {
            p.metadata.deletion_timestamp.is_none() && berth_controllers::pod_state::is_ready(p)
        })
        .count()
}
