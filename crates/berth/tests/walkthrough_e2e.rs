//! The seed walkthroughs, end to end, against a real `berth up` with real
//! containers: hello world through a NodePort, the Python-client flow, and
//! the kubectl day-2 flow (apply, get, describe, edit, scale, rollout and
//! undo, delete), then self-healing (a killed container restarts, a deleted
//! pod is replaced).
//!
//! `berth up` runs inside a test host (a network namespace on a test LAN)
//! so its bridge, routes and nftables rules never touch this machine's own
//! network; kubectl and python run in that namespace too, and the NodePort
//! is fetched from the LAN.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_testkit::testhost::{TestHost, TestLan, missing_prerequisite};
use berth_testkit::{Kubectl, eventually};

const BERTH: &str = env!("CARGO_BIN_EXE_berth");
const SLOW: Duration = Duration::from_secs(90);
const HELLO: &str = "berth.local/hello:1";
const HELLO_2: &str = "berth.local/hello:2";

struct Up {
    host: TestHost,
    _lan: TestLan,
    data: PathBuf,
    k: Kubectl,
}

impl Up {
    /// `berth up` in a fresh test host, node Ready, demo images imported.
    async fn start() -> Option<Self> {
        if let Some(why) = missing_prerequisite() {
            if std::env::var("BERTH_SKIP_CONTAINER_TESTS").as_deref() == Ok("1") {
                eprintln!("skipping (BERTH_SKIP_CONTAINER_TESTS=1): {why}");
                return None;
            }
            panic!("this test needs containers and network namespaces: {why}");
        }
        let lan = TestLan::create_on([192, 168, 78]).expect("LAN");
        let mut host = lan.add_host(1).expect("host");
        let data = host.dir().join("berth");
        let args = ["up", "--node-name", "walk", "--data-dir"];
        let mut argv: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        argv.push(data.as_os_str());
        let log = host.dir().join("up.log");
        host.spawn(Path::new(BERTH), &argv, &log)
            .expect("berth up starts");
        let kubeconfig = data.join("server/admin.kubeconfig");
        eventually("the kubeconfig", SLOW, || async {
            kubeconfig.exists().then_some(())
        })
        .await;
        let k = Kubectl::in_netns(&kubeconfig, &host.netns);
        let up = Self {
            host,
            _lan: lan,
            data,
            k,
        };
        eventually("the node Ready", SLOW, || async {
            let out = up.k.run(&[
                "get",
                "node",
                "walk",
                "-o",
                "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
            ]);
            (out.success && out.stdout == "True").then_some(())
        })
        .await;
        up.import_images();
        Some(up)
    }

