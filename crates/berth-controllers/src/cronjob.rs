//! The CronJob controller: starts Jobs on a cron schedule, as upstream's
//! `pkg/controller/cronjob` (ControllerV2).
//!
//! Per sync: bring `status.active` in step with the CronJob's Jobs
//! ([`active`]); unless suspended or being deleted, start the Job for the
//! latest unmet scheduled time, honouring `startingDeadlineSeconds` and
//! `concurrencyPolicy` ([`start`]); delete finished Jobs past the history
//! limits ([`cleanup`]); write the status; requeue for the next scheduled
//! time (there is no polling loop). Time comes from a [`clock::Clock`].
//!
//! It is not the Job controller: it creates and deletes Jobs and reads
//! their conditions; running their pods is the Job controller's work.

pub mod active;
pub mod cleanup;
pub mod clock;
pub mod schedule;
pub mod start;
pub mod times;

use std::sync::Arc;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::{Api, DeleteParams, PostParams, PropagationPolicy};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};

use crate::controller_ref::controller_of;
use crate::events::{EventType, Recorder};
use crate::informer::{Change, Informer};
use crate::{Error, workqueue};

/// The annotation naming the scheduled time a Job was started for.
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// What the reconciler shares between syncs.
pub struct Context {
    pub client: Client,
    pub jobs: Store<Job>,
    pub recorder: Recorder,
    pub clock: Arc<dyn clock::Clock>,
}

/// Wires the controller to the informers; returns its run future.
pub fn register(
    client: Client,
    cron_jobs: &mut Informer<CronJob>,
    jobs: &mut Informer<Job>,
    clock: Arc<dyn clock::Clock>,
    concurrency: u16,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let (queue, rx) = workqueue::queue::<CronJob>();
    let q = queue.clone();
    cron_jobs.on_change(move |change| {
        if let Change::Applied { new, .. } = change {
            q.add(ObjectRef::from_obj(*new));
        }
    });
    let q = queue.clone();
    jobs.on_change(move |change| {
        let job = change.object();
        let old = match change {
            Change::Applied { old, .. } => old.as_deref().and_then(owner_cron_job),
            Change::Deleted(_) => None,
        };
        for owner in owner_cron_job(job).into_iter().chain(old) {
            q.add_named(job.metadata.namespace.as_deref(), &owner);
        }
    });
    let ctx = Arc::new(Context {
        recorder: Recorder::new(client.clone(), "cronjob-controller"),
        client,
        jobs: jobs.store(),
        clock,
    });
    workqueue::run(
        "cronjob",
        cron_jobs.primary(),
        (queue, rx),
        reconcile,
        ctx,
        concurrency,
    )
}

fn owner_cron_job(job: &Job) -> Option<String> {
    controller_of(&job.metadata)
        .filter(|r| r.kind == "CronJob")
        .map(|r| r.name.clone())
}

async fn reconcile(cj: Arc<CronJob>, ctx: Arc<Context>) -> Result<Action, Error> {
    let uid = cj.uid().unwrap_or_default();
    let ns = cj.namespace();
    let jobs: Vec<Arc<Job>> = ctx
        .jobs
        .state()
        .into_iter()
        .filter(|j| j.namespace() == ns && controller_of(&j.metadata).is_some_and(|r| r.uid == uid))
        .collect();
    let now = ctx.clock.now();
    let mut updated = (*cj).clone();
    let mut changed = active::reconcile_jobs(&ctx, &mut updated, &jobs).await?;
    let started = start::start_due(&ctx, &mut updated, now).await?;
    changed |= started.changed;
    changed |= cleanup::finished_jobs(&ctx, &mut updated, &jobs).await?;
    if changed {
        write_status(&ctx.client, &updated).await?;
    }
    Ok(started.requeue.map_or_else(Action::await_change, |d| {
        Action::requeue(ctx.clock.real_wait(d))
    }))
}

/// Deletes a Job (its pods in the background) and drops it from the active list.
pub async fn delete_job(ctx: &Context, cj: &mut CronJob, job: &Job) -> Result<(), Error> {
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..Default::default()
    };
    match api.delete(&job.name_any(), &params).await {
        Ok(_) => {}
        Err(e) if crate::error::is_not_found(&e) => {}
        Err(e) => {
            let message = format!("Deleted job: {e}");
            ctx.recorder
                .record(&*cj, EventType::Warning, "FailedDelete", message);
            return Err(Error::api("deleting", job.name_any(), e));
        }
    }
    active::remove_from_active(cj, &job.uid().unwrap_or_default());
    let message = format!("Deleted job {}", job.name_any());
    ctx.recorder
        .record(&*cj, EventType::Normal, "SuccessfulDelete", message);
    Ok(())
}

/// Writes the status (a PUT carrying the resourceVersion read: a stale
/// CronJob fails with 409 and is synced again).
async fn write_status(client: &Client, cj: &CronJob) -> Result<(), Error> {
    let mut body = cj.clone();
    body.metadata.managed_fields = None;
    let api: Api<CronJob> = Api::namespaced(client.clone(), &cj.namespace().unwrap_or_default());
    match api
        .replace_status(&cj.name_any(), &PostParams::default(), &body)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::error::is_not_found(&e) => Ok(()),
        Err(e) => Err(Error::api("updating the status of", cj.name_any(), e)),
    }
}
