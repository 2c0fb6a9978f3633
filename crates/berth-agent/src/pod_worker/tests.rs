//! The pod worker against the fake runtime, in paused time.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use tokio::sync::Notify;

use super::*;
use crate::clock::FakeClock;
use crate::cri::{FakeCall, FakeRuntime};
use crate::pod_api::FakePodApi;

pub(super) struct Harness {
    pub(super) rt: FakeRuntime,
    api: FakePodApi,
    pub(super) worker: PodWorker,
}

pub(super) fn pod(restart: &str, init: &[&str], app: &[&str]) -> Pod {
    let c = |n: &&str| serde_json::json!({"name": n, "image": "busybox:1.36"});
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "p", "namespace": "ns", "uid": "uid-1"},
        "spec": {"restartPolicy": restart, "nodeName": "n1", "terminationGracePeriodSeconds": 7,
            "initContainers": init.iter().map(c).collect::<Vec<_>>(),
            "containers": app.iter().map(c).collect::<Vec<_>>()},
        "status": {"qosClass": "BestEffort"}
    }))
    .expect("valid pod")
}

fn harness(pod: Pod) -> Harness {
    harness_on(pod, crate::network::PodNetwork::host(Default::default()))
}

pub(super) fn harness_on(pod: Pod, network: crate::network::PodNetwork) -> Harness {
    let rt = FakeRuntime::new();
    rt.add_image("busybox:1.36");
    let api = FakePodApi::default();
    let ctx = Arc::new(WorkerContext {
        node_name: "n1".into(),
        runtime: Arc::new(rt.clone()),
        api: Arc::new(api.clone()),
        status: StatusManager::new(),
        clock: Arc::new(FakeClock::new()),
        runtime_name: "containerd".into(),
        host_ip: "192.0.2.1".into(),
        pod_log_dir: std::env::temp_dir().join("berth-agent-unit-logs"),
        node: NodeAllocatable {
            cpu_cores: 2.0,
            memory_bytes: 1e9,
        },
        network: Arc::new(network),
    });
    let worker = PodWorker::new(ctx, pod, Arc::new(Notify::new()));
    Harness { rt, api, worker }
}

impl Harness {
    /// Steps until idle or a deadline in the future; returns that deadline.
    pub(super) async fn settle(&mut self) -> Next {
        for _ in 0..20 {
            match self.worker.step().await {
                Next::At(at) if at <= tokio::time::Instant::now() => continue,
                next => return next,
            }
        }
        panic!("worker did not settle");
    }

    /// Advances paused time by `d` and settles.
    async fn after(&mut self, d: Duration) -> Next {
        tokio::time::advance(d).await;
        self.settle().await
    }

    fn status(&self) -> PodStatus {
        self.worker.status()
    }

    fn waiting_reason(&self, i: usize) -> Option<String> {
        let cs = self.status().container_statuses.unwrap_or_default();
        cs.get(i)?.state.as_ref()?.waiting.as_ref()?.reason.clone()
    }

    fn starts(&self, name: &str) -> usize {
        self.rt
            .calls()
            .iter()
            .filter(|c| **c == FakeCall::StartContainer(name.into()))
            .count()
    }
}

fn condition(s: &PodStatus, t: &str) -> String {
    s.conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == t)
        .map(|c| c.status.clone())
        .unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn a_pod_runs_its_sandbox_then_its_containers_and_becomes_ready() {
    let mut h = harness(pod("Always", &[], &["a", "b"]));
    assert_eq!(h.settle().await, Next::Idle);
    assert!(h.rt.running("a") && h.rt.running("b"));
    let s = h.status();
    assert_eq!(s.phase.as_deref(), Some("Running"));
    for t in [
        "PodScheduled",
        "PodReadyToStartContainers",
        "Initialized",
        "ContainersReady",
        "Ready",
    ] {
        assert_eq!(condition(&s, t), "True", "{t}");
    }
    let cs = &s.container_statuses.unwrap_or_default()[0];
    assert!(
        cs.container_id
            .as_deref()
            .is_some_and(|id| id.starts_with("containerd://"))
    );
    assert_eq!(
        (cs.ready, cs.started, cs.restart_count),
        (true, Some(true), 0)
    );
    assert_eq!(s.host_ip.as_deref(), Some("192.0.2.1"));
    assert_eq!(s.qos_class.as_deref(), Some("BestEffort"));
}

