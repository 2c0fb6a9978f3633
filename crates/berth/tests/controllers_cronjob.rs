//! The CronJob controller against a real `berth server`, with the fake
//! kubelet and the Job controller: every-minute schedules on a clock sped
//! up 30 times (the hidden `--cronjob-clock-scale`), so a scheduled minute
//! passes every two real seconds.

mod controllers_support;

use berth_testkit::{Kubectl, eventually};
use controllers_support::{Cluster, TIMEOUT, from_json};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const SCALE: &[&str] = &["--cronjob-clock-scale=30"];
const OUTCOME: &str = "fake-kubelet.berth.dev/outcome";

/// An every-minute CronJob whose pods end as `outcome` (fake kubelet).
fn cron_job(name: &str, policy: &str, outcome: &str) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
        "spec": {"schedule": "* * * * *", "concurrencyPolicy": policy,
            "jobTemplate": {"metadata": {"labels": {"cron": name}},
                "spec": {"backoffLimit": 0, "template": {
                    "metadata": {"labels": {"app": name}, "annotations": {OUTCOME: outcome}},
                    "spec": {"restartPolicy": "Never",
                             "containers": [{"name": "c", "image": "busybox:1.36"}]}}}}}})
}

async fn create(c: &Cluster, cj: Value) -> Api<CronJob> {
    let api: Api<CronJob> = Api::namespaced(c.client.clone(), "default");
    api.create(&PostParams::default(), &from_json(cj))
        .await
        .expect("create cronjob");
    api
}

/// The Jobs a CronJob controls.
async fn jobs_of(c: &Cluster, cj: &str) -> Vec<Job> {
    Api::<Job>::namespaced(c.client.clone(), "default")
        .list(&ListParams::default())
        .await
        .expect("list jobs")
        .items
        .into_iter()
        .filter(|j| {
            j.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|r| r.kind == "CronJob" && r.name == cj && r.controller == Some(true))
        })
        .collect()
}

/// The events about a CronJob with this reason.
async fn events(c: &Cluster, cj: &str, reason: &str) -> Vec<Event> {
    Api::<Event>::namespaced(c.client.clone(), "default")
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| {
            e.involved_object.name.as_deref() == Some(cj) && e.reason.as_deref() == Some(reason)
        })
        .collect()
}

fn finished(job: &Job, condition: &str) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == condition && c.status == "True")
        })
}

#[tokio::test]
async fn forbid_keeps_a_long_running_job_alone_and_reports_job_already_active() {
    let c = Cluster::start(2, SCALE).await;
    let api = create(&c, cron_job("forbid", "Forbid", "not-ready")).await;
    let first = eventually("the first job and its active entry", TIMEOUT, || async {
        let cj = api.get("forbid").await.ok()?;
        let status = cj.status?;
        let active = status.active.filter(|a| a.len() == 1)?;
        status.last_schedule_time?;
        let jobs = jobs_of(&c, "forbid").await;
        (jobs.len() == 1 && jobs[0].metadata.uid == active[0].uid).then(|| jobs[0].clone())
    })
    .await;
    let annotations = first.metadata.annotations.clone().unwrap_or_default();
    let stamp = annotations
        .get("batch.kubernetes.io/cronjob-scheduled-timestamp")
        .expect("scheduled-timestamp annotation");
    let minutes = stamp
        .parse::<jiff::Timestamp>()
        .expect("RFC 3339")
        .as_second()
        / 60;
    assert_eq!(first.metadata.name, Some(format!("forbid-{minutes}")));
    eventually("JobAlreadyActive", TIMEOUT, || async {
        (!events(&c, "forbid", "JobAlreadyActive").await.is_empty()).then_some(())
    })
    .await;
    let jobs = jobs_of(&c, "forbid").await;
    assert_eq!(jobs.len(), 1, "the running job blocks the next start");
    assert_eq!(jobs[0].metadata.uid, first.metadata.uid);
}

