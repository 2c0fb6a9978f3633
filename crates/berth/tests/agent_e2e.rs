//! End to end: the real `berth server`, the real `berth agent` with its own
//! containerd and runc, and a busybox image built offline from the host's
//! busybox-static. Pods use the node's network namespace (no CNI yet), so
//! each test picks its own ports.

mod agent_node;

use std::time::Duration;

use agent_node::TestNode;
use berth_testkit::eventually;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::api::{Api, DeleteParams, PostParams};

const SLOW: Duration = Duration::from_secs(90);

fn condition(p: &Pod, t: &str) -> Option<String> {
    let s = p.status.as_ref()?;
    s.conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == t)
        .map(|c| c.status.clone())
}

fn first_status(p: &Pod) -> Option<ContainerStatus> {
    p.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .first()
        .cloned()
}

async fn pod_where(api: &Api<Pod>, name: &str, what: &str, check: impl Fn(&Pod) -> bool) -> Pod {
    let deadline = std::time::Instant::now() + SLOW;
    let mut last = None;
    while std::time::Instant::now() < deadline {
        if let Ok(p) = api.get(name).await {
            if check(&p) {
                return p;
            }
            last = p.status;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = serde_json::to_string_pretty(&last).unwrap_or_default();
    panic!("timed out after {SLOW:?} waiting for {what}; last status: {status}");
}

#[tokio::test]
async fn a_busybox_httpd_pod_runs_and_becomes_ready_through_its_http_readiness_probe() {
    let Some(node) = TestNode::start("web").await else {
        return;
    };
    let api = node.pods();
    let p = node.pod(
        "web",
        "Always",
        serde_json::json!([{
            "name": "httpd", "image": agent_node::IMAGE,
            "command": ["sh", "-c", "echo ok > /tmp/index.html && exec httpd -f -p 18081 -h /tmp"],
            "readinessProbe": {"httpGet": {"path": "/", "port": 18081}, "periodSeconds": 1}
        }]),
    );
    api.create(&PostParams::default(), &p)
        .await
        .expect("pod created");
    let p = pod_where(&api, "web", "web Ready", |p| {
        condition(p, "Ready").as_deref() == Some("True")
    })
    .await;
    let s = p.status.clone().expect("status");
    assert_eq!(s.phase.as_deref(), Some("Running"));
    for t in [
        "PodScheduled",
        "PodReadyToStartContainers",
        "Initialized",
        "ContainersReady",
    ] {
        assert_eq!(condition(&p, t).as_deref(), Some("True"), "{t}");
    }
    let cs = first_status(&p).expect("container status");
    assert!(
        cs.container_id
            .as_deref()
            .is_some_and(|id| id.starts_with("containerd://")),
        "{cs:?}"
    );
    assert!(cs.image_id.starts_with("sha256:"), "{cs:?}");
    assert!(cs.state.and_then(|s| s.running).is_some());
    assert!(s.start_time.is_some() && s.host_ip.is_some() && s.pod_ip.is_some());
    assert_eq!(s.qos_class.as_deref(), Some("BestEffort"));
}

#[tokio::test]
async fn a_container_exiting_1_restarts_with_backoff_and_shows_crash_loop_back_off() {
    let Some(node) = TestNode::start("crash").await else {
        return;
    };
    let api = node.pods();
    let p = node.pod(
        "crash",
        "Always",
        serde_json::json!([{
            "name": "c", "image": agent_node::IMAGE, "command": ["sh", "-c", "exit 1"]
        }]),
    );
    api.create(&PostParams::default(), &p)
        .await
        .expect("pod created");
    let p = pod_where(&api, "crash", "CrashLoopBackOff", |p| {
        let cs = first_status(p);
        let reason = cs.as_ref().and_then(|c| c.state.clone()?.waiting?.reason);
        reason.as_deref() == Some("CrashLoopBackOff") && cs.is_some_and(|c| c.restart_count >= 1)
    })
    .await;
    let cs = first_status(&p).expect("status");
    let last = cs
        .last_state
        .and_then(|l| l.terminated)
        .expect("lastState.terminated");
    assert_eq!((last.exit_code, last.reason.as_deref()), (1, Some("Error")));
    assert_eq!(p.status.and_then(|s| s.phase).as_deref(), Some("Running"));
}

#[tokio::test]
async fn restart_policies_never_and_on_failure_end_in_failed_and_succeeded() {
    let Some(node) = TestNode::start("policies").await else {
        return;
    };
    let api = node.pods();
    let never = node.pod(
        "never",
        "Never",
        serde_json::json!([{
            "name": "c", "image": agent_node::IMAGE, "command": ["sh", "-c", "exit 3"]
        }]),
    );
    let on_failure = node.pod(
        "onfailure",
        "OnFailure",
        serde_json::json!([{
            "name": "c", "image": agent_node::IMAGE, "command": ["sh", "-c", "echo done"]
        }]),
    );
    api.create(&PostParams::default(), &never)
        .await
        .expect("never created");
    api.create(&PostParams::default(), &on_failure)
        .await
        .expect("onfailure created");
    let phase = |p: &Pod| p.status.as_ref().and_then(|s| s.phase.clone());
    let failed = pod_where(&api, "never", "never Failed", |p| {
        phase(p).as_deref() == Some("Failed")
    })
    .await;
    let cs = first_status(&failed).expect("status");
    assert_eq!(cs.restart_count, 0);
    let t = cs.state.and_then(|s| s.terminated).expect("terminated");
    assert_eq!((t.exit_code, t.reason.as_deref()), (3, Some("Error")));
    let ok = pod_where(&api, "onfailure", "onfailure Succeeded", |p| {
        phase(p).as_deref() == Some("Succeeded")
    })
    .await;
    let t = first_status(&ok)
        .and_then(|c| c.state?.terminated)
        .expect("terminated");
    assert_eq!((t.exit_code, t.reason.as_deref()), (0, Some("Completed")));
}

#[tokio::test]
async fn init_containers_run_in_order_before_the_app_container() {
    let Some(node) = TestNode::start("init").await else {
        return;
    };
    let api = node.pods();
    let mut p = node.pod(
        "init",
        "Always",
        serde_json::json!([{
            "name": "app", "image": agent_node::IMAGE, "command": ["sleep", "3600"]
        }]),
    );
    let inits = serde_json::json!([
        {"name": "first", "image": agent_node::IMAGE, "command": ["sleep", "1"]},
        {"name": "second", "image": agent_node::IMAGE, "command": ["sh", "-c", "exit 0"]}
    ]);
    if let Some(spec) = p.spec.as_mut() {
        spec.init_containers = Some(serde_json::from_value(inits).expect("init containers"));
    }
    api.create(&PostParams::default(), &p)
        .await
        .expect("pod created");
    let p = pod_where(&api, "init", "init Running", |p| {
        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
            && condition(p, "Ready").as_deref() == Some("True")
    })
    .await;
    let inits = p
        .status
        .and_then(|s| s.init_container_statuses)
        .expect("init statuses");
    let done: Vec<_> = inits
        .iter()
        .map(|c| {
            c.state
                .clone()
                .and_then(|s| s.terminated)
                .expect("terminated")
        })
        .collect();
    assert!(
        done.iter()
            .all(|t| t.exit_code == 0 && t.reason.as_deref() == Some("Completed"))
    );
    assert!(
        done[0].finished_at.as_ref().map(|t| t.0) <= done[1].started_at.as_ref().map(|t| t.0),
        "first finished before second started"
    );
}

#[tokio::test]
async fn a_deleted_pod_is_stopped_and_removed_from_the_api() {
    let Some(node) = TestNode::start("delete").await else {
        return;
    };
    let api = node.pods();
    let p = node.pod(
        "gone",
        "Always",
        serde_json::json!([{
            "name": "c", "image": agent_node::IMAGE, "command": ["sleep", "3600"]
        }]),
    );
    api.create(&PostParams::default(), &p)
        .await
        .expect("pod created");
    pod_where(&api, "gone", "gone Running", |p| {
        condition(p, "Ready").as_deref() == Some("True")
    })
    .await;
    api.delete("gone", &DeleteParams::default().grace_period(2))
        .await
        .expect("delete");
    eventually("pod gone from the API", SLOW, || async {
        api.get_opt("gone").await.ok()?.is_none().then_some(())
    })
    .await;
    eventually("no containers left", SLOW, || async {
        (node.container_count().await == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_killed_agent_restarts_and_keeps_the_running_container() {
    let Some(mut node) = TestNode::start("adopt").await else {
        return;
    };
    let api = node.pods();
    let p = node.pod(
        "keep",
        "Always",
        serde_json::json!([{
            "name": "c", "image": agent_node::IMAGE, "command": ["sleep", "3600"]
        }]),
    );
    api.create(&PostParams::default(), &p)
        .await
        .expect("pod created");
    let before = pod_where(&api, "keep", "keep Ready", |p| {
        condition(p, "Ready").as_deref() == Some("True")
    })
    .await;
    let id = first_status(&before)
        .and_then(|c| c.container_id)
        .expect("container id");
    node.kill_and_restart_agent().await;
    let after = pod_where(&api, "keep", "keep still Ready", |p| {
        condition(p, "Ready").as_deref() == Some("True")
    })
    .await;
    let cs = first_status(&after).expect("status");
    assert_eq!(
        cs.container_id.as_deref(),
        Some(id.as_str()),
        "same container after the agent restart"
    );
    assert_eq!(cs.restart_count, 0);
}
