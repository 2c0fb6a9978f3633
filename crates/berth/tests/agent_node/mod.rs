//! A test node: the real `berth server`, the real `berth agent` (with its
//! private containerd) in a temporary data dir, and the busybox image built
//! from the host's busybox-static and imported. Dropping it kills the agent,
//! removes every sandbox and container it made, stops its containerd (by
//! the pid it recorded), unmounts leftovers and deletes the data dir.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use berth_agent::cri::{RemoteRuntime, RuntimeService};
use berth_testkit::{TestServer, eventually};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::Api;

pub const IMAGE: &str = berth_agent::image::BUSYBOX_IMAGE;

pub struct TestNode {
    pub name: String,
    pub server: TestServer,
    pub client: kube::Client,
    agent: Option<Child>,
    dir: tempfile::TempDir,
}

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_berth"))
}

/// Why containers cannot run here, if they cannot.
fn missing_prerequisite() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if !root {
        return Some("not root".into());
    }
    for tool in [
        "/usr/bin/containerd",
        "/usr/bin/ctr",
        "/usr/sbin/runc",
        berth_agent::image::BUSYBOX_PATH,
    ] {
        if !Path::new(tool).exists() {
            return Some(format!(
                "{tool} is missing (apt-get install containerd runc busybox-static)"
            ));
        }
    }
    None
}

impl TestNode {
    /// Starts a node named `name`. A machine that cannot run containers
    /// fails the test (scripts/test.sh installs what is needed), unless
    /// `BERTH_SKIP_CONTAINER_TESTS=1` says to skip: then `None`.
    pub async fn start(name: &str) -> Option<Self> {
        if let Some(why) = missing_prerequisite() {
            if std::env::var("BERTH_SKIP_CONTAINER_TESTS").as_deref() == Ok("1") {
                eprintln!("skipping (BERTH_SKIP_CONTAINER_TESTS=1): {why}");
                return None;
            }
            panic!("this test needs containers: {why}; run scripts/test.sh, which installs them");
        }
        let server = TestServer::start(binary()).expect("server starts");
        let client = server.client().await.expect("client");
        let dir = tempfile::Builder::new()
            .prefix("berth-agent-e2e-")
            .tempdir()
            .expect("tempdir");
        let mut node = Self {
            name: name.into(),
            server,
            client,
            agent: None,
            dir,
        };
        node.spawn_agent();
        node.wait_ready().await;
        node.import_busybox();
        Some(node)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("agent")
    }

    fn spawn_agent(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("agent.log"))
            .expect("log");
        let child = Command::new(binary())
            .args([
                "agent",
                "--node-name",
                &self.name,
                "--node-ip",
                "127.0.0.1",
                "--pod-network",
                "host",
                "--kubelet-port",
                "0",
                "--disable-proxy",
                "--kubeconfig",
            ])
            .arg(self.server.kubeconfig())
            .arg("--data-dir")
            .arg(self.data_dir())
            .env("BERTH_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("agent starts");
        self.agent = Some(child);
    }

    async fn wait_ready(&self) {
        let nodes: Api<Node> = Api::all(self.client.clone());
        eventually("node Ready", Duration::from_secs(60), || async {
            let n = nodes.get(&self.name).await.ok()?;
            let ready = n
                .status?
                .conditions?
                .into_iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            ready.then_some(())
        })
        .await;
    }

    fn import_busybox(&self) {
        let archive = self.dir.path().join("busybox.tar");
        let run = |args: &[&std::ffi::OsStr]| {
            let out = Command::new(binary())
                .args(args)
                .output()
                .expect("berth image runs");
            assert!(
                out.status.success(),
                "berth image: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "image".as_ref(),
            "build-busybox".as_ref(),
            archive.as_os_str(),
        ]);
        run(&[
            "image".as_ref(),
            "import".as_ref(),
            archive.as_os_str(),
            "--data-dir".as_ref(),
            self.data_dir().as_os_str(),
        ]);
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), "default")
    }

    /// A pod bound to this node.
    pub fn pod(&self, name: &str, restart_policy: &str, containers: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"nodeName": self.name, "restartPolicy": restart_policy,
                "terminationGracePeriodSeconds": 2, "containers": containers}
        }))
        .expect("valid pod")
    }

    fn endpoint(&self) -> String {
        format!(
            "unix://{}",
            self.data_dir().join("containerd/containerd.sock").display()
        )
    }

    /// Containers of this node in its containerd.
    pub async fn container_count(&self) -> usize {
        let rt = RemoteRuntime::connect_lazy(&self.endpoint()).expect("endpoint");
        rt.list_containers().await.map_or(0, |c| c.len())
    }

    /// SIGKILLs the agent and starts it again on the same data dir; returns
    /// once the new agent has renewed the node's Lease.
    pub async fn kill_and_restart_agent(&mut self) {
        if let Some(mut a) = self.agent.take() {
            let _ = a.kill();
            let _ = a.wait();
        }
        let restarted = jiff::Timestamp::now();
        self.spawn_agent();
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), "kube-node-lease");
        eventually(
            "the restarted agent renews its lease",
            Duration::from_secs(60),
            || async {
                let renewed = leases.get(&self.name).await.ok()?.spec?.renew_time?.0;
                (renewed > restarted).then_some(())
            },
        )
        .await;
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log =
                std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("--- agent log (last 60 lines) ---");
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
        if let Some(mut a) = self.agent.take() {
            let _ = a.kill();
            let _ = a.wait();
        }
        let endpoint = self.endpoint();
        let data = self.data_dir();
        let _ = std::thread::spawn(move || cleanup(&endpoint, &data)).join();
    }
}

/// Removes every sandbox, stops the containerd the agent left, unmounts.
fn cleanup(endpoint: &str, data: &Path) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async {
        if let Ok(cri) = RemoteRuntime::connect_lazy(endpoint) {
            for sb in cri.list_pod_sandboxes().await.unwrap_or_default() {
                let _ = cri.stop_pod_sandbox(&sb.id).await;
                let _ = cri.remove_pod_sandbox(&sb.id).await;
            }
        }
        stop_containerd(data).await;
    });
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let prefix = data.to_string_lossy().to_string();
    let mut targets: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|m| m.starts_with(&prefix))
        .collect();
    targets.sort_by_key(|t| std::cmp::Reverse(t.len()));
    for t in targets {
        let _ = Command::new("umount").args(["-l", t]).status();
    }
}

/// SIGTERM to the containerd whose pid the agent recorded, SIGKILL after 10 s.
async fn stop_containerd(data: &Path) {
    let pid_file = data.join("containerd/containerd.pid");
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok())
    else {
        return;
    };
    let alive = || Path::new(&format!("/proc/{pid}")).exists();
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while alive() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if alive() {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}
