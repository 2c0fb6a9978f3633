//! `berth up` runs the whole single-node cluster in one process: a
//! Deployment of real containers becomes available, a deleted pod is
//! replaced, and SIGTERM stops the cluster cleanly.
//!
//! It runs in a test host's network namespace (its pod bridge, routes and
//! nftables rules stay there); `berth reset` removes what it left.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use berth_testkit::{Kubectl, TestLan, eventually};

const BERTH: &str = env!("CARGO_BIN_EXE_berth");

/// Kills `berth up` if the test fails before stopping it, then resets its
/// data dir (pods, containerd, mounts).
struct Up(Option<Child>, String, String);

impl Drop for Up {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("nsenter")
            .arg(format!("--net=/var/run/netns/{}", self.2))
            .args([BERTH, "reset", "--data-dir", &self.1])
            .stdout(Stdio::null())
            .status();
    }
}

fn run(args: &[&str]) {
    let out = Command::new(BERTH).args(args).output().expect("berth runs");
    assert!(
        out.status.success(),
        "berth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn available(k: &Kubectl, deploy: &str) -> Option<String> {
    let out = k.run(&[
        "get",
        "deploy",
        deploy,
        "-o",
        "jsonpath={.status.availableReplicas}",
    ]);
    out.success.then_some(out.stdout)
}

fn pod_names(k: &Kubectl) -> Vec<String> {
    let out = k.run(&[
        "get",
        "pods",
        "-l",
        "app=hello",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    out.stdout.split_whitespace().map(String::from).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn berth_up_runs_a_deployment_of_real_containers_and_heals_it() {
    for tool in [
        "/usr/bin/containerd",
        "/usr/bin/ctr",
        "/usr/sbin/runc",
        "/bin/busybox",
    ] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: run scripts/test.sh, which installs it"
        );
    }
    let dir = tempfile::Builder::new()
        .prefix("berth-up-e2e-")
        .tempdir()
        .expect("tempdir");
    let data = dir.path().to_str().expect("utf8").to_string();
    let lan = TestLan::create_on([192, 168, 79]).expect("LAN");
    let host = lan.add_host(1).expect("host");
    // nsenter execs berth itself, so the child is `berth up` (for SIGTERM).
    let child = Command::new("nsenter")
        .arg(format!("--net=/var/run/netns/{}", host.netns))
        .arg(BERTH)
        .args([
            "up",
            "--data-dir",
            &data,
            "--secure-port",
            "0",
            "--node-name",
            "up-node",
        ])
        .env("BERTH_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("berth up starts");
    let mut up = Up(Some(child), data.clone(), host.netns.clone());
    let kubeconfig = dir.path().join("server/admin.kubeconfig");
    eventually("the kubeconfig", Duration::from_secs(30), || async {
        kubeconfig.exists().then_some(())
    })
    .await;
    let k = Kubectl::in_netns(&kubeconfig, &host.netns);
    eventually("the node Ready", Duration::from_secs(60), || async {
        let out = k.run(&[
            "get",
            "node",
            "up-node",
            "-o",
            "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
        ]);
        (out.success && out.stdout == "True").then_some(())
    })
    .await;
    let archive = dir.path().join("busybox.tar");
    run(&["image", "build-busybox", archive.to_str().expect("utf8")]);
    run(&[
        "image",
        "import",
        archive.to_str().expect("utf8"),
        "--data-dir",
        &format!("{data}/agent"),
    ]);

    k.run(&[
        "create",
        "deployment",
        "hello",
        "--image=berth.local/busybox:1",
        "--replicas=2",
        "--",
        "sh",
        "-c",
        "trap 'exit 0' TERM; while true; do sleep 1; done",
    ])
    .ok();
    eventually("2 available replicas", Duration::from_secs(60), || async {
        (available(&k, "hello").as_deref() == Some("2")).then_some(())
    })
    .await;
    let before = pod_names(&k);
    k.run(&["delete", "pod", &before[0], "--wait=false"]).ok();
    eventually(
        "a replacement pod, 2 available again",
        Duration::from_secs(60),
        || async {
            let now = pod_names(&k);
            (now.len() == 2
                && !now.contains(&before[0])
                && available(&k, "hello").as_deref() == Some("2"))
            .then_some(())
        },
    )
    .await;

    // Remove what the test created, then stop the cluster with SIGTERM.
    k.run(&["delete", "deployment", "hello"]).ok();
    eventually("the pods gone", Duration::from_secs(60), || async {
        pod_names(&k).is_empty().then_some(())
    })
    .await;
    let mut child = up.0.take().expect("running");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let status = eventually("berth up to exit", Duration::from_secs(30), || {
        let done = child.try_wait().ok().flatten();
        async move { done }
    })
    .await;
    assert!(status.success(), "berth up exited with {status}");
}
