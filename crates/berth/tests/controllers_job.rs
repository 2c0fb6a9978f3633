//! The Job controller against a real `berth server` and controller manager,
//! with the fake kubelet: completions with failures, Indexed Jobs, the pod
//! failure policy, backoff limit, suspend, deadline, TTL, restarts of the
//! controller manager, and `kubectl wait`.

mod controllers_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use berth_testkit::{FakeKubeletConfig, Kubectl, OutcomeHook, eventually};
use controllers_support::{Cluster, TIMEOUT, from_json, start_manager};
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// A short recreation backoff so failing pods are replaced quickly.
const FLAGS: &[&str] = &["--job-pod-failure-backoff=100ms"];

fn job(name: &str, spec: Value) -> Job {
    let mut spec = spec;
    spec["template"] = json!({
        "metadata": {"labels": {"app": name}},
        "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 30,
                 "containers": [{"name": "main", "image": "busybox:1.36"}]}});
    from_json(json!({"apiVersion": "batch/v1", "kind": "Job",
                     "metadata": {"name": name}, "spec": spec}))
}

fn with_outcome(mut job: Job, outcome: &str) -> Job {
    let meta = job
        .spec
        .as_mut()
        .and_then(|s| s.template.metadata.as_mut())
        .expect("template metadata");
    meta.annotations = Some([(berth_testkit::OUTCOME_ANNOTATION.into(), outcome.into())].into());
    job
}

async fn create(c: &Cluster, job: Job) -> Api<Job> {
    let api: Api<Job> = Api::namespaced(c.client.clone(), "default");
    api.create(&PostParams::default(), &job)
        .await
        .expect("create job");
    api
}

fn condition<'a>(s: &'a JobStatus, type_: &str) -> Option<&'a JobCondition> {
    s.conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_ && c.status == "True")
}

/// Waits for the condition `type_` and returns the status then.
async fn wait_condition(jobs: &Api<Job>, name: &str, type_: &str) -> JobStatus {
    eventually(&format!("job {name} {type_}"), TIMEOUT, || async {
        let s = jobs.get(name).await.ok()?.status?;
        condition(&s, type_).is_some().then_some(s)
    })
    .await
}

fn uncounted_is_empty(s: &JobStatus) -> bool {
    s.uncounted_terminated_pods.as_ref().is_none_or(|u| {
        u.succeeded.as_ref().is_none_or(Vec::is_empty)
            && u.failed.as_ref().is_none_or(Vec::is_empty)
    })
}

