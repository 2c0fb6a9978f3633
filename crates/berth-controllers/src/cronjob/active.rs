//! A CronJob's view of its Jobs: the `status.active` list kept in step with
//! the Jobs that exist (finished ones leave it, vanished ones too), and
//! `lastSuccessfulTime`, as the first half of upstream's syncCronJob.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::{Api, ResourceExt};

use super::Context;
use crate::Error;
use crate::events::EventType;

/// The condition (`Complete` or `Failed`) that finished the Job, if any.
pub fn finished_condition(job: &Job) -> Option<&str> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .map(|c| c.type_.as_str())
}

fn in_active_list(cj: &CronJob, uid: &str) -> bool {
    active(cj).iter().any(|r| r.uid.as_deref() == Some(uid))
}

/// `status.active`, empty when unset.
pub fn active(cj: &CronJob) -> &[ObjectReference] {
    cj.status
        .as_ref()
        .and_then(|s| s.active.as_deref())
        .unwrap_or_default()
}

/// Removes the Job with `uid` from `status.active`.
pub fn remove_from_active(cj: &mut CronJob, uid: &str) {
    if let Some(list) = cj.status.as_mut().and_then(|s| s.active.as_mut()) {
        list.retain(|r| r.uid.as_deref() != Some(uid));
    }
}

/// Brings `status.active` and `lastSuccessfulTime` up to date with the
/// Jobs; true when the status changed.
pub async fn reconcile_jobs(
    ctx: &Context,
    cj: &mut CronJob,
    jobs: &[Arc<Job>],
) -> Result<bool, Error> {
    let mut changed = false;
    for job in jobs {
        let uid = job.uid().unwrap_or_default();
        let listed = in_active_list(cj, &uid);
        match finished_condition(job) {
            None if !listed => unexpected_job(ctx, cj, job).await?,
            Some(condition) if listed => {
                remove_from_active(cj, &uid);
                ctx.recorder.record(
                    &*cj,
                    EventType::Normal,
                    "SawCompletedJob",
                    format!(
                        "Saw completed job: {}, condition: {condition}",
                        job.name_any()
                    ),
                );
                changed = true;
            }
            _ => {}
        }
        if finished_condition(job) == Some("Complete") {
            changed |= note_success(cj, job);
        }
    }
    let known: HashSet<String> = jobs.iter().filter_map(|j| j.uid()).collect();
    changed |= drop_missing(ctx, cj, &known).await?;
    Ok(changed)
}

/// An unfinished Job of ours that the active list does not name: a fresh
/// read of the CronJob may name it (our informer is behind); else warn.
async fn unexpected_job(ctx: &Context, cj: &mut CronJob, job: &Job) -> Result<(), Error> {
    let api: Api<CronJob> =
        Api::namespaced(ctx.client.clone(), &cj.namespace().unwrap_or_default());
    let fresh = api
        .get(&cj.name_any())
        .await
        .map_err(|e| Error::api("reading", cj.name_any(), e))?;
    if in_active_list(&fresh, &job.uid().unwrap_or_default()) {
        *cj = fresh;
        return Ok(());
    }
    ctx.recorder.record(
        &*cj,
        EventType::Warning,
        "UnexpectedJob",
        format!(
            "Saw a job that the controller did not create or forgot: {}",
            job.name_any()
        ),
    );
    Ok(())
}

/// Moves `lastSuccessfulTime` forward to a succeeded Job's completion.
fn note_success(cj: &mut CronJob, job: &Job) -> bool {
    let Some(done) = job.status.as_ref().and_then(|s| s.completion_time.clone()) else {
        return false;
    };
    let status = cj.status.get_or_insert_with(Default::default);
    if status
        .last_successful_time
        .as_ref()
        .is_some_and(|t| t.0 >= done.0)
    {
        return false;
    }
    status.last_successful_time = Some(done);
    true
}

/// Drops active entries whose Job is gone (checked against the API, not
/// only the informer, so a slow watch does not lose a running Job).
async fn drop_missing(
    ctx: &Context,
    cj: &mut CronJob,
    known: &HashSet<String>,
) -> Result<bool, Error> {
    let missing: Vec<ObjectReference> = active(cj)
        .iter()
        .filter(|r| !r.uid.as_ref().is_some_and(|u| known.contains(u)))
        .cloned()
        .collect();
    let mut changed = false;
    for r in missing {
        let ns = r
            .namespace
            .clone()
            .or_else(|| cj.namespace())
            .unwrap_or_default();
        let name = r.name.clone().unwrap_or_default();
        let api: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
        let found = api
            .get_opt(&name)
            .await
            .map_err(|e| Error::api("reading", name.clone(), e))?;
        if found.is_none() {
            ctx.recorder.record(
                &*cj,
                EventType::Normal,
                "MissingJob",
                format!("Active job went missing: {name}"),
            );
            remove_from_active(cj, r.uid.as_deref().unwrap_or_default());
            changed = true;
        }
    }
    Ok(changed)
}
