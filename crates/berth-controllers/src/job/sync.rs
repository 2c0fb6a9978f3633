//! One sync of one Job: claim its pods, observe them, decide whether it is
//! finishing, create or delete pods, then record finished pods, release
//! their finalizers and count them ([`super::tracking`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{Job, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::runtime::controller::Action;

use super::conditions::{self, Finish, SUSPENDED};
use super::manage::{self, BackoffRecord};
use super::observe::{Observed, observe};
use super::pods::has_tracking_finalizer;
use super::{Context, claim, decide, key, spec, tracking};
use crate::Error;
use crate::events::EventType;

/// The reconciler.
pub async fn reconcile(job: Arc<Job>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = job.namespace().unwrap_or_default();
    let job_key = key(&ns, &job.name_any());
    if ctx.pods_ready.clone().wait_for(|r| *r).await.is_err() {
        return Ok(Action::await_change());
    }
    let job = freshest(&ctx, &job_key, job);
    let pods = claim::claim_pods(&ctx, &job).await?;
    if job.metadata.deletion_timestamp.is_some() || conditions::is_finished(&job) {
        release_leftovers(&ctx, &job_key, &ns, &pods).await?;
        return Ok(Action::await_change());
    }
    let pending = ctx.finalizers.pending(&job_key);
    let recorded = conditions::recorded_finish(&job);
    let mut o = observe(&ctx.client, &job, &pods, &pending, recorded.as_ref()).await;
    let record = note_backoff(&ctx, &job_key, &o);
    let now = Timestamp::now();
    let mut status = job.status.clone().unwrap_or_default();
    let suspended = spec(&job).suspend == Some(true);
    if status.start_time.is_none() && !suspended {
        status.start_time = Some(Time(now));
    }
    let start = status.start_time.as_ref().map(|t| t.0);
    let (mut finish, mut requeue) = decide::failure(&job, &o, &pods, start, now);
    let mut active = o.active.len();
    let mut manage_error = None;
    if finish.is_some() {
        match manage::delete_pods(&ctx, &job, &job_key, &o.active).await {
            Ok(n) => active -= n,
            Err(e) => manage_error = Some(e),
        }
    } else {
        if ctx.expectations.satisfied(&job_key) {
            match manage_pods(&ctx, &job, &job_key, &o, &pods, record).await {
                Ok((n, delay)) => {
                    active = n;
                    requeue = min_some(requeue, delay);
                }
                Err(e) => manage_error = Some(e),
            }
            suspension(&ctx, &job, &mut status, now);
        }
        finish = decide::success(&job, &o, active);
    }
    let settled = count_released(&ctx, &job, &job_key, &mut status, &mut o, &pods);
    write_observed(&mut status, &job, &o, active, finish.as_ref(), now);
    let quiet = settled && o.releasable.is_empty() && o.active.is_empty() && o.terminating == 0;
    if let (Some(f), true, Some(0)) = (&finish, quiet && !o.more, status.active) {
        terminate(&ctx, &job, &mut status, f);
    }
    let written = tracking::write_status(&ctx.client, &job, status).await?;
    if let Ok(mut cache) = ctx.written.lock() {
        cache.insert(job_key.clone(), Arc::new(written));
    }
    // Released pods are counted by the next sync (their update events
    // trigger it), in the same write that drops them from the uncounted lists.
    let (released, release_error) = tracking::release(&ctx.client, &ns, &o.releasable).await;
    ctx.finalizers.expect(&job_key, released);
    if let Some(e) = manage_error.or(release_error) {
        return Err(e);
    }
    Ok(if o.more {
        Action::requeue(Duration::from_millis(1))
    } else {
        requeue.map_or_else(Action::await_change, Action::requeue)
    })
}