#[tokio::test(start_paused = true)]
async fn init_containers_run_one_at_a_time_in_order_before_app_containers() {
    let mut h = harness(pod("Always", &["i1", "i2"], &["a"]));
    h.settle().await;
    assert!(h.rt.running("i1") && !h.rt.running("i2") && !h.rt.running("a"));
    assert_eq!(condition(&h.status(), "Initialized"), "False");
    h.rt.exit_container("i1", 0);
    h.settle().await;
    assert!(h.rt.running("i2") && !h.rt.running("a"));
    h.rt.exit_container("i2", 0);
    h.settle().await;
    assert!(h.rt.running("a"));
    let order: Vec<FakeCall> =
        h.rt.calls()
            .into_iter()
            .filter(|c| matches!(c, FakeCall::StartContainer(_)))
            .collect();
    let names = ["i1", "i2", "a"].map(|n| FakeCall::StartContainer(n.into()));
    assert_eq!(order, names.to_vec());
    assert_eq!(condition(&h.status(), "Initialized"), "True");
}

#[tokio::test(start_paused = true)]
async fn a_crashing_container_restarts_with_doubling_backoff_and_shows_crash_loop_back_off() {
    let mut h = harness(pod("Always", &[], &["a"]));
    h.rt.exit_on_start("a", 1);
    h.settle().await;
    // First exit: restarted at once (upstream's first restart has no delay).
    h.settle().await;
    assert_eq!(h.starts("a"), 2);
    // The second exit is seen by the next step (the PLEG wakes it).
    h.settle().await;
    assert_eq!(h.waiting_reason(0).as_deref(), Some("CrashLoopBackOff"));
    let mut gaps = vec![];
    for _ in 0..6 {
        let before = h.starts("a");
        h.settle().await;
        let mut waited = 0;
        while h.starts("a") == before {
            h.after(Duration::from_secs(1)).await;
            waited += 1;
        }
        gaps.push(waited);
    }
    assert_eq!(gaps, vec![10, 20, 40, 80, 160, 300]);
    let s = h.status();
    let cs = &s.container_statuses.unwrap_or_default()[0];
    assert_eq!(cs.restart_count, 7);
    let last = cs
        .last_state
        .as_ref()
        .and_then(|l| l.terminated.as_ref())
        .expect("lastState.terminated");
    assert_eq!((last.exit_code, last.reason.as_deref()), (1, Some("Error")));
    assert_eq!(s.phase.as_deref(), Some("Running"));
}

#[tokio::test(start_paused = true)]
async fn on_failure_restarts_failures_and_completes_on_success() {
    let mut h = harness(pod("OnFailure", &[], &["a"]));
    h.rt.exit_on_start("a", 3);
    h.settle().await;
    h.settle().await;
    assert_eq!(h.starts("a"), 2, "a failure is restarted");
    h.settle().await;
    h.rt.exit_on_start("a", 0);
    h.after(Duration::from_secs(10)).await;
    h.settle().await;
    assert_eq!(h.status().phase.as_deref(), Some("Succeeded"));
    assert_eq!(h.worker.state(), WorkerState::Terminated { delete: false });
    assert!(
        h.rt.calls()
            .iter()
            .any(|c| matches!(c, FakeCall::StopPodSandbox(_)))
    );
}

#[tokio::test(start_paused = true)]
async fn never_does_not_restart_and_fails_on_a_non_zero_exit() {
    let mut h = harness(pod("Never", &[], &["a"]));
    h.rt.exit_on_start("a", 2);
    h.settle().await;
    h.after(Duration::from_secs(60)).await;
    assert_eq!(h.starts("a"), 1);
    let s = h.status();
    assert_eq!(s.phase.as_deref(), Some("Failed"));
    let cs = &s.container_statuses.unwrap_or_default()[0];
    let t = cs
        .state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .expect("terminated");
    assert_eq!((t.exit_code, t.reason.as_deref()), (2, Some("Error")));
}

#[tokio::test(start_paused = true)]
async fn a_failed_init_container_fails_a_never_pod_without_starting_app_containers() {
    let mut h = harness(pod("Never", &["i1"], &["a"]));
    h.rt.exit_on_start("i1", 1);
    h.settle().await;
    h.settle().await;
    assert_eq!(h.status().phase.as_deref(), Some("Failed"));
    assert_eq!(h.starts("a"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_missing_image_is_err_image_pull_then_image_pull_back_off() {
    let mut p = pod("Always", &[], &["a"]);
    if let Some(spec) = p.spec.as_mut() {
        spec.containers[0].image = Some("nope:1".into());
    }
    let mut h = harness(p);
    h.rt.fail_pulls_of("nope:1");
    h.settle().await;
    assert_eq!(h.waiting_reason(0).as_deref(), Some("ErrImagePull"));
    h.after(Duration::from_secs(1)).await;
    h.worker.step().await;
    assert_eq!(h.waiting_reason(0).as_deref(), Some("ImagePullBackOff"));
    assert_eq!(h.status().phase.as_deref(), Some("Pending"));
}

#[tokio::test(start_paused = true)]
async fn a_missing_config_map_is_create_container_config_error_until_it_appears() {
    let mut p = pod("Always", &[], &["a"]);
    if let Some(spec) = p.spec.as_mut() {
        spec.containers[0].env = Some(vec![
            serde_json::from_value(serde_json::json!(
                {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}
            ))
            .expect("env"),
        ]);
    }
    let mut h = harness(p);
    h.settle().await;
    assert_eq!(
        h.waiting_reason(0).as_deref(),
        Some("CreateContainerConfigError")
    );
    let cm =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "cm"}, "data": {"k": "v"}}))
            .expect("cm");
    h.api.add_config_map("ns", cm);
    h.after(Duration::from_secs(10)).await;
    assert!(h.rt.running("a"));
}