#[tokio::test]
async fn replace_deletes_the_running_job_and_starts_the_next() {
    let c = Cluster::start(2, SCALE).await;
    let api = create(&c, cron_job("replace", "Replace", "not-ready")).await;
    let first = eventually("the first job", TIMEOUT, || async {
        let jobs = jobs_of(&c, "replace").await;
        (jobs.len() == 1).then(|| jobs[0].metadata.name.clone())
    })
    .await;
    eventually("a replacement job, the first deleted", TIMEOUT, || async {
        let active = api.get("replace").await.ok()?.status?.active?;
        let live: Vec<Job> = jobs_of(&c, "replace")
            .await
            .into_iter()
            .filter(|j| j.metadata.deletion_timestamp.is_none())
            .collect();
        let replaced = active.len() == 1 && active[0].name != first;
        (replaced && live.iter().all(|j| j.metadata.name != first)).then_some(())
    })
    .await;
    assert!(!events(&c, "replace", "SuccessfulDelete").await.is_empty());
    assert!(events(&c, "replace", "SuccessfulCreate").await.len() >= 2);
}

#[tokio::test]
async fn finished_jobs_are_kept_up_to_the_history_limits() {
    let c = Cluster::start(2, SCALE).await;
    let mut good = cron_job("good", "Allow", "succeed");
    good["spec"]["successfulJobsHistoryLimit"] = json!(2);
    let good_api = create(&c, good).await;
    create(&c, cron_job("bad", "Allow", "fail")).await;
    eventually(
        "2 succeeded jobs kept, older ones deleted",
        TIMEOUT,
        || async {
            let kept = jobs_of(&c, "good").await;
            let complete = kept.iter().filter(|j| finished(j, "Complete")).count();
            let deleted = events(&c, "good", "SuccessfulDelete").await.len();
            (complete == 2 && kept.len() <= 3 && deleted >= 2).then_some(())
        },
    )
    .await;
    eventually("1 failed job kept (the default limit)", TIMEOUT, || async {
        let kept = jobs_of(&c, "bad").await;
        let failed = kept.iter().filter(|j| finished(j, "Failed")).count();
        let deleted = events(&c, "bad", "SuccessfulDelete").await.len();
        (failed == 1 && kept.len() <= 2 && deleted >= 1).then_some(())
    })
    .await;
    let status = good_api
        .get("good")
        .await
        .expect("get")
        .status
        .expect("status");
    assert!(status.last_successful_time.is_some());
    assert!(!events(&c, "good", "SawCompletedJob").await.is_empty());
}

#[tokio::test]
async fn a_suspended_cron_job_starts_nothing_until_resumed() {
    let c = Cluster::start(1, SCALE).await;
    let mut paused = cron_job("paused", "Allow", "succeed");
    paused["spec"]["suspend"] = json!(true);
    let api = create(&c, paused).await;
    create(&c, cron_job("ticking", "Allow", "succeed")).await;
    eventually(
        "several minutes pass for the other CronJob",
        TIMEOUT,
        || async { (events(&c, "ticking", "SuccessfulCreate").await.len() >= 3).then_some(()) },
    )
    .await;
    assert!(jobs_of(&c, "paused").await.is_empty(), "suspended: no job");
    api.patch(
        "paused",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": false}})),
    )
    .await
    .expect("resume");
    eventually("a job once resumed", TIMEOUT, || async {
        (!jobs_of(&c, "paused").await.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn kubectl_creates_a_job_from_a_cron_job() {
    let c = Cluster::start(1, SCALE).await;
    let mut cj = cron_job("nightly", "Forbid", "succeed");
    cj["spec"]["schedule"] = json!("@daily");
    cj["spec"]["suspend"] = json!(true);
    create(&c, cj).await;
    let kubectl = Kubectl::new(&c.server.kubeconfig());
    let out = kubectl
        .run(&[
            "create",
            "job",
            "manual",
            "--from=cronjob/nightly",
            "-n",
            "default",
        ])
        .ok();
    assert!(out.contains("job.batch/manual created"), "{out}");
    let job = Api::<Job>::namespaced(c.client.clone(), "default")
        .get("manual")
        .await
        .expect("the job exists");
    let annotations = job.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations
            .get("cronjob.kubernetes.io/instantiate")
            .map(String::as_str),
        Some("manual")
    );
    let owner = &job.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("CronJob", "nightly")
    );
    let template = job.spec.expect("spec").template;
    let labels = template.metadata.and_then(|m| m.labels).unwrap_or_default();
    assert_eq!(labels.get("app").map(String::as_str), Some("nightly"));
    eventually("the job runs to completion", TIMEOUT, || async {
        let job = Api::<Job>::namespaced(c.client.clone(), "default")
            .get("manual")
            .await
            .ok()?;
        finished(&job, "Complete").then_some(())
    })
    .await;
}
