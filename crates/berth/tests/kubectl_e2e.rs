//! The real kubectl against the real `berth server`: every command the
//! foundation promises, as a user types it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Duration;

use berth_testkit::{Kubectl, TestServer};
use serde_json::Value;

const SEED: &str = include_str!("fixtures/seed.yaml");

fn start() -> (TestServer, Kubectl) {
    let server = TestServer::start(Path::new(env!("CARGO_BIN_EXE_berth"))).expect("server starts");
    let kubectl = Kubectl::new(&server.kubeconfig());
    (server, kubectl)
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

#[test]
fn version_reports_a_v1_32_server() {
    let (_server, k) = start();
    let v = json(&k.run(&["version", "-o", "json"]).ok());
    assert_eq!(v["serverVersion"]["major"], "1");
    assert_eq!(v["serverVersion"]["minor"], "32");
}

#[test]
fn api_resources_lists_built_in_kinds_with_short_names() {
    let (_server, k) = start();
    let out = k.run(&["api-resources"]).ok();
    for (name, short) in [
        ("deployments", "deploy"),
        ("pods", "po"),
        ("services", "svc"),
        ("configmaps", "cm"),
        ("namespaces", "ns"),
    ] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{out}"));
        assert!(
            line.split_whitespace()
                .any(|w| w.split(',').any(|s| s == short)),
            "{name} lacks {short}: {line}"
        );
    }
    let namespaced = k
        .run(&["api-resources", "--namespaced=false", "-o", "name"])
        .ok();
    assert!(namespaced.lines().any(|l| l == "namespaces"));
    assert!(!namespaced.lines().any(|l| l == "pods"));
}

/// Applies the seed file as users do with upstream kubectl: the first apply
/// creates everything but the custom object (kubectl maps every document
/// before the CRD exists), the CRD becomes established, a second apply
/// creates the custom object.
fn apply_seed(k: &Kubectl) -> String {
    let first = k.run_with_stdin(&["apply", "-f", "-"], Some(SEED));
    assert!(!first.success);
    assert!(
        first
            .stderr
            .contains("no matches for kind \"Widget\" in version \"example.com/v1\""),
        "{}",
        first.stderr
    );
    k.run(&[
        "wait",
        "--for",
        "condition=established",
        "--timeout=20s",
        "crd/widgets.example.com",
    ])
    .ok();
    let second = k.run_with_stdin(&["apply", "-f", "-"], Some(SEED)).ok();
    format!("{}{second}", first.stdout)
}

#[test]
fn apply_of_a_multi_document_file_creates_every_object() {
    let (_server, k) = start();
    let out = apply_seed(&k);
    for line in [
        "namespace/demo created",
        "configmap/cfg created",
        "secret/sec created",
        "deployment.apps/web created",
        "service/web created",
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created",
        "widget.example.com/w1 created",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    let widget = json(
        &k.run(&["get", "widget", "w1", "-n", "demo", "-o", "json"])
            .ok(),
    );
    assert_eq!(widget["spec"]["size"], 3);
    let secret = k
        .run(&[
            "get",
            "secret",
            "sec",
            "-n",
            "demo",
            "-o",
            "jsonpath={.data.password}",
        ])
        .ok();
    assert_eq!(
        secret, "aHVudGVyMg==",
        "stringData is stored base64-encoded in data"
    );
    let svc = json(
        &k.run(&["get", "svc", "web", "-n", "demo", "-o", "json"])
            .ok(),
    );
    let ip = svc["spec"]["clusterIP"]
        .as_str()
        .expect("clusterIP allocated");
    assert!(
        ip.starts_with("10.43."),
        "clusterIP {ip} from the service range"
    );
    // A second apply of the same file changes nothing.
    let again = k.run_with_stdin(&["apply", "-f", "-"], Some(SEED)).ok();
    assert!(again.contains("deployment.apps/web unchanged"), "{again}");
}

#[test]
fn get_prints_every_output_format() {
    let (_server, k) = start();
    k.run(&["create", "configmap", "fmt", "--from-literal=a=1"])
        .ok();
    let table = k.run(&["get", "configmap", "fmt"]).ok();
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "DATA", "AGE"]);
    assert!(table.lines().nth(1).is_some_and(|l| l.starts_with("fmt ")));
    assert_eq!(
        json(&k.run(&["get", "cm", "fmt", "-o", "json"]).ok())["data"]["a"],
        "1"
    );
    assert!(
        k.run(&["get", "cm", "fmt", "-o", "yaml"])
            .ok()
            .contains("  a: \"1\"")
    );
    assert_eq!(
        k.run(&["get", "cm", "fmt", "-o", "name"]).ok().trim(),
        "configmap/fmt"
    );
    assert_eq!(
        k.run(&["get", "cm", "fmt", "-o", "jsonpath={.metadata.name}"])
            .ok(),
        "fmt"
    );
    let cols = k
        .run(&[
            "get",
            "cm",
            "fmt",
            "-o",
            "custom-columns=N:.metadata.name,A:.data.a",
        ])
        .ok();
    assert_eq!(
        cols.lines()
            .nth(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["fmt", "1"])
    );
    assert!(
        k.run(&["get", "cm", "fmt", "-o", "wide"])
            .ok()
            .contains("fmt")
    );
    let list = json(&k.run(&["get", "cm", "-o", "json"]).ok());
    assert_eq!(list["kind"], "List");
    assert!(
        k.run(&["get", "cm", "missing"])
            .err()
            .contains("configmaps \"missing\" not found")
    );
}

