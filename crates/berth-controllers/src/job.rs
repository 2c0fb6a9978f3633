//! The Job controller: runs pods until `completions` succeed (or, without
//! completions, until one succeeds and none is active), as upstream's
//! `pkg/controller/job`: `parallelism`, NonIndexed and Indexed completion
//! modes, `backoffLimit` with the 10 s doubling recreation backoff,
//! `backoffLimitPerIndex`/`maxFailedIndexes`, `activeDeadlineSeconds`,
//! `podFailurePolicy`, `suspend`, and the conditions SuccessCriteriaMet →
//! Complete, FailureTarget → Failed, Suspended.
//!
//! Pods are counted through the `batch.kubernetes.io/job-tracking`
//! finalizer ([`tracking`]): a finished pod's UID is first written to
//! `status.uncountedTerminatedPods`, then its finalizer is removed, then it
//! moves into `succeeded`/`failed` — so a completion is never counted twice
//! nor lost, whenever the controller stops.
//!
//! It is not the TTL-after-finished controller, which lives in [`ttl`].

mod claim;
mod conditions;
mod decide;
mod failure_policy;
mod indexes;
mod manage;
mod observe;
mod pods;
mod sync;
mod tracking;
pub mod ttl;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use tokio::sync::watch;

use crate::controller_ref::controller_of;
use crate::events::Recorder;
use crate::expectations::Expectations;
use crate::informer::{Change, Informer};
use crate::workqueue;

pub use pods::INDEX_ENV;

/// The finalizer every Job pod carries until it is counted.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// Annotation and label with an Indexed Job pod's completion index.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
/// Annotation: how often the pod's index had failed when it was created.
pub const INDEX_FAILURE_COUNT: &str = "batch.kubernetes.io/job-index-failure-count";

/// Upstream's MaxPodCreateDeletePerSync and maxUncountedPods.
pub const MAX_PODS_PER_SYNC: usize = 500;

/// The pod-recreation backoff after failures: `base` doubling per failure
/// since the last success, capped at `max` (upstream: 10 s and 6 min).
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(10),
            max: Duration::from_secs(360),
        }
    }
}

/// What the reconciler shares between syncs.
pub struct Context {
    pub client: Client,
    pub pods: Store<Pod>,
    /// Turns true once the pod store holds a complete list: a sync before
    /// that would miss pods and create them again.
    pub pods_ready: watch::Receiver<bool>,
    pub expectations: Arc<Expectations>,
    pub finalizers: Arc<tracking::FinalizerExpectations>,
    pub backoff: Backoff,
    pub records: Mutex<HashMap<String, manage::BackoffRecord>>,
    /// The Job as this controller last wrote it: newer than the informer's
    /// copy until the watch catches up (a stale status would under-count
    /// successes and create pods again).
    pub written: Mutex<HashMap<String, Arc<Job>>>,
    pub recorder: Recorder,
}

/// The Job's spec (a default one if absent).
fn spec(job: &Job) -> &JobSpec {
    static EMPTY: LazyLock<JobSpec> = LazyLock::new(JobSpec::default);
    job.spec.as_ref().unwrap_or(&EMPTY)
}

/// `namespace/name`, the expectations key.
pub fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// The Job controlling `pod`, by name.
fn owner_job(pod: &Pod) -> Option<(String, String)> {
    controller_of(&pod.metadata)
        .filter(|r| r.kind == "Job" && r.api_version == "batch/v1")
        .map(|r| (r.name.clone(), r.uid.clone()))
}

/// Wires the controller to the informers; returns its run future.
pub fn register(
    client: Client,
    pods: &mut Informer<Pod>,
    jobs: &mut Informer<Job>,
    concurrency: u16,
    backoff: Backoff,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let (queue, rx) = workqueue::queue::<Job>();
    let ctx = Arc::new(Context {
        recorder: Recorder::new(client.clone(), "job-controller"),
        client,
        pods: pods.store(),
        pods_ready: pods.primary().ready,
        expectations: Arc::default(),
        finalizers: Arc::default(),
        backoff,
        records: Mutex::default(),
        written: Mutex::default(),
    });
    let q = queue.clone();
    let c = ctx.clone();
    jobs.on_change(move |change| match change {
        Change::Applied { new, .. } => q.add(ObjectRef::from_obj(*new)),
        Change::Deleted(job) => on_job_deleted(&c, job),
    });
    let q = queue.clone();
    let c = ctx.clone();
    let orphans = Orphans {
        jobs: jobs.store(),
        ready: jobs.primary().ready,
    };
    pods.on_change(move |change| on_pod_change(change, &q, &c, &orphans));
    workqueue::run(
        "job",
        jobs.primary(),
        (queue, rx),
        sync::reconcile,
        ctx,
        concurrency,
    )
}

