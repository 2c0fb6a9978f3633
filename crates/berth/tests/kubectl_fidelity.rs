//! kubectl behaviours beyond CRUD: explain, repeated client-side apply,
//! server-side apply with field managers, diff, wait.

use std::path::Path;

use berth_testkit::{Kubectl, TestServer};
use serde_json::Value;

fn start() -> (TestServer, Kubectl) {
    let server = TestServer::start(Path::new(env!("CARGO_BIN_EXE_berth"))).expect("server starts");
    let kubectl = Kubectl::new(&server.kubeconfig());
    (server, kubectl)
}

fn deployment(image: &str, env: &[(&str, &str)], ports: &[u16]) -> String {
    let env: Vec<String> = env
        .iter()
        .map(|(k, v)| format!("        - name: {k}\n          value: \"{v}\"\n"))
        .collect();
    let ports: Vec<String> = ports
        .iter()
        .map(|p| format!("        - containerPort: {p}\n"))
        .collect();
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: {image}\n        env:\n{}        ports:\n{}",
        env.concat(),
        ports.concat()
    )
}

#[test]
fn explain_prints_the_field_documentation() {
    let (_s, k) = start();
    let out = k
        .run(&["explain", "pod.spec.containers.livenessProbe"])
        .ok();
    assert!(out.contains("FIELD: livenessProbe <Probe>"), "{out}");
    for field in [
        "exec\t<ExecAction>",
        "failureThreshold\t<integer>",
        "httpGet\t<HTTPGetAction>",
        "periodSeconds\t<integer>",
        "tcpSocket\t<TCPSocketAction>",
    ] {
        assert!(out.contains(field), "missing {field:?}:\n{out}");
    }
    let strategy = k.run(&["explain", "deployment.spec.strategy"]).ok();
    assert!(
        strategy.contains("rollingUpdate\t<RollingUpdateDeployment>"),
        "{strategy}"
    );
}

#[test]
fn a_second_client_side_apply_changes_image_removes_env_and_adds_a_port() {
    let (_s, k) = start();
    k.run_with_stdin(
        &["apply", "-f", "-"],
        Some(&deployment(
            "busybox:1.35",
            &[("A", "1"), ("B", "2")],
            &[80],
        )),
    )
    .ok();
    let out = k
        .run_with_stdin(
            &["apply", "-f", "-"],
            Some(&deployment("busybox:1.36", &[("A", "1")], &[80, 443])),
        )
        .ok();
    assert!(out.contains("deployment.apps/web configured"), "{out}");
    let d: Value =
        serde_json::from_str(&k.run(&["get", "deploy", "web", "-o", "json"]).ok()).expect("json");
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "busybox:1.36");
    assert_eq!(c["env"].as_array().map(|e| e.len()), Some(1));
    assert_eq!(c["env"][0]["name"], "A");
    let ports: Vec<i64> = c["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["containerPort"].as_i64())
        .collect();
    assert_eq!(ports, [80, 443]);
    assert_eq!(d["metadata"]["generation"], 2);
}

#[test]
fn server_side_apply_conflicts_between_field_managers_name_the_owner() {
    let (_s, k) = start();
    let first = k
        .run_with_stdin(
            &["apply", "--server-side", "--field-manager=alice", "-f", "-"],
            Some(&deployment("busybox:1.35", &[], &[80])),
        )
        .ok();
    assert!(first.contains("serverside-applied"), "{first}");
    let err = k
        .run_with_stdin(
            &["apply", "--server-side", "--field-manager=bob", "-f", "-"],
            Some(&deployment("busybox:1.36", &[], &[80])),
        )
        .err();
    assert!(err.contains("conflict with \"alice\""), "{err}");
    assert!(err.contains(".image"), "{err}");
    k.run_with_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager=bob",
            "--force-conflicts",
            "-f",
            "-",
        ],
        Some(&deployment("busybox:1.36", &[], &[80])),
    )
    .ok();
    let image = k
        .run(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ])
        .ok();
    assert_eq!(image, "busybox:1.36");
    let managers = k
        .run(&[
            "get",
            "deploy",
            "web",
            "--show-managed-fields",
            "-o",
            "jsonpath={.metadata.managedFields[*].manager}",
        ])
        .ok();
    assert!(managers.contains("bob"), "{managers}");
}

