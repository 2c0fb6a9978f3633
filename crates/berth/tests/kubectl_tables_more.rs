//! Golden outputs for the kinds `kubectl_tables` does not cover: storage,
//! networking, autoscaling, disruption budgets, revisions, EndpointSlices
//! and RBAC bindings. Headers are written by hand from upstream's printers;
//! AGE cells are masked.

use std::path::Path;

use berth_testkit::{Kubectl, TestServer};

fn start() -> (TestServer, Kubectl) {
    let server = TestServer::start(Path::new(env!("CARGO_BIN_EXE_berth"))).expect("server starts");
    let kubectl = Kubectl::new(&server.kubeconfig());
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/more_kinds.yaml"
    );
    kubectl.run(&["apply", "-f", fixture]).ok();
    (server, kubectl)
}

/// True for a kubectl age such as `0s`, `5m10s`, `3h`, `2d4h`.
fn is_age(cell: &str) -> bool {
    let units: Vec<&str> = cell
        .split(|c: char| c.is_ascii_digit())
        .filter(|u| !u.is_empty())
        .collect();
    cell.starts_with(|c: char| c.is_ascii_digit())
        && !units.is_empty()
        && units.iter().all(|u| ["s", "m", "h", "d", "y"].contains(u))
}

/// Rows split on kubectl's column gap (two or more spaces; empty cells
/// vanish), with age cells masked as `*`.
fn table(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| if is_age(c) { "*".into() } else { c.to_string() })
                .collect()
        })
        .collect()
}

fn rows(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn storage_kinds_print_upstream_columns() {
    let (_s, k) = start();
    assert_eq!(
        table(&k.run(&["get", "pv"]).ok()),
        rows(&[
            &[
                "NAME",
                "CAPACITY",
                "ACCESS MODES",
                "RECLAIM POLICY",
                "STATUS",
                "CLAIM",
                "STORAGECLASS",
                "VOLUMEATTRIBUTESCLASS",
                "REASON",
                "AGE"
            ],
            &[
                "pv1", "1Gi", "RWO", "Retain", "Pending", "local", "<unset>", "*"
            ],
        ])
    );
    assert_eq!(
        table(&k.run(&["get", "pvc", "-o", "wide"]).ok()),
        rows(&[
            &[
                "NAME",
                "STATUS",
                "VOLUME",
                "CAPACITY",
                "ACCESS MODES",
                "STORAGECLASS",
                "VOLUMEATTRIBUTESCLASS",
                "AGE",
                "VOLUMEMODE"
            ],
            &["data", "Pending", "local", "<unset>", "*", "Filesystem"],
        ])
    );
    assert_eq!(
        table(&k.run(&["get", "storageclass"]).ok()),
        rows(&[
            &[
                "NAME",
                "PROVISIONER",
                "RECLAIMPOLICY",
                "VOLUMEBINDINGMODE",
                "ALLOWVOLUMEEXPANSION",
                "AGE"
            ],
            &[
                "local",
                "berth.dev/local-path",
                "Delete",
                "WaitForFirstConsumer",
                "false",
                "*"
            ],
        ])
    );
}

#[test]
fn networking_and_autoscaling_kinds_print_upstream_columns() {
    let (_s, k) = start();
    assert_eq!(
        table(&k.run(&["get", "ingress"]).ok()),
        rows(&[
            &["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"],
            &["web", "berth", "web.example.com", "80", "*"],
        ])
    );
    assert_eq!(
        table(&k.run(&["get", "networkpolicy"]).ok()),
        rows(&[&["NAME", "POD-SELECTOR", "AGE"], &["deny", "app=web", "*"]])
    );
    assert_eq!(
        table(&k.run(&["get", "endpointslices"]).ok()),
        rows(&[
            &["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"],
            &["web-1", "IPv4", "8080", "10.42.0.5,10.42.0.6", "*"],
        ])
    );
    assert_eq!(
        table(&k.run(&["get", "hpa"]).ok()),
        rows(&[
            &[
                "NAME",
                "REFERENCE",
                "TARGETS",
                "MINPODS",
                "MAXPODS",
                "REPLICAS",
                "AGE"
            ],
            &[
                "web",
                "Deployment/web",
                "cpu: <unknown>/80%",
                "1",
                "5",
                "0",
                "*"
            ],
        ])
    );
}

#[test]
fn budgets_revisions_and_bindings_print_upstream_columns() {
    let (_s, k) = start();
    assert_eq!(
        table(&k.run(&["get", "pdb"]).ok()),
        rows(&[
            &[
                "NAME",
                "MIN AVAILABLE",
                "MAX UNAVAILABLE",
                "ALLOWED DISRUPTIONS",
                "AGE"
            ],
            &["web", "2", "N/A", "0", "*"],
        ])
    );
    assert_eq!(
        table(&k.run(&["get", "controllerrevisions"]).ok()),
        rows(&[
            &["NAME", "CONTROLLER", "REVISION", "AGE"],
            &["web-abc", "<none>", "3", "*"],
        ])
    );
    assert_eq!(
        table(&k.run(&["get", "rolebinding", "-o", "wide"]).ok()),
        rows(&[
            &["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"],
            &[
                "readers",
                "Role/reader",
                "*",
                "alice",
                "devs",
                "default/bot"
            ],
        ])
    );
    assert_eq!(
        table(
            &k.run(&["get", "clusterrolebinding", "admins", "-o", "wide"])
                .ok()
        ),
        rows(&[
            &["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"],
            &["admins", "ClusterRole/cluster-admin", "*", "ops"],
        ])
    );
}