#[tokio::test(start_paused = true)]
async fn deletion_stops_containers_with_the_grace_period_and_deletes_the_pod() {
    let mut p = pod("Always", &[], &["a"]);
    let mut h = harness(p.clone());
    h.settle().await;
    p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        jiff::Timestamp::now(),
    ));
    p.metadata.deletion_grace_period_seconds = Some(5);
    h.worker.apply(PodEvent::Updated(Box::new(p)));
    assert_eq!(h.settle().await, Next::Finished);
    assert!(
        h.rt.calls()
            .contains(&FakeCall::StopContainer("a".into(), 5))
    );
    assert_eq!(h.rt.sandbox_count(), 0);
    assert_eq!(h.api.deleted(), vec!["ns/p".to_string()]);
}

#[tokio::test(start_paused = true)]
async fn a_pod_removed_from_the_api_is_torn_down_without_api_calls() {
    let mut h = harness(pod("Always", &[], &["a"]));
    h.settle().await;
    h.worker.apply(PodEvent::Removed);
    assert_eq!(h.settle().await, Next::Finished);
    assert!(!h.rt.running("a"));
    assert!(h.api.deleted().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_new_worker_adopts_the_running_containers_of_its_pod() {
    let mut h = harness(pod("Always", &[], &["a"]));
    h.settle().await;
    let ids = h.rt.container_ids("a");
    let mut again = harness(pod("Always", &[], &["a"]));
    again.rt = h.rt.clone();
    let ctx = Arc::new(WorkerContext {
        runtime: Arc::new(h.rt.clone()),
        ..clone_ctx(&h.worker.ctx)
    });
    let mut w = PodWorker::new(ctx, pod("Always", &[], &["a"]), Arc::new(Notify::new()));
    w.step().await;
    assert_eq!(h.rt.container_ids("a"), ids, "no new container");
    assert_eq!(h.rt.sandbox_count(), 1);
    assert_eq!(w.status().phase.as_deref(), Some("Running"));
}

fn clone_ctx(c: &WorkerContext) -> WorkerContext {
    WorkerContext {
        node_name: c.node_name.clone(),
        runtime: c.runtime.clone(),
        api: c.api.clone(),
        status: StatusManager::new(),
        clock: c.clock.clone(),
        runtime_name: c.runtime_name.clone(),
        host_ip: c.host_ip.clone(),
        pod_log_dir: c.pod_log_dir.clone(),
        node: c.node,
        network: c.network.clone(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_liveness_probe_restarts_the_container() {
    let mut p = pod("Always", &[], &["a"]);
    if let Some(spec) = p.spec.as_mut() {
        spec.containers[0].liveness_probe = Some(
            serde_json::from_value(serde_json::json!(
                {"exec": {"command": ["true"]}, "periodSeconds": 1, "failureThreshold": 2}
            ))
            .expect("probe"),
        );
    }
    let mut h = harness(p);
    h.settle().await;
    h.rt.set_exec_exit("a", 1);
    for _ in 0..5 {
        tokio::time::advance(Duration::from_secs(1)).await;
        tokio::task::yield_now().await;
        h.settle().await;
    }
    assert!(
        h.rt.calls()
            .contains(&FakeCall::StopContainer("a".into(), 7))
    );
    assert!(h.starts("a") >= 2, "restarted after the liveness failure");
}

#[tokio::test(start_paused = true)]
async fn readiness_drives_the_ready_condition() {
    let mut p = pod("Always", &[], &["a"]);
    if let Some(spec) = p.spec.as_mut() {
        spec.containers[0].readiness_probe = Some(
            serde_json::from_value(serde_json::json!(
                {"exec": {"command": ["true"]}, "periodSeconds": 1}
            ))
            .expect("probe"),
        );
    }
    let mut h = harness(p);
    h.rt.set_exec_exit("a", 1);
    h.settle().await;
    assert_eq!(condition(&h.status(), "Ready"), "False");
    h.rt.set_exec_exit("a", 0);
    for _ in 0..3 {
        tokio::time::advance(Duration::from_secs(1)).await;
        tokio::task::yield_now().await;
    }
    assert_eq!(condition(&h.status(), "Ready"), "True");
    assert_eq!(condition(&h.status(), "ContainersReady"), "True");
}