#[test]
fn get_watch_sees_changes_made_by_another_kubectl() {
    let (_server, k) = start();
    k.run(&["create", "configmap", "w0", "--from-literal=a=1"])
        .ok();
    let mut watcher = k
        .spawn(&["get", "configmaps", "-w", "--output-watch-events"])
        .expect("kubectl -w starts");
    let stdout = watcher.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let header = rx.recv_timeout(Duration::from_secs(10)).expect("header");
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["EVENT", "NAME", "DATA", "AGE"]
    );
    let first = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("initial listing");
    assert_eq!(
        first.split_whitespace().take(2).collect::<Vec<_>>(),
        ["ADDED", "w0"]
    );
    k.run(&["create", "configmap", "w1", "--from-literal=a=1"])
        .ok();
    k.run(&["label", "configmap", "w0", "seen=yes"]).ok();
    k.run(&["delete", "configmap", "w1"]).ok();
    let mut lines = Vec::new();
    while lines.len() < 3 {
        lines.push(
            rx.recv_timeout(Duration::from_secs(10))
                .expect("watch event"),
        );
    }
    let _ = watcher.kill();
    let _ = watcher.wait();
    let words: Vec<Vec<&str>> = lines
        .iter()
        .map(|l| l.split_whitespace().take(2).collect())
        .collect();
    assert_eq!(
        words,
        [
            vec!["ADDED", "w1"],
            vec!["MODIFIED", "w0"],
            vec!["DELETED", "w1"]
        ]
    );
}

#[test]
fn label_and_field_selectors_filter_gets() {
    let (_server, k) = start();
    k.run(&["create", "namespace", "sel"]).ok();
    for (name, tier) in [("a", "front"), ("b", "back"), ("c", "front")] {
        k.run(&[
            "create",
            "configmap",
            name,
            "-n",
            "sel",
            "--from-literal=x=y",
        ])
        .ok();
        k.run(&[
            "label",
            "configmap",
            name,
            "-n",
            "sel",
            &format!("tier={tier}"),
        ])
        .ok();
    }
    let names = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["get", "configmaps", "-n", "sel", "-o", "name"];
        full.extend_from_slice(args);
        k.run(&full).ok().lines().map(String::from).collect()
    };
    assert_eq!(names(&["-l", "tier=front"]), ["configmap/a", "configmap/c"]);
    assert_eq!(names(&["-l", "tier!=front"]), ["configmap/b"]);
    assert_eq!(names(&["-l", "tier in (back,other)"]), ["configmap/b"]);
    assert_eq!(
        names(&["--field-selector", "metadata.name=c"]),
        ["configmap/c"]
    );
    assert_eq!(
        names(&["--field-selector", "metadata.name!=c", "-l", "tier=front"]),
        ["configmap/a"]
    );
    let all_ns = k
        .run(&[
            "get",
            "configmaps",
            "-A",
            "--field-selector",
            "metadata.namespace=sel",
            "-o",
            "name",
        ])
        .ok();
    assert_eq!(all_ns.lines().count(), 3);
    assert!(
        k.run(&["get", "configmaps", "--field-selector", "spec.nope=1"])
            .err()
            .contains("field label not supported")
    );
}