    fn berth(&self, args: &[&str]) {
        let out = std::process::Command::new(BERTH)
            .args(args)
            .output()
            .expect("berth runs");
        assert!(
            out.status.success(),
            "berth {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn import_images(&self) {
        let agent = self.data.join("agent").display().to_string();
        for (cmd, file, name) in [
            ("build-busybox", "busybox.tar", None),
            ("build-demo", "hello.tar", None),
            ("build-demo", "hello2.tar", Some(HELLO_2)),
        ] {
            let path = self.host.dir().join(file).display().to_string();
            let mut args = vec!["image", cmd, &path];
            if let Some(n) = name {
                args.extend(["--name", n]);
            }
            self.berth(&args);
            self.berth(&["image", "import", &path, "--data-dir", &agent]);
        }
    }

    fn jsonpath(&self, what: &str, path: &str) -> String {
        self.k
            .run(&["get", what, "-o", &format!("jsonpath={path}")])
            .stdout
    }

    async fn available(&self, deploy: &str, n: usize) {
        let want = n.to_string();
        eventually(&format!("{deploy}: {n} available"), SLOW, || async {
            let got = self.jsonpath(&format!("deploy/{deploy}"), "{.status.availableReplicas}");
            let updated = self.jsonpath(&format!("deploy/{deploy}"), "{.status.updatedReplicas}");
            let total = self.jsonpath(&format!("deploy/{deploy}"), "{.status.replicas}");
            (got == want && updated == want && total == want).then_some(())
        })
        .await;
    }

    fn pods(&self, selector: &str) -> Vec<String> {
        let out = self.k.run(&[
            "get",
            "pods",
            "-l",
            selector,
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ]);
        out.stdout.split_whitespace().map(String::from).collect()
    }

    /// `GET /` on the host's address and `port`, from the LAN.
    fn fetch_from_lan(&self, lan: &TestLan, port: u16) -> String {
        let line = format!(
            "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 {} {port}",
            self.host.address
        );
        let out = lan
            .command("busybox")
            .args(["sh", "-c", &line])
            .output()
            .expect("nc runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_world_through_a_node_port() {
    let Some(up) = Up::start().await else { return };
    let k = &up.k;
    k.run(&[
        "create",
        "deployment",
        "hello",
        &format!("--image={HELLO}"),
        "--replicas=2",
    ])
    .ok();
    k.run(&[
        "create",
        "service",
        "nodeport",
        "hello",
        "--tcp=80:80",
        "--node-port=30000",
    ])
    .ok();
    up.available("hello", 2).await;
    let pods = up.pods("app=hello");
    let seen = std::sync::Mutex::new(std::collections::BTreeSet::new());
    eventually("both pods answer through the NodePort", SLOW, || async {
        let page = up.fetch_from_lan(&up._lan, 30000);
        let mut seen = seen.lock().expect("lock");
        if let Some(who) = page
            .lines()
            .find_map(|l| l.strip_prefix("Hello from Berth! I am "))
        {
            seen.insert(who.trim().to_string());
        }
        (seen.len() == 2).then_some(())
    })
    .await;
    let seen = seen.into_inner().expect("lock");
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), {
        let mut p = pods.clone();
        p.sort();
        p
    });
    // Inside the cluster: the Service's DNS name resolves to its ClusterIP
    // (cluster DNS behind kube-dns), and the short name answers over HTTP.
    let cluster_ip = up.jsonpath("svc/hello", "{.spec.clusterIP}");
    let pod = &pods[0];
    let lookup = eventually("the Service name resolves in a pod", SLOW, || async {
        let out = k.run(&[
            "exec",
            pod,
            "--",
            "nslookup",
            "hello.default.svc.cluster.local",
        ]);
        out.stdout.contains(&cluster_ip).then_some(out.stdout)
    })
    .await;
    assert!(
        lookup.contains("10.43.0.10"),
        "answered by the cluster DNS: {lookup}"
    );
    let get = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 hello 80";
    let page = k.run(&["exec", pod, "--", "sh", "-c", get]).ok();
    assert!(page.contains("Hello from Berth! I am hello-"), "{page}");

    k.run(&["delete", "deployment", "hello"]).ok();
    k.run(&["delete", "service", "hello"]).ok();
    eventually("everything gone", SLOW, || async {
        let left = k.run(&["get", "all", "-o", "name"]).stdout;
        (!left.contains("hello")).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_client_flow_runs_a_job_to_completion() {
    let Some(up) = Up::start().await else { return };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python_walkthrough.py");
    let kubeconfig = up.data.join("server/admin.kubeconfig");
    let out = up
        .host
        .command("python3")
        .arg(&script)
        .arg(&kubeconfig)
        .arg(berth_agent::image::BUSYBOX_IMAGE)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python walkthrough failed (scripts/test-tools.sh installs the client):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const WEB: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: web, image: berth.local/hello:1, imagePullPolicy: IfNotPresent}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kubectl_day_two_flow_and_self_healing() {
    let Some(up) = Up::start().await else { return };
    let k = &up.k;
    let out = k.run_with_stdin(&["apply", "-f", "-"], Some(WEB)).ok();
    assert!(out.contains("deployment.apps/web created"), "{out}");
    up.available("web", 1).await;
    assert!(k.run(&["get", "deploy"]).ok().contains("web"));
    assert!(k.run(&["get", "pod"]).ok().contains("Running"));
    let describe = k.run(&["describe", "deploy", "web"]).ok();
    assert!(
        describe.contains("Replicas:") && describe.contains("ScalingReplicaSet"),
        "{describe}"
    );

    let editor = up.host.dir().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/replicas: 1/replicas: 2/' \"$1\"\n",
    )
    .expect("editor");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&editor)
        .status()
        .expect("chmod");
    k.run_with_env(
        &["edit", "deployment", "web"],
        &[("KUBE_EDITOR", editor.as_os_str())],
    )
    .ok();
    up.available("web", 2).await;
    k.run(&["scale", "deployment", "web", "--replicas=5"]).ok();
    up.available("web", 5).await;

    k.run(&["set", "image", "deployment/web", &format!("web={HELLO_2}")])
        .ok();
    k.run(&["rollout", "status", "deployment/web", "--timeout=90s"])
        .ok();
    assert_eq!(
        up.jsonpath("deploy/web", "{.spec.template.spec.containers[0].image}"),
        HELLO_2
    );
    k.run(&["rollout", "undo", "deployment/web"]).ok();
    k.run(&["rollout", "status", "deployment/web", "--timeout=90s"])
        .ok();
    assert_eq!(
        up.jsonpath("deploy/web", "{.spec.template.spec.containers[0].image}"),
        HELLO
    );
    up.available("web", 5).await;

    // Self-healing: a container killed from outside restarts in place.
    let pod = up.pods("app=web").into_iter().next().expect("a pod");
    let id = up.jsonpath(
        &format!("pod/{pod}"),
        "{.status.containerStatuses[0].containerID}",
    );
    let id = id.trim_start_matches("containerd://").to_string();
    for pid in container_pids(&id) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status();
    }
    eventually("the killed container restarted", SLOW, || async {
        let restarts = up.jsonpath(
            &format!("pod/{pod}"),
            "{.status.containerStatuses[0].restartCount}",
        );
        let ready = up.jsonpath(
            &format!("pod/{pod}"),
            "{.status.containerStatuses[0].ready}",
        );
        (restarts == "1" && ready == "true").then_some(())
    })
    .await;
    // A deleted pod is replaced.
    k.run(&["delete", "pod", &pod, "--wait=false"]).ok();
    eventually("a replacement pod", SLOW, || async {
        let now = up.pods("app=web");
        (now.len() == 5 && !now.contains(&pod)).then_some(())
    })
    .await;
    up.available("web", 5).await;

    k.run(&["delete", "deployment", "web"]).ok();
    eventually("the pods gone", SLOW, || async {
        up.pods("app=web").is_empty().then_some(())
    })
    .await;
}

/// The processes of a container, as this (root) PID namespace numbers
/// them, from its cgroup.
fn container_pids(id: &str) -> Vec<String> {
    ["pids", "memory", "cpu,cpuacct", "systemd", "unified"]
        .iter()
        .map(|c| format!("/sys/fs/cgroup/{c}/k8s.io/{id}/cgroup.procs"))
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}