#[test]
fn diff_and_wait_work_against_the_server() {
    let (_s, k) = start();
    k.run_with_stdin(
        &["apply", "-f", "-"],
        Some(&deployment("busybox:1.35", &[], &[80])),
    )
    .ok();
    // kubectl diff exits 1 when there are differences.
    let diff = k.run_with_stdin(
        &["diff", "-f", "-"],
        Some(&deployment("busybox:1.36", &[], &[80])),
    );
    assert!(
        diff.stdout.contains("-      - image: busybox:1.35")
            && diff.stdout.contains("+      - image: busybox:1.36"),
        "{}{}",
        diff.stdout,
        diff.stderr
    );
    let image = k
        .run(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ])
        .ok();
    assert_eq!(image, "busybox:1.35", "diff is a dry run");
    k.run(&["create", "configmap", "gone", "--from-literal=a=b"])
        .ok();
    let waiter = k
        .spawn(&["wait", "--for=delete", "configmap/gone", "--timeout=20s"])
        .expect("wait starts");
    k.run(&["delete", "configmap", "gone"]).ok();
    let out = waiter.wait_with_output().expect("wait ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn auth_can_i_and_whoami_answer_for_the_admin() {
    let (_s, k) = start();
    assert_eq!(
        k.run(&["auth", "can-i", "create", "deployments"])
            .ok()
            .trim(),
        "yes"
    );
    let list = k.run(&["auth", "can-i", "--list"]).ok();
    assert!(list.lines().any(|l| l.starts_with("*.*")), "{list}");
    let me = k
        .run(&[
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ])
        .ok();
    assert_eq!(me, "admin");
}

#[test]
fn edit_expose_set_and_create_variants_work() {
    let (server, k) = start();
    k.run(&[
        "create",
        "deployment",
        "web",
        "--image=busybox:1.35",
        "--replicas=1",
        "--port=8080",
    ])
    .ok();
    // kubectl edit with an editor script that changes replicas.
    let editor = server.data_dir.join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/replicas: 1/replicas: 2/' \"$1\"\n",
    )
    .expect("editor");
    let mut perms = std::fs::metadata(&editor).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&editor, perms).expect("chmod");
    let out = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            server.kubeconfig().to_str().expect("utf8"),
            "edit",
            "deployment",
            "web",
        ])
        .env("KUBE_EDITOR", &editor)
        .output()
        .expect("kubectl edit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let jp = |what: &str, path: &str| {
        k.run(&["get", what, "-o", &format!("jsonpath={path}")])
            .ok()
    };
    assert_eq!(jp("deploy/web", "{.spec.replicas}"), "2");

    k.run(&[
        "expose",
        "deployment",
        "web",
        "--port=80",
        "--target-port=8080",
    ])
    .ok();
    assert_eq!(jp("svc/web", "{.spec.selector.app}"), "web");
    assert_eq!(jp("svc/web", "{.spec.ports[0].targetPort}"), "8080");

    k.run(&["set", "image", "deployment/web", "busybox=busybox:1.36"])
        .ok();
    k.run(&["set", "env", "deployment/web", "MODE=prod"]).ok();
    k.run(&[
        "set",
        "resources",
        "deployment/web",
        "--limits=cpu=200m,memory=64Mi",
    ])
    .ok();
    let c = "{.spec.template.spec.containers[0]";
    assert_eq!(jp("deploy/web", &format!("{c}.image}}")), "busybox:1.36");
    assert_eq!(jp("deploy/web", &format!("{c}.env[0].value}}")), "prod");
    assert_eq!(
        jp("deploy/web", &format!("{c}.resources.limits.memory}}")),
        "64Mi"
    );

    k.run(&[
        "create",
        "job",
        "once",
        "--image=busybox:1.36",
        "--",
        "true",
    ])
    .ok();
    k.run(&[
        "create",
        "cronjob",
        "tick",
        "--image=busybox:1.36",
        "--schedule=*/5 * * * *",
    ])
    .ok();
    k.run(&["create", "job", "from-cron", "--from=cronjob/tick"])
        .ok();
    k.run(&[
        "create",
        "secret",
        "docker-registry",
        "reg",
        "--docker-server=r.example",
        "--docker-username=u",
        "--docker-password=p",
    ])
    .ok();
    k.run(&["create", "quota", "q", "--hard=pods=10"]).ok();
    k.run(&[
        "create",
        "role",
        "reader",
        "--verb=get,list",
        "--resource=pods",
    ])
    .ok();
    k.run(&[
        "create",
        "rolebinding",
        "reader",
        "--role=reader",
        "--user=alice",
    ])
    .ok();
    assert_eq!(
        jp("secret/reg", "{.type}"),
        "kubernetes.io/dockerconfigjson"
    );
    assert_eq!(
        jp(
            "job/from-cron",
            "{.metadata.annotations.cronjob\\.kubernetes\\.io/instantiate}"
        ),
        "manual"
    );
    let all = k.run(&["get", "all", "-o", "name"]).ok();
    for name in [
        "deployment.apps/web",
        "service/web",
        "job.batch/once",
        "cronjob.batch/tick",
    ] {
        assert!(
            all.lines().any(|l| l == name),
            "get all lacks {name}:\n{all}"
        );
    }
}