/// The informer's Job, or the one this controller wrote last if that is
/// newer (same uid, higher resourceVersion).
fn freshest(ctx: &Context, job_key: &str, job: Arc<Job>) -> Arc<Job> {
    let rv = |j: &Job| {
        j.metadata
            .resource_version
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let Ok(mut cache) = ctx.written.lock() else {
        return job;
    };
    match cache.get(job_key) {
        Some(w) if w.uid() == job.uid() && rv(w) > rv(&job) => w.clone(),
        _ => {
            cache.remove(job_key);
            job
        }
    }
}

fn min_some(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A deleted or finished Job: its pods lose their finalizers.
async fn release_leftovers(
    ctx: &Context,
    job_key: &str,
    ns: &str,
    pods: &[Arc<Pod>],
) -> Result<(), Error> {
    let pending = ctx.finalizers.pending(job_key);
    let leftovers: Vec<Arc<Pod>> = pods
        .iter()
        .filter(|p| has_tracking_finalizer(p) && !pending.contains(&p.uid().unwrap_or_default()))
        .cloned()
        .collect();
    let (released, error) = tracking::release(&ctx.client, ns, &leftovers).await;
    ctx.finalizers.expect(job_key, released);
    error.map_or(Ok(()), Err)
}

/// Updates this Job's failure record; returns it.
fn note_backoff(ctx: &Context, job_key: &str, o: &Observed) -> Option<BackoffRecord> {
    let mut records = ctx.records.lock().ok()?;
    let old = records.get(job_key).copied();
    let new = BackoffRecord::update(old, o.new_succeeded, o.new_failed, Instant::now());
    match new {
        Some(r) => records.insert(job_key.to_string(), r),
        None => records.remove(job_key),
    };
    new
}

/// Creates and deletes pods; returns the active count after, and when to
/// sync again if creation waits out the failure backoff.
async fn manage_pods(
    ctx: &Context,
    job: &Job,
    job_key: &str,
    o: &Observed,
    pods: &[Arc<Pod>],
    record: Option<BackoffRecord>,
) -> Result<(usize, Option<Duration>), Error> {
    if spec(job).suspend == Some(true) {
        let deleted = manage::delete_pods(ctx, job, job_key, &o.active).await?;
        return Ok((o.active.len() - deleted, None));
    }
    let plan = manage::plan(job, o, pods);
    let mut active = o.active.len();
    active -= manage::delete_pods(ctx, job, job_key, &plan.delete).await?;
    if plan.create.is_empty() {
        return Ok((active, None));
    }
    if let Some(r) = record {
        let wait = r.remaining(ctx.backoff, Instant::now());
        if !wait.is_zero() {
            return Ok((active, Some(wait)));
        }
    }
    active += manage::create_pods(ctx, job, job_key, plan.create).await?;
    Ok((active, None))
}

/// Suspended / resumed: the condition, its event, and a new start time on
/// resume (the active deadline counts from there).
fn suspension(ctx: &Context, job: &Job, status: &mut JobStatus, now: Timestamp) {
    let conds = status.conditions.get_or_insert_with(Vec::new);
    if spec(job).suspend == Some(true) {
        if conditions::ensure(
            conds,
            SUSPENDED,
            "True",
            "JobSuspended",
            "Job suspended",
            now,
        ) {
            ctx.recorder
                .record(job, EventType::Normal, "Suspended", "Job suspended".into());
        }
    } else if conditions::ensure(conds, SUSPENDED, "False", "JobResumed", "Job resumed", now) {
        ctx.recorder
            .record(job, EventType::Normal, "Resumed", "Job resumed".into());
        status.start_time = Some(Time(now));
    }
    if conds.is_empty() {
        status.conditions = None;
    }
}

fn non_empty(set: &std::collections::BTreeSet<String>) -> Option<Vec<String>> {
    (!set.is_empty()).then(|| set.iter().cloned().collect())
}

/// The first status write: counts of pods, newly recorded pods, indexes,
/// and the interim condition of a finishing Job.
fn write_observed(
    status: &mut JobStatus,
    job: &Job,
    o: &Observed,
    active: usize,
    finish: Option<&Finish>,
    now: Timestamp,
) {
    status.active = Some(i32::try_from(active).unwrap_or(i32::MAX));
    status.ready = Some(o.ready);
    status.terminating = Some(o.terminating);
    status.succeeded.get_or_insert(0);
    status.failed.get_or_insert(0);
    status.uncounted_terminated_pods = Some(UncountedTerminatedPods {
        succeeded: non_empty(&o.uncounted_succeeded),
        failed: non_empty(&o.uncounted_failed),
    });
    if spec(job).completion_mode.as_deref() == Some("Indexed") {
        status.succeeded = Some(o.succeeded_indexes.len() as i32);
        status.completed_indexes = Some(o.succeeded_indexes.to_string());
    }
    if spec(job).backoff_limit_per_index.is_some() {
        status.failed_indexes = Some(o.failed_indexes.to_string());
    }
    if let Some(f) = finish {
        let conds = status.conditions.get_or_insert_with(Vec::new);
        conditions::ensure(conds, f.interim_type(), "True", &f.reason, &f.message, now);
    }
}

/// Moves the recorded pods whose finalizer is gone (removed by this
/// controller, no longer on the pod, or the pod deleted) out of the
/// uncounted lists and into `succeeded`/`failed`; true when none is left.
fn count_released(
    ctx: &Context,
    job: &Job,
    job_key: &str,
    status: &mut JobStatus,
    o: &mut Observed,
    pods: &[Arc<Pod>],
) -> bool {
    let pending = ctx.finalizers.pending(job_key);
    let by_uid: HashMap<String, &Arc<Pod>> = pods
        .iter()
        .map(|p| (p.uid().unwrap_or_default(), p))
        .collect();
    let gone = |uid: &String| {
        pending.contains(uid) || by_uid.get(uid).is_none_or(|p| !has_tracking_finalizer(p))
    };
    let before = (o.uncounted_succeeded.len(), o.uncounted_failed.len());
    o.uncounted_succeeded.retain(|u| !gone(u));
    o.uncounted_failed.retain(|u| !gone(u));
    let n = |a: usize, b: usize| i32::try_from(a - b).unwrap_or(i32::MAX);
    if spec(job).completion_mode.as_deref() != Some("Indexed") {
        let counted = n(before.0, o.uncounted_succeeded.len());
        status.succeeded = Some(status.succeeded.unwrap_or(0) + counted);
    }
    let counted = n(before.1, o.uncounted_failed.len());
    status.failed = Some(status.failed.unwrap_or(0) + counted);
    o.uncounted_succeeded.is_empty() && o.uncounted_failed.is_empty()
}

/// The terminal condition (Complete or Failed), its event, completionTime.
fn terminate(ctx: &Context, job: &Job, status: &mut JobStatus, f: &Finish) {
    let now = Timestamp::now();
    let conds = status.conditions.get_or_insert_with(Vec::new);
    conditions::ensure(conds, f.interim_type(), "True", &f.reason, &f.message, now);
    conditions::ensure(conds, f.terminal_type(), "True", &f.reason, &f.message, now);
    if f.success {
        status.completion_time = Some(Time(now));
        ctx.recorder
            .record(job, EventType::Normal, "Completed", "Job completed".into());
    } else {
        ctx.recorder
            .record(job, EventType::Warning, &f.reason, f.message.clone());
    }
}
