//! A multi-node cluster on one machine: the real `berth server` and
//! `berth controller-manager` (node IPAM on) in the root namespace, and one
//! [`TestHost`] per node (a network namespace on a [`TestLan`]) running the
//! real `berth agent` with its own containerd. The busybox image is built
//! once and imported into every host's containerd.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use berth_agent::cri::{RemoteRuntime, RuntimeService};
use berth_testkit::{TestHost, TestLan, TestServer, eventually};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, PostParams};

pub const IMAGE: &str = berth_agent::image::BUSYBOX_IMAGE;
const SLOW: Duration = Duration::from_secs(120);

pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_berth"))
}

/// Why this machine cannot run the test, if it cannot.
fn missing_prerequisite() -> Option<String> {
    if let Some(why) = berth_testkit::testhost::missing_prerequisite() {
        return Some(why);
    }
    let tools = [
        "/usr/bin/containerd",
        "/usr/bin/ctr",
        "/usr/sbin/runc",
        "/usr/lib/cni/bridge",
        "/usr/lib/cni/host-local",
        "/usr/lib/cni/portmap",
        "/usr/lib/cni/loopback",
        berth_agent::image::BUSYBOX_PATH,
    ];
    tools.iter().find(|t| !Path::new(t).exists()).map(|t| {
        format!("{t} is missing (apt-get install containerd runc containernetworking-plugins busybox-static)")
    })
}

pub struct Cluster {
    // Field order is drop order: hosts (agents, pods) before the LAN and
    // the control plane.
    pub hosts: Vec<TestHost>,
    pub lan: TestLan,
    controllers: Option<Child>,
    pub client: kube::Client,
    pub server: TestServer,
    dir: tempfile::TempDir,
}

pub fn node_name(i: usize) -> String {
    format!("node-{}", i + 1)
}

impl Cluster {
    /// A cluster of `n` hosts with Ready nodes that have podCIDRs. Fails
    /// the test when containers or namespaces cannot be used, unless
    /// `BERTH_SKIP_CONTAINER_TESTS=1`: then `None`.
    pub async fn start(n: usize) -> Option<Self> {
        if let Some(why) = missing_prerequisite() {
            if std::env::var("BERTH_SKIP_CONTAINER_TESTS").as_deref() == Ok("1") {
                eprintln!("skipping (BERTH_SKIP_CONTAINER_TESTS=1): {why}");
                return None;
            }
            panic!("this test needs containers and network namespaces: {why}");
        }
        let server = TestServer::start(binary()).expect("server starts");
        let client = server.client().await.expect("client");
        let dir = tempfile::Builder::new()
            .prefix("berth-multihost-")
            .tempdir()
            .expect("tempdir");
        let lan = TestLan::create().expect("LAN");
        let mut cluster = Self {
            hosts: Vec::new(),
            lan,
            controllers: None,
            client,
            server,
            dir,
        };
        cluster.start_controllers();
        for i in 0..n {
            let mut host = cluster.lan.add_host(i as u8 + 1).expect("host");
            let kubeconfig = cluster.server.kubeconfig();
            host.start_agent(
                binary(),
                &kubeconfig,
                cluster.server.port,
                &node_name(i),
                &[],
            )
            .expect("agent starts");
            cluster.hosts.push(host);
        }
        for i in 0..n {
            cluster.wait_node(&node_name(i)).await;
        }
        cluster.import_busybox();
        Some(cluster)
    }

    fn start_controllers(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("controllers.log")).expect("log");
        let child = Command::new(binary())
            .arg("controller-manager")
            .arg("--kubeconfig")
            .arg(self.server.kubeconfig())
            .env("BERTH_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("controller manager starts");
        self.controllers = Some(child);
    }

    /// Waits for the node to be Ready with a podCIDR.
    async fn wait_node(&self, name: &str) -> Node {
        let nodes: Api<Node> = Api::all(self.client.clone());
        eventually(&format!("{name} Ready with a podCIDR"), SLOW, || async {
            let n = nodes.get(name).await.ok()?;
            n.spec.as_ref()?.pod_cidr.as_ref()?;
            let ready = n
                .status
                .as_ref()?
                .conditions
                .as_ref()?
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            ready.then_some(n)
        })
        .await
    }

