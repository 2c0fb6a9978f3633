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
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use berth_agent::cri::RemoteRuntime;
use berth_agent::cri::stats::StatsService;
use berth_testkit::{Kubectl, eventually};

mod agent_node;

use agent_node::TestNode;

const SLOW: Duration = Duration::from_secs(90);

/// A test node (server, agent on the host network, busybox imported) and
/// a kubectl for it; the agent serves its kubelet API on a free port.
struct KubeletNode {
    node: TestNode,
    kubectl: Kubectl,
}

impl KubeletNode {
    fn data(&self) -> PathBuf {
        self.node.data_dir()
    }

    async fn start(name: &str) -> Option<Self> {
        let node = TestNode::start(name).await?;
        let kubectl = Kubectl::new(&node.server.kubeconfig());
        Some(Self { node, kubectl })
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
    let Some(node) = KubeletNode::start("kubelet-e2e").await else {
        return;
    };
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
