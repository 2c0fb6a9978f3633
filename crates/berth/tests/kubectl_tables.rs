//! Golden outputs: `kubectl get` and `kubectl get -o wide` print upstream's
//! columns for each built-in kind. Expected headers are written by hand from
//! upstream's printers; AGE-like cells are masked.

use std::path::Path;

use berth_testkit::{Kubectl, TestServer};

fn start() -> (TestServer, Kubectl) {
    let server = TestServer::start(Path::new(env!("CARGO_BIN_EXE_berth"))).expect("server starts");
    let kubectl = Kubectl::new(&server.kubeconfig());
    (server, kubectl)
}

/// Rows split on runs of two or more spaces (kubectl's column gap), with
/// the cells of `masked` columns replaced by `*`.
fn table(out: &str, masked: &[&str]) -> Vec<Vec<String>> {
    let split = |l: &str| -> Vec<String> {
        l.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    };
    let mut lines = out.lines();
    let header = split(lines.next().unwrap_or(""));
    let mask: Vec<bool> = header
        .iter()
        .map(|h| masked.contains(&h.as_str()))
        .collect();
    let mut rows = vec![header];
    for l in lines {
        let cells = split(l);
        rows.push(
            cells
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    if mask.get(i) == Some(&true) {
                        "*".into()
                    } else {
                        c
                    }
                })
                .collect(),
        );
    }
    rows
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

#[test]
fn workloads_print_upstream_columns() {
    let (_s, k) = start();
    k.run(&[
        "create",
        "deployment",
        "web",
        "--image=busybox:1.36",
        "--replicas=2",
    ])
    .ok();
    k.run(&["create", "job", "j", "--image=busybox:1.36"]).ok();
    k.run(&[
        "create",
        "cronjob",
        "cj",
        "--image=busybox:1.36",
        "--schedule=*/5 * * * *",
    ])
    .ok();
    assert_eq!(
        table(&k.run(&["get", "deployments"]).ok(), &["AGE"]),
        [
            row(&["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]),
            row(&["web", "0/2", "0", "0", "*"])
        ]
    );
    assert_eq!(
        table(&k.run(&["get", "deployments", "-o", "wide"]).ok(), &["AGE"]),
        [
            row(&[
                "NAME",
                "READY",
                "UP-TO-DATE",
                "AVAILABLE",
                "AGE",
                "CONTAINERS",
                "IMAGES",
                "SELECTOR"
            ]),
            row(&[
                "web",
                "0/2",
                "0",
                "0",
                "*",
                "busybox",
                "busybox:1.36",
                "app=web"
            ]),
        ]
    );
    assert_eq!(
        table(&k.run(&["get", "jobs"]).ok(), &["AGE", "DURATION"])[0],
        row(&["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"])
    );
    assert_eq!(
        table(&k.run(&["get", "jobs"]).ok(), &["AGE"])[1][..3],
        row(&["j", "Running", "0/1"])[..]
    );
    assert_eq!(
        table(&k.run(&["get", "cronjobs"]).ok(), &["AGE"]),
        [
            row(&[
                "NAME",
                "SCHEDULE",
                "TIMEZONE",
                "SUSPEND",
                "ACTIVE",
                "LAST SCHEDULE",
                "AGE"
            ]),
            row(&["cj", "*/5 * * * *", "<none>", "False", "0", "<none>", "*"]),
        ]
    );
}

#[test]
fn pods_services_and_config_print_upstream_columns() {
    let (_s, k) = start();
    k.run(&["run", "p", "--image=busybox:1.36"]).ok();
    k.run(&["create", "service", "clusterip", "web", "--tcp=80:8080"])
        .ok();
    k.run(&[
        "create",
        "secret",
        "generic",
        "s",
        "--from-literal=a=b",
        "--from-literal=c=d",
    ])
    .ok();
    k.run(&["create", "configmap", "c", "--from-literal=a=b"])
        .ok();
    assert_eq!(
        table(&k.run(&["get", "pods"]).ok(), &["AGE"]),
        [
            row(&["NAME", "READY", "STATUS", "RESTARTS", "AGE"]),
            row(&["p", "0/1", "Pending", "0", "*"])
        ]
    );
    assert_eq!(
        table(&k.run(&["get", "pods", "-o", "wide"]).ok(), &["AGE"]),
        [
            row(&[
                "NAME",
                "READY",
                "STATUS",
                "RESTARTS",
                "AGE",
                "IP",
                "NODE",
                "NOMINATED NODE",
                "READINESS GATES"
            ]),
            row(&[
                "p", "0/1", "Pending", "0", "*", "<none>", "<none>", "<none>", "<none>"
            ]),
        ]
    );
    let svc = table(
        &k.run(&["get", "services", "web", "-o", "wide"]).ok(),
        &["AGE", "CLUSTER-IP"],
    );
    assert_eq!(
        svc,
        [
            row(&[
                "NAME",
                "TYPE",
                "CLUSTER-IP",
                "EXTERNAL-IP",
                "PORT(S)",
                "AGE",
                "SELECTOR"
            ]),
            row(&["web", "ClusterIP", "*", "<none>", "80/TCP", "*", "app=web"]),
        ]
    );
    assert_eq!(
        table(&k.run(&["get", "secret", "s"]).ok(), &["AGE"]),
        [
            row(&["NAME", "TYPE", "DATA", "AGE"]),
            row(&["s", "Opaque", "2", "*"])
        ]
    );
    assert_eq!(
        table(&k.run(&["get", "configmap", "c"]).ok(), &["AGE"]),
        [row(&["NAME", "DATA", "AGE"]), row(&["c", "1", "*"])]
    );
    assert_eq!(
        table(&k.run(&["get", "namespace", "default"]).ok(), &["AGE"]),
        [
            row(&["NAME", "STATUS", "AGE"]),
            row(&["default", "Active", "*"])
        ]
    );
}

#[test]
fn custom_resources_print_their_printer_columns() {
    let (_s, k) = start();
    let crd = r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"gizmos.example.com"},
      "spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"gizmos","singular":"gizmo","kind":"Gizmo"},
      "versions":[{"name":"v1","served":true,"storage":true,
        "additionalPrinterColumns":[{"name":"Size","type":"integer","jsonPath":".spec.size"},{"name":"Color","type":"string","jsonPath":".spec.color","priority":1}],
        "schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{"size":{"type":"integer"},"color":{"type":"string"}}}}}}}]}}"#;
    k.run_with_stdin(&["create", "-f", "-"], Some(crd)).ok();
    k.run(&[
        "wait",
        "--for",
        "condition=established",
        "--timeout=20s",
        "crd/gizmos.example.com",
    ])
    .ok();
    let g = r#"{"apiVersion":"example.com/v1","kind":"Gizmo","metadata":{"name":"g1"},"spec":{"size":3,"color":"red"}}"#;
    k.run_with_stdin(&["create", "-f", "-"], Some(g)).ok();
    // Declared printer columns replace the default AGE column, as upstream.
    assert_eq!(
        table(&k.run(&["get", "gizmos"]).ok(), &[]),
        [row(&["NAME", "SIZE"]), row(&["g1", "3"])]
    );
    assert_eq!(
        table(&k.run(&["get", "gizmos", "-o", "wide"]).ok(), &[]),
        [row(&["NAME", "SIZE", "COLOR"]), row(&["g1", "3", "red"])]
    );
}