async fn events(c: &Cluster, name: &str) -> Vec<(String, String)> {
    let lp = ListParams::default().fields(&format!("involvedObject.name={name}"));
    Api::<Event>::namespaced(c.client.clone(), "default")
        .list(&lp)
        .await
        .expect("events")
        .items
        .into_iter()
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn job_with_failing_pods_completes_with_exact_counts() {
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let mut config = FakeKubeletConfig::nodes(2);
    // The 2nd, 4th and 6th pods to start fail; all others succeed.
    config.outcome = Some(OutcomeHook(Arc::new(move |_pod: &Pod| {
        let n = s.fetch_add(1, Ordering::SeqCst);
        Some(
            if n % 2 == 1 && n < 6 {
                "fail"
            } else {
                "succeed"
            }
            .to_string(),
        )
    })));
    let c = Cluster::start_with(config, FLAGS).await;
    let jobs = create(
        &c,
        job("batch", json!({"parallelism": 3, "completions": 10})),
    )
    .await;
    let s = wait_condition(&jobs, "batch", "Complete").await;
    assert_eq!(
        (s.succeeded, s.failed, s.active),
        (Some(10), Some(3), Some(0))
    );
    assert!(uncounted_is_empty(&s), "{s:?}");
    assert!(s.completion_time.is_some() && s.start_time.is_some());
    let met = condition(&s, "SuccessCriteriaMet").expect("SuccessCriteriaMet");
    assert_eq!(met.reason.as_deref(), Some("CompletionsReached"));
    let pods = c.pods("default", "batch").await;
    assert_eq!(pods.len(), 13, "one pod per success or failure");
    for p in &pods {
        let labels = p.metadata.labels.as_ref().expect("labels");
        assert_eq!(
            labels
                .get("batch.kubernetes.io/job-name")
                .map(String::as_str),
            Some("batch")
        );
        assert_eq!(labels.get("job-name").map(String::as_str), Some("batch"));
        assert!(labels.contains_key("batch.kubernetes.io/controller-uid"));
        assert!(labels.contains_key("controller-uid"));
        assert!(
            p.metadata.finalizers.as_ref().is_none_or(Vec::is_empty),
            "finalizer removed"
        );
    }
    let reasons = eventually("Completed event", TIMEOUT, || async {
        let ev = events(&c, "batch").await;
        ev.iter().any(|(r, _)| r == "Completed").then_some(ev)
    })
    .await;
    assert!(
        reasons
            .iter()
            .any(|(r, m)| r == "SuccessfulCreate" && m.starts_with("Created pod: batch-"))
    );
}

#[tokio::test]
async fn indexed_job_completes_every_index_once() {
    let c = Cluster::start(2, FLAGS).await;
    let spec = json!({"parallelism": 2, "completions": 5, "completionMode": "Indexed"});
    let jobs = create(&c, with_outcome(job("idx", spec), "succeed")).await;
    let s = wait_condition(&jobs, "idx", "Complete").await;
    assert_eq!(s.completed_indexes.as_deref(), Some("0-4"));
    assert_eq!(s.succeeded, Some(5));
    let mut indexes = Vec::new();
    for p in c.pods("default", "idx").await {
        let ix = p.metadata.annotations.as_ref().expect("annotations")
            ["batch.kubernetes.io/job-completion-index"]
            .clone();
        assert_eq!(
            p.metadata.labels.as_ref().expect("labels")["batch.kubernetes.io/job-completion-index"],
            ix
        );
        let name = p.metadata.name.clone().expect("name");
        assert!(
            name.starts_with(&format!("idx-{ix}-")) && name.len() == format!("idx-{ix}-").len() + 5
        );
        let spec = p.spec.expect("spec");
        assert_eq!(spec.hostname, Some(format!("idx-{ix}")));
        let env = spec.containers[0].env.clone().unwrap_or_default();
        assert!(
            env.iter().any(|e| e.name == "JOB_COMPLETION_INDEX"),
            "{env:?}"
        );
        indexes.push(ix.parse::<i32>().expect("index"));
    }
    indexes.sort_unstable();
    assert_eq!(indexes, vec![0, 1, 2, 3, 4], "each index completed once");
}

#[tokio::test]
async fn pod_failure_policy_fail_job_on_exit_code_fails_the_job() {
    let c = Cluster::start(1, FLAGS).await;
    let spec = json!({"completions": 3, "parallelism": 1, "backoffLimit": 6, "podFailurePolicy": {"rules": [
        {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}}]}});
    let jobs = create(&c, with_outcome(job("pfp", spec), "exit-42")).await;
    let s = wait_condition(&jobs, "pfp", "Failed").await;
    let failed = condition(&s, "Failed").expect("Failed");
    assert_eq!(failed.reason.as_deref(), Some("PodFailurePolicy"));
    let message = failed.message.clone().unwrap_or_default();
    assert!(
        message.starts_with("Container main for pod default/pfp-")
            && message.ends_with("failed with exit code 42 matching FailJob rule at index 0"),
        "{message}"
    );
    assert!(condition(&s, "FailureTarget").is_some());
    assert_eq!((s.failed, s.succeeded), (Some(1), Some(0)));
}

/// Sets a pod's status as a kubelet would (the pod runs on a node the fake
/// kubelet does not serve).
async fn finish_pod(c: &Cluster, name: &str, phase: &str, conditions: Value) {
    let status = json!({"status": {"phase": phase, "conditions": conditions,
        "containerStatuses": [{"name": "main", "image": "busybox:1.36", "imageID": "", "ready": false,
            "restartCount": 0, "state": {"terminated": {"exitCode": if phase == "Failed" { 137 } else { 0 }}}}]}});
    Api::<Pod>::namespaced(c.client.clone(), "default")
        .patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await
        .expect("pod status");
}

