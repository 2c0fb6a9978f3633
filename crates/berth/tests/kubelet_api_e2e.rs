//! End to end: the real kubectl's `logs`, `exec` and `port-forward` go
//! through the real `berth server` (`pods/log|exec|portforward`) to the
//! kubelet API and on to containerd's CRI streaming server, with real
//! containers made by the real `berth agent`.
//!
//! The agent serves its kubelet API on a free port (`--kubelet-port 0`)
//! and advertises it in the Node's `status.daemonEndpoints`. It runs with
//! `--pod-network host` in the root namespace: pods use loopback ports
//! picked by the test, nothing else is touched.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use berth_agent::cri::stats::StatsService;
use berth_agent::cri::{RemoteRuntime, RuntimeService};
use berth_testkit::{Kubectl, TestServer, eventually};

const BERTH: &str = env!("CARGO_BIN_EXE_berth");
const SLOW: Duration = Duration::from_secs(90);

/// A node: server, agent (host network), busybox imported, kubelet API up.
struct KubeletNode {
    server: TestServer,
    kubectl: Kubectl,
    agent: Option<Child>,
    dir: tempfile::TempDir,
}

fn berth(args: &[&std::ffi::OsStr]) {
    let out = Command::new(BERTH).args(args).output().expect("berth runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "berth {args:?}: {err}");
}

impl KubeletNode {
    fn data(&self) -> PathBuf {
        self.dir.path().join("agent")
    }

    async fn start(name: &str) -> Self {
        for tool in [
            "/usr/bin/containerd",
            "/usr/bin/ctr",
            "/usr/sbin/runc",
            "/bin/busybox",
        ] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: run scripts/test.sh"
            );
        }
        let server = TestServer::start(Path::new(BERTH)).expect("server starts");
        let dir = tempfile::Builder::new()
            .prefix("berth-kubelet-e2e-")
            .tempdir()
            .expect("dir");
        let log = std::fs::File::create(dir.path().join("agent.log")).expect("log");
        let mut node = Self {
            kubectl: Kubectl::new(&server.kubeconfig()),
            server,
            agent: None,
            dir,
        };
        let words = [
            "agent",
            "--node-name",
            name,
            "--node-ip",
            "127.0.0.1",
            "--pod-network",
            "host",
            "--kubelet-port",
            "0",
            "--disable-proxy",
        ];
        let agent = Command::new(BERTH)
            .args(words)
            .arg("--kubeconfig")
            .arg(node.server.kubeconfig())
            .arg("--data-dir")
            .arg(node.data())
            .env("BERTH_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("agent starts");
        node.agent = Some(agent);
        let k = node.kubectl.clone();
        eventually("the node Ready", SLOW, || {
            let k = k.clone();
            async move {
                let path = "jsonpath={.status.conditions[?(@.type=='Ready')].status}";
                let out = k.run(&["get", "node", name, "-o", path]);
                (out.stdout == "True").then_some(())
            }
        })
        .await;
        let archive = node.dir.path().join("busybox.tar");
        berth(&[
            "image".as_ref(),
            "build-busybox".as_ref(),
            archive.as_os_str(),
        ]);
        let data = node.data();
        let import = ["image".as_ref(), "import".as_ref(), archive.as_os_str()];
        berth(&[&import[..], &["--data-dir".as_ref(), data.as_os_str()]].concat());
        node
    }

    async fn apply(&self, name: &str, restart: &str, script: &str) {
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": "kubelet-e2e", "restartPolicy": restart,
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "c", "image": berth_agent::image::BUSYBOX_IMAGE,
                    "command": ["sh", "-c", script]}]}
        });
        self.kubectl
            .run_with_stdin(&["apply", "-f", "-"], Some(&pod.to_string()))
            .ok();
    }

    async fn wait_for(&self, pod: &str, jsonpath: &str, want: impl Fn(&str) -> bool) {
        let k = self.kubectl.clone();
        let what = format!("pod {pod}: {jsonpath}");
        eventually(&what, SLOW, || {
            let out = k.run(&["get", "pod", pod, "-o", &format!("jsonpath={jsonpath}")]);
            let ok = want(&out.stdout);
            async move { ok.then_some(()) }
        })
        .await;
    }
}

