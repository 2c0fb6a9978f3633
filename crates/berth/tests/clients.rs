//! Other clients than kubectl: the Python `kubernetes` client and helm 3
//! (installed by scripts/test-tools.sh, which the test command runs).

use std::path::{Path, PathBuf};
use std::process::Command;

use berth_testkit::{Kubectl, TestServer};

fn start() -> (TestServer, Kubectl) {
    let server = TestServer::start(Path::new(env!("CARGO_BIN_EXE_berth"))).expect("server starts");
    let kubectl = Kubectl::new(&server.kubeconfig());
    (server, kubectl)
}

fn helm_binary() -> PathBuf {
    std::env::var_os("HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/berth-tools/helm/helm"))
}

#[test]
fn the_python_client_creates_and_reads_deployments_and_jobs() {
    let (server, _k) = start();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python_client.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(server.kubeconfig())
        .arg("py")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python client flow failed (run scripts/test-tools.sh first):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_chart(dir: &Path) {
    let t = dir.join("templates");
    std::fs::create_dir_all(&t).expect("chart dir");
    let files = [
        ("Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n"),
        (
            "values.yaml",
            "replicas: 1\nimage: busybox:1.35\ngreeting: hello\n",
        ),
        (
            "templates/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels: {app: {{ .Release.Name }}}\n  template:\n    metadata:\n      labels: {app: {{ .Release.Name }}}\n    spec:\n      containers:\n      - name: web\n        image: {{ .Values.image }}\n        ports:\n        - containerPort: 80\n",
        ),
        (
            "templates/service.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  selector: {app: {{ .Release.Name }}}\n  ports:\n  - port: 80\n",
        ),
        (
            "templates/configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  greeting: {{ .Values.greeting }}\n",
        ),
        (
            "templates/secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-secret\nstringData:\n  token: s3cr3t\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("chart file");
    }
}

#[test]
fn helm_installs_upgrades_rolls_back_and_uninstalls_a_chart() {
    let (server, k) = start();
    let chart = tempfile::tempdir().expect("tempdir");
    write_chart(chart.path());
    let helm = |args: &[&str]| {
        let out = Command::new(helm_binary())
            .args(args)
            .arg("--kubeconfig")
            .arg(server.kubeconfig())
            .env("HELM_CACHE_HOME", chart.path().join(".cache"))
            .env("HELM_CONFIG_HOME", chart.path().join(".config"))
            .env("HELM_DATA_HOME", chart.path().join(".data"))
            .output()
            .expect("helm runs (scripts/test-tools.sh installs it)");
        assert!(
            out.status.success(),
            "helm {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dir = chart.path().to_str().expect("utf8 path");
    helm(&["install", "rel", dir, "--wait=false"]);
    let jp = |what: &str, path: &str| {
        k.run(&["get", what, "-o", &format!("jsonpath={path}")])
            .ok()
    };
    assert_eq!(jp("deploy/rel", "{.spec.replicas}"), "1");
    assert_eq!(jp("configmap/rel-config", "{.data.greeting}"), "hello");
    assert_eq!(
        jp("secret/sh.helm.release.v1.rel.v1", "{.type}"),
        "helm.sh/release.v1",
        "helm keeps releases in Secrets"
    );

    helm(&[
        "upgrade",
        "rel",
        dir,
        "--set",
        "replicas=3",
        "--set",
        "image=busybox:1.36",
        "--set",
        "greeting=hi",
    ]);
    assert_eq!(jp("deploy/rel", "{.spec.replicas}"), "3");
    assert_eq!(
        jp("deploy/rel", "{.spec.template.spec.containers[0].image}"),
        "busybox:1.36"
    );
    assert_eq!(jp("configmap/rel-config", "{.data.greeting}"), "hi");

    helm(&["rollback", "rel", "1"]);
    assert_eq!(jp("deploy/rel", "{.spec.replicas}"), "1");
    assert_eq!(jp("configmap/rel-config", "{.data.greeting}"), "hello");
    let history = helm(&["history", "rel"]);
    assert_eq!(
        history.lines().count(),
        4,
        "header + 3 revisions:\n{history}"
    );

    helm(&["uninstall", "rel"]);
    let left = k
        .run(&[
            "get",
            "deploy,svc,cm,secret",
            "-l",
            "app.kubernetes.io/managed-by!=nothing",
            "-o",
            "name",
        ])
        .ok();
    assert!(!left.contains("rel"), "left after uninstall:\n{left}");
}