#[test]
fn imperative_creates_send_protobuf_and_are_stored_as_json() {
    let (_server, k) = start();
    k.run(&["create", "namespace", "imp"]).ok();
    k.run(&[
        "create",
        "secret",
        "generic",
        "s1",
        "-n",
        "imp",
        "--from-literal=token=abc",
    ])
    .ok();
    k.run(&[
        "create",
        "deployment",
        "d1",
        "-n",
        "imp",
        "--image=busybox:1.36",
        "--replicas=3",
        "--port=8080",
    ])
    .ok();
    k.run(&[
        "create",
        "service",
        "nodeport",
        "np",
        "-n",
        "imp",
        "--tcp=80:8080",
    ])
    .ok();
    let secret = json(
        &k.run(&["get", "secret", "s1", "-n", "imp", "-o", "json"])
            .ok(),
    );
    assert_eq!(
        (secret["type"].as_str(), secret["data"]["token"].as_str()),
        (Some("Opaque"), Some("YWJj"))
    );
    let d = json(
        &k.run(&["get", "deploy", "d1", "-n", "imp", "-o", "json"])
            .ok(),
    );
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        8080
    );
    assert_eq!(
        d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%",
        "defaulted as upstream"
    );
    let svc = json(&k.run(&["get", "svc", "np", "-n", "imp", "-o", "json"]).ok());
    let node_port = svc["spec"]["ports"][0]["nodePort"]
        .as_i64()
        .expect("nodePort allocated");
    assert!((30000..=32767).contains(&node_port), "{node_port}");
}

#[test]
fn create_label_annotate_replace_delete_behave_as_upstream() {
    let (_server, k) = start();
    assert_eq!(
        k.run(&[
            "create",
            "configmap",
            "app",
            "--from-literal=mode=dev",
            "--from-literal=level=1"
        ])
        .ok()
        .trim(),
        "configmap/app created"
    );
    assert!(
        k.run(&["create", "configmap", "app", "--from-literal=a=b"])
            .err()
            .contains("configmaps \"app\" already exists")
    );
    assert_eq!(
        k.run(&["label", "configmap", "app", "team=core"])
            .ok()
            .trim(),
        "configmap/app labeled"
    );
    assert!(
        k.run(&["label", "configmap", "app", "team=other"])
            .err()
            .contains("already has a value")
    );
    k.run(&["label", "configmap", "app", "team=other", "--overwrite"])
        .ok();
    assert_eq!(
        k.run(&["annotate", "configmap", "app", "note=hello"])
            .ok()
            .trim(),
        "configmap/app annotated"
    );
    let obj = json(&k.run(&["get", "cm", "app", "-o", "json"]).ok());
    assert_eq!(obj["metadata"]["labels"]["team"], "other");
    assert_eq!(obj["metadata"]["annotations"]["note"], "hello");
    k.run(&["label", "configmap", "app", "team-"]).ok();
    assert!(
        json(&k.run(&["get", "cm", "app", "-o", "json"]).ok())["metadata"]
            .get("labels")
            .is_none_or(|l| l.get("team").is_none())
    );

    let mut edited = json(&k.run(&["get", "cm", "app", "-o", "json"]).ok());
    edited["data"]["mode"] = "prod".into();
    let replaced = k
        .run_with_stdin(&["replace", "-f", "-"], Some(&edited.to_string()))
        .ok();
    assert_eq!(replaced.trim(), "configmap/app replaced");
    assert_eq!(
        k.run(&["get", "cm", "app", "-o", "jsonpath={.data.mode}"])
            .ok(),
        "prod"
    );
    // Replacing with the stale copy is a conflict.
    assert!(
        k.run_with_stdin(&["replace", "-f", "-"], Some(&edited.to_string()))
            .err()
            .contains("the object has been modified")
    );

    assert_eq!(
        k.run(&["delete", "configmap", "app"]).ok().trim(),
        "configmap \"app\" deleted"
    );
    assert!(k.run(&["get", "cm", "app"]).err().contains("not found"));
    assert!(
        k.run(&["delete", "configmap", "app"])
            .err()
            .contains("not found")
    );
}

#[test]
fn deleting_a_deployment_and_service_removes_them() {
    let (_server, k) = start();
    apply_seed(&k);
    let out = k
        .run(&["delete", "deployment/web", "service/web", "-n", "demo"])
        .ok();
    assert!(
        out.contains("deployment.apps \"web\" deleted") && out.contains("service \"web\" deleted"),
        "{out}"
    );
    let left = k
        .run(&["get", "deploy,svc", "-n", "demo", "-o", "name"])
        .ok();
    assert!(left.trim().is_empty(), "left: {left}");
}