    pub async fn pod_cidr(&self, node: &str) -> String {
        let n = self.wait_node(node).await;
        n.spec.and_then(|s| s.pod_cidr).unwrap_or_default()
    }

    fn import_busybox(&self) {
        let archive = self.dir.path().join("busybox.tar");
        berth(&[
            "image".as_ref(),
            "build-busybox".as_ref(),
            archive.as_os_str(),
        ]);
        for h in &self.hosts {
            let data = h.agent_data_dir();
            berth(&[
                "image".as_ref(),
                "import".as_ref(),
                archive.as_os_str(),
                "--data-dir".as_ref(),
                data.as_os_str(),
            ]);
        }
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), "default")
    }

    /// Creates a pod bound to `node`.
    pub async fn create_pod(&self, name: &str, node: &str, container: serde_json::Value) {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                "containers": [container]}
        }))
        .expect("valid pod");
        self.pods()
            .create(&PostParams::default(), &pod)
            .await
            .expect("pod created");
    }

    /// Waits for the pod to run with a pod IP.
    pub async fn running(&self, name: &str) -> Pod {
        let pods = self.pods();
        let what = format!("pod {name} Running");
        eventually(&what, SLOW, || async {
            let p = pods.get(name).await.ok()?;
            let s = p.status.as_ref()?;
            (s.phase.as_deref() == Some("Running") && s.pod_ip.is_some()).then_some(p)
        })
        .await
    }

    /// Runs `cmd` in the pod's first container (CRI ExecSync on its host's
    /// containerd); returns (exit code, stdout).
    pub async fn exec(&self, pod: &Pod, cmd: &[&str]) -> (i32, String) {
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        let host = self.host_of(&node);
        let endpoint = format!(
            "unix://{}",
            host.agent_data_dir()
                .join("containerd/containerd.sock")
                .display()
        );
        let rt = RemoteRuntime::connect_lazy(&endpoint).expect("endpoint");
        let id = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|c| c.first())
            .and_then(|c| c.container_id.clone())
            .unwrap_or_default();
        let id = id.trim_start_matches("containerd://");
        let cmd: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        let out = rt
            .exec_sync(id, &cmd, Duration::from_secs(20))
            .await
            .expect("exec");
        (
            out.exit_code,
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    pub fn host_of(&self, node: &str) -> &TestHost {
        let i = (0..self.hosts.len())
            .find(|i| node_name(*i) == node)
            .expect("a host of that node");
        &self.hosts[i]
    }

    /// Deletes every pod and waits until the agents have removed them.
    pub async fn delete_pods(&self) {
        let pods = self.pods();
        let _ = pods
            .delete_collection(&DeleteParams::default(), &Default::default())
            .await;
        eventually("pods gone", SLOW, || async {
            pods.list(&Default::default())
                .await
                .ok()?
                .items
                .is_empty()
                .then_some(())
        })
        .await;
    }
}

fn berth(args: &[&std::ffi::OsStr]) {
    let out = Command::new(binary())
        .args(args)
        .output()
        .expect("berth runs");
    assert!(
        out.status.success(),
        "berth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Prints a host's addresses, routes and firewall (for failure reports).
fn print_network(host: &TestHost) {
    let script =
        "ip -br addr; ip route; cat /proc/sys/net/ipv4/ip_forward; iptables-save -t nat | head -40";
    if let Ok(out) = host.command("sh").args(["-c", script]).output() {
        eprintln!(
            "--- network of {} ---\n{}{}",
            host.netns,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for (i, h) in self.hosts.iter().enumerate() {
                print_network(h);
                eprintln!(
                    "--- agent log of {} (last 40 lines) ---\n{}",
                    node_name(i),
                    h.agent_log_tail(40)
                );
            }
        }
        if let Some(mut c) = self.controllers.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