/// A deleted Job's pods lose their tracking finalizer, so they can go.
fn on_job_deleted(ctx: &Arc<Context>, job: &Job) {
    let job_key = key(&job.namespace().unwrap_or_default(), &job.name_any());
    ctx.expectations.forget(&job_key);
    ctx.finalizers.forget(&job_key);
    if let Ok(mut records) = ctx.records.lock() {
        records.remove(&job_key);
    }
    if let Ok(mut written) = ctx.written.lock() {
        written.remove(&job_key);
    }
    let uid = job.uid().unwrap_or_default();
    let pods: Vec<Arc<Pod>> = ctx
        .pods
        .state()
        .into_iter()
        .filter(|p| owner_job(p).is_some_and(|(_, u)| u == uid) && pods::has_tracking_finalizer(p))
        .collect();
    if !pods.is_empty() {
        let client = ctx.client.clone();
        tokio::spawn(async move { tracking::release_orphans(&client, pods).await });
    }
}

/// The Jobs informer's store, to tell orphaned pods.
struct Orphans {
    jobs: Store<Job>,
    ready: watch::Receiver<bool>,
}

fn on_pod_change(
    change: &Change<'_, Pod>,
    queue: &workqueue::Queue<Job>,
    ctx: &Arc<Context>,
    orphans: &Orphans,
) {
    let pod = change.object();
    let ns = pod.namespace().unwrap_or_default();
    let uid = pod.uid().unwrap_or_default();
    let Some((job, job_uid)) = owner_job(pod) else {
        return;
    };
    let job_key = key(&ns, &job);
    match change {
        Change::Deleted(_) => {
            ctx.expectations.deletion_observed(&job_key, &uid);
            ctx.finalizers.observed(&job_key, &uid);
        }
        Change::Applied { old, new } => {
            if old.is_none() {
                ctx.expectations.creation_observed(&job_key);
            }
            if new.metadata.deletion_timestamp.is_some() {
                ctx.expectations.deletion_observed(&job_key, &uid);
            }
            if !pods::has_tracking_finalizer(new) {
                ctx.finalizers.observed(&job_key, &uid);
            } else {
                check_orphan(ctx, orphans, new, &job, &job_uid);
            }
        }
    }
    queue.add_named(Some(&ns), &job);
}

fn in_store(jobs: &Store<Job>, ns: &str, job: &str, job_uid: &str) -> bool {
    jobs.get(&ObjectRef::new(job).within(ns))
        .is_some_and(|j| j.uid().as_deref() == Some(job_uid))
}

/// A pod with the finalizer whose Job is gone: release it once a fresh
/// read confirms the Job is really gone.
fn check_orphan(ctx: &Arc<Context>, orphans: &Orphans, pod: &Pod, job: &str, job_uid: &str) {
    let ns = pod.namespace().unwrap_or_default();
    if *orphans.ready.borrow() && in_store(&orphans.jobs, &ns, job, job_uid) {
        return;
    }
    let (jobs, mut ready) = (orphans.jobs.clone(), orphans.ready.clone());
    let (client, pod) = (ctx.client.clone(), Arc::new(pod.clone()));
    let (job, job_uid) = (job.to_string(), job_uid.to_string());
    tokio::spawn(async move {
        if ready.wait_for(|r| *r).await.is_err() || in_store(&jobs, &ns, &job, &job_uid) {
            return;
        }
        if tracking::job_is_gone(&client, &ns, &job, &job_uid).await {
            tracking::release_orphans(&client, vec![pod]).await;
        }
    });
}