async fn only_active_pod(c: &Cluster, app: &str, not: Option<&str>) -> String {
    eventually("one active pod", TIMEOUT, || async {
        let pods = c.pods("default", app).await;
        let active: Vec<String> = pods
            .iter()
            .filter(|p| {
                p.status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .is_none_or(|ph| ph == "Pending")
            })
            .filter_map(|p| p.metadata.name.clone())
            .filter(|n| Some(n.as_str()) != not)
            .collect();
        (active.len() == 1).then(|| active[0].clone())
    })
    .await
}

#[tokio::test]
async fn pod_failure_policy_ignores_disrupted_pods() {
    let c = Cluster::start(1, FLAGS).await;
    let mut j = job(
        "ignore",
        json!({"backoffLimit": 0, "podFailurePolicy": {"rules": [
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}}),
    );
    if let Some(spec) = j.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
        spec.node_name = Some("unserved-node".into());
    }
    let jobs = create(&c, j).await;
    let first = only_active_pod(&c, "ignore", None).await;
    let disrupted =
        json!([{"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI"}]);
    finish_pod(&c, &first, "Failed", disrupted).await;
    let second = only_active_pod(&c, "ignore", Some(&first)).await;
    finish_pod(&c, &second, "Succeeded", json!([])).await;
    let s = wait_condition(&jobs, "ignore", "Complete").await;
    assert_eq!(
        (s.succeeded, s.failed),
        (Some(1), Some(0)),
        "the disruption is not counted"
    );
}

#[tokio::test]
async fn job_fails_when_the_backoff_limit_is_exceeded() {
    let c = Cluster::start(1, FLAGS).await;
    let jobs = create(
        &c,
        with_outcome(job("flaky", json!({"backoffLimit": 1})), "fail"),
    )
    .await;
    let s = wait_condition(&jobs, "flaky", "Failed").await;
    let failed = condition(&s, "Failed").expect("Failed");
    assert_eq!(failed.reason.as_deref(), Some("BackoffLimitExceeded"));
    assert_eq!(
        failed.message.as_deref(),
        Some("Job has reached the specified backoff limit")
    );
    assert_eq!((s.failed, s.active), (Some(2), Some(0)));
    assert!(s.completion_time.is_none());
    eventually("BackoffLimitExceeded event", TIMEOUT, || async {
        events(&c, "flaky")
            .await
            .iter()
            .any(|(r, _)| r == "BackoffLimitExceeded")
            .then_some(())
    })
    .await;
}

async fn set_suspend(jobs: &Api<Job>, name: &str, suspend: bool) {
    jobs.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": suspend}})),
    )
    .await
    .expect("suspend");
}