impl Drop for KubeletNode {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log =
                std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!(
                "--- agent log ---\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        if let Some(mut a) = self.agent.take() {
            let _ = a.kill();
            let _ = a.wait();
        }
        let data = self.data();
        let _ = std::thread::spawn(move || cleanup(&data)).join();
    }
}

/// Removes the sandboxes, stops the agent's containerd (by its pid file)
/// and unmounts what is left under the data dir.
fn cleanup(data: &Path) {
    let endpoint = format!(
        "unix://{}",
        data.join("containerd/containerd.sock").display()
    );
    if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        rt.block_on(async {
            if let Ok(cri) = RemoteRuntime::connect_lazy(&endpoint) {
                for sb in cri.list_pod_sandboxes().await.unwrap_or_default() {
                    let _ = cri.stop_pod_sandbox(&sb.id).await;
                    let _ = cri.remove_pod_sandbox(&sb.id).await;
                }
            }
            stop_containerd(data).await;
        });
    }
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
    let pid = std::fs::read_to_string(data.join("containerd/containerd.pid"));
    let Some(pid) = pid.ok().and_then(|p| p.trim().parse::<u32>().ok()) else {
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

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("address").port()
}

/// Lines a background kubectl prints, read on a thread.
fn lines_of(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let out = child.stdout.take().expect("stdout piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn line_number(line: &str) -> u64 {
    let n = line.rsplit('-').next().unwrap_or("");
    n.parse()
        .unwrap_or_else(|_| panic!("not a numbered line: {line:?}"))
}

async fn logs_show_tail_timestamps_limit_and_follow(node: &KubeletNode) {
    let k = &node.kubectl;
    node.apply(
        "printer",
        "Always",
        "i=0; while true; do i=$((i+1)); echo line-$i; sleep 0.3; done",
    )
    .await;
    node.wait_for("printer", "{.status.phase}", |p| p == "Running")
        .await;
    eventually("three lines logged", SLOW, || {
        let out = k.run(&["logs", "printer"]);
        let ok = out.stdout.lines().count() >= 3;
        async move { ok.then_some(()) }
    })
    .await;
    let tail = k.run(&["logs", "printer", "--tail=2"]).ok();
    let lines: Vec<&str> = tail.lines().collect();
    assert_eq!(lines.len(), 2, "{tail:?}");
    assert_eq!(line_number(lines[0]) + 1, line_number(lines[1]), "{tail:?}");
    let all = k.run(&["logs", "printer", "--since=1h"]).ok();
    assert!(all.starts_with("line-1\nline-2\n"), "{all:?}");
    let stamped = k.run(&["logs", "printer", "--tail=1", "--timestamps"]).ok();
    let (time, text) = stamped.trim_end().split_once(' ').expect("a timestamp");
    assert!(time.parse::<jiff::Timestamp>().is_ok(), "{stamped:?}");
    assert!(text.starts_with("line-"), "{stamped:?}");
    assert_eq!(
        k.run(&["logs", "printer", "--limit-bytes=6"]).ok(),
        "line-1"
    );
    let err = k.run(&["logs", "printer", "--previous"]).err();
    assert!(
        err.contains("previous terminated container \"c\" in pod \"printer\" not found"),
        "{err}"
    );

    let mut follow = k
        .spawn(&["logs", "-f", "--tail=1", "printer"])
        .expect("logs -f starts");
    let rx = lines_of(&mut follow);
    let first = line_number(&rx.recv_timeout(SLOW).expect("a first line"));
    let next = line_number(&rx.recv_timeout(SLOW).expect("a streamed line"));
    let _ = follow.kill();
    let _ = follow.wait();
    assert_eq!(
        next,
        first + 1,
        "logs -f streams the next line as it is written"
    );
}

async fn logs_previous_shows_the_terminated_instance(node: &KubeletNode) {
    node.apply("restarter", "Always", "echo started; sleep 1; exit 1")
        .await;
    node.wait_for(
        "restarter",
        "{.status.containerStatuses[0].restartCount}",
        |n| n.parse::<u32>().is_ok_and(|n| n >= 1),
    )
    .await;
    let previous = node.kubectl.run(&["logs", "restarter", "--previous"]).ok();
    assert_eq!(previous, "started\n");
}

fn attach_streams_the_main_process_output(k: &Kubectl) {
    let mut attach = k.spawn(&["attach", "printer"]).expect("attach starts");
    let rx = lines_of(&mut attach);
    let line = rx.recv_timeout(SLOW).expect("an attached line");
    let _ = attach.kill();
    let _ = attach.wait();
    line_number(&line);
}

fn exec_passes_output_stdin_and_exit_codes(k: &Kubectl) {
    let hi = k
        .run(&["exec", "printer", "--", "sh", "-c", "echo hi"])
        .ok();
    assert_eq!(hi, "hi\n");
    let mut failing = k
        .spawn(&["exec", "printer", "--", "sh", "-c", "exit 3"])
        .expect("exec starts");
    let code = failing.wait().expect("exec ends").code();
    assert_eq!(code, Some(3), "kubectl exec passes the exit code through");
    let echoed = k
        .run_with_stdin(
            &["exec", "-i", "printer", "--", "cat"],
            Some("from stdin\n"),
        )
        .ok();
    assert_eq!(echoed, "from stdin\n");
}

async fn port_forward_reaches_a_busybox_httpd(node: &KubeletNode) {
    let (pod_port, local) = (free_port(), free_port());
    let script = format!(
        "echo served-by-web > /tmp/index.html && exec httpd -f -p 127.0.0.1:{pod_port} -h /tmp"
    );
    node.apply("web", "Always", &script).await;
    node.wait_for("web", "{.status.phase}", |p| p == "Running")
        .await;
    let ports = format!("{local}:{pod_port}");
    let mut pf = node
        .kubectl
        .spawn(&["port-forward", "pod/web", &ports])
        .expect("starts");
    let rx = lines_of(&mut pf);
    let ready = rx
        .recv_timeout(SLOW)
        .expect("port-forward prints its first line");
    assert!(ready.contains("Forwarding from"), "{ready}");
    let body = eventually("a GET through the forwarded port", SLOW, || async {
        let mut s = TcpStream::connect(("127.0.0.1", local)).ok()?;
        s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n").ok()?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).ok()?;
        answer.contains("200 OK").then_some(answer)
    })
    .await;
    let _ = pf.kill();
    let _ = pf.wait();
    assert!(body.ends_with("served-by-web\n"), "{body}");
}

/// `/stats/summary`'s source: containerd's CRI stats of a running pod.
async fn cri_stats_report_the_pods_memory(node: &KubeletNode) {
    let endpoint = format!(
        "unix://{}",
        node.data().join("containerd/containerd.sock").display()
    );
    let cri = RemoteRuntime::connect_lazy(&endpoint).expect("endpoint");
    let stats = cri
        .list_container_stats()
        .await
        .expect("ListContainerStats");
    let printer = stats.iter().find(|s| {
        let labels = s.attributes.as_ref().map(|a| &a.labels);
        labels
            .and_then(|l| l.get("io.kubernetes.pod.name"))
            .map(String::as_str)
            == Some("printer")
    });
    let memory = printer.and_then(|s| s.memory.as_ref()?.working_set_bytes);
    assert!(memory.is_some_and(|m| m.value > 0), "{printer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubectl_logs_exec_and_port_forward_reach_real_containers_through_the_kubelet_api() {
    let node = KubeletNode::start("kubelet-e2e").await;
    logs_show_tail_timestamps_limit_and_follow(&node).await;
    exec_passes_output_stdin_and_exit_codes(&node.kubectl);
    attach_streams_the_main_process_output(&node.kubectl);
    logs_previous_shows_the_terminated_instance(&node).await;
    port_forward_reaches_a_busybox_httpd(&node).await;
    cri_stats_report_the_pods_memory(&node).await;
    node.kubectl
        .run(&["delete", "pod", "--all", "--grace-period=1", "--wait=false"])
        .ok();
}