async fn wait_active(c: &Cluster, jobs: &Api<Job>, name: &str, n: usize) {
    eventually(&format!("{n} active pods of {name}"), TIMEOUT, || async {
        let live = c
            .pods("default", name)
            .await
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .count();
        let s = jobs.get(name).await.ok()?.status?;
        (live == n && s.active == Some(n as i32)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn suspended_job_runs_only_while_resumed() {
    let c = Cluster::start(2, FLAGS).await;
    let jobs = create(
        &c,
        job(
            "pause",
            json!({"parallelism": 2, "completions": 4, "suspend": true}),
        ),
    )
    .await;
    let s = wait_condition(&jobs, "pause", "Suspended").await;
    assert_eq!(
        condition(&s, "Suspended").and_then(|c| c.reason.as_deref()),
        Some("JobSuspended")
    );
    assert!(s.start_time.is_none() && c.pods("default", "pause").await.is_empty());
    set_suspend(&jobs, "pause", false).await;
    wait_active(&c, &jobs, "pause", 2).await;
    let s = jobs
        .get("pause")
        .await
        .expect("job")
        .status
        .expect("status");
    let resumed = s
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Suspended")
        .expect("condition");
    assert_eq!(
        (resumed.status.as_str(), resumed.reason.as_deref()),
        ("False", Some("JobResumed"))
    );
    assert!(s.start_time.is_some());
    set_suspend(&jobs, "pause", true).await;
    wait_active(&c, &jobs, "pause", 0).await;
    let s = wait_condition(&jobs, "pause", "Suspended").await;
    assert_eq!(
        s.failed,
        Some(0),
        "pods deleted by suspension are not failures"
    );
}

#[tokio::test]
async fn job_past_its_active_deadline_fails_and_stops_its_pods() {
    let c = Cluster::start(1, FLAGS).await;
    let jobs = create(
        &c,
        job(
            "slow",
            json!({"parallelism": 2, "completions": 2, "activeDeadlineSeconds": 2}),
        ),
    )
    .await;
    let s = wait_condition(&jobs, "slow", "Failed").await;
    let failed = condition(&s, "Failed").expect("Failed");
    assert_eq!(failed.reason.as_deref(), Some("DeadlineExceeded"));
    assert_eq!(
        failed.message.as_deref(),
        Some("Job was active longer than specified deadline")
    );
    assert_eq!(s.active, Some(0));
    eventually("pods gone", TIMEOUT, || async {
        c.pods("default", "slow").await.is_empty().then_some(())
    })
    .await;
}

#[tokio::test]
async fn finished_job_is_deleted_after_its_ttl() {
    let c = Cluster::start(1, FLAGS).await;
    let spec = json!({"ttlSecondsAfterFinished": 1});
    let jobs = create(&c, with_outcome(job("ttl", spec), "succeed")).await;
    wait_condition(&jobs, "ttl", "Complete").await;
    eventually("job deleted", TIMEOUT, || async {
        jobs.get_opt("ttl").await.ok()?.is_none().then_some(())
    })
    .await;
    eventually("pods deleted", TIMEOUT, || async {
        c.pods("default", "ttl").await.is_empty().then_some(())
    })
    .await;
}

#[tokio::test]
async fn controller_restarts_mid_job_keep_counts_exact() {
    let mut c = Cluster::start(3, FLAGS).await;
    let spec = json!({"parallelism": 10, "completions": 60});
    let jobs = create(&c, with_outcome(job("restart", spec), "succeed")).await;
    for at_least in [10, 30] {
        eventually("progress", TIMEOUT, || async {
            let s = jobs.get("restart").await.ok()?.status?;
            let recorded = s.succeeded.unwrap_or(0) as usize
                + s.uncounted_terminated_pods
                    .and_then(|u| u.succeeded)
                    .map_or(0, |v| v.len());
            (recorded >= at_least).then_some(())
        })
        .await;
        c.manager.kill();
        c.manager = start_manager(&c.server, FLAGS);
    }
    let s = wait_condition(&jobs, "restart", "Complete").await;
    assert_eq!((s.succeeded, s.failed), (Some(60), Some(0)));
    assert!(uncounted_is_empty(&s));
    assert_eq!(
        c.pods("default", "restart").await.len(),
        60,
        "no pod created twice"
    );
}

#[tokio::test]
async fn kubectl_waits_for_a_job_to_complete() {
    let c = Cluster::start(1, FLAGS).await;
    let jobs = create(
        &c,
        with_outcome(job("waited", json!({"completions": 2})), "succeed"),
    )
    .await;
    let kubectl = Kubectl::new(&c.server.kubeconfig());
    // kubectl blocks: run it off the runtime the fake kubelet needs.
    let out = tokio::task::spawn_blocking(move || {
        kubectl.run(&[
            "wait",
            "--for=condition=complete",
            "job/waited",
            "--timeout=60s",
        ])
    })
    .await
    .expect("kubectl ran");
    let status = jobs.get("waited").await.expect("job").status;
    assert!(out.success, "{out:?}\n{status:?}");
    assert!(
        out.stdout.contains("job.batch/waited condition met"),
        "{out:?}"
    );
}
