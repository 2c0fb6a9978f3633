//! Starting Jobs on schedule, the second half of upstream's syncCronJob:
//! find the latest unmet scheduled time, honour `suspend`,
//! `startingDeadlineSeconds` and `concurrencyPolicy`, create the Job named
//! after the scheduled minute (so a retry never starts it twice), record it
//! in `status.active` and `lastScheduleTime`, and say when to look again.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, PostParams};
use kube::{Resource, ResourceExt};

use super::active::{active, remove_from_active};
use super::schedule::Schedule;
use super::times::{self, History, Missed};
use super::{Context, SCHEDULED_TIMESTAMP};
use crate::Error;
use crate::controller_ref::{is_controlled_by, new_controller_ref};
use crate::events::EventType;

/// The outcome of one scheduling pass.
pub struct Started {
    /// When to sync again (in the controller's clock), if ever.
    pub requeue: Option<Duration>,
    /// The status was changed and must be written.
    pub changed: bool,
}

fn history(cj: &CronJob) -> History {
    History {
        created: cj
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(Timestamp::UNIX_EPOCH, |t| t.0),
        last_schedule: cj
            .status
            .as_ref()
            .and_then(|s| s.last_schedule_time.as_ref())
            .map(|t| t.0),
        starting_deadline_seconds: cj.spec.as_ref().and_then(|s| s.starting_deadline_seconds),
    }
}

/// The Job's name: the CronJob's and the scheduled time in minutes.
pub fn job_name(cj: &CronJob, scheduled: Timestamp) -> String {
    format!("{}-{}", cj.name_any(), scheduled.as_second().div_euclid(60))
}

/// The CronJob's time zone (`spec.timeZone`, else UTC), or the event to warn with.
fn time_zone(cj: &CronJob) -> Result<TimeZone, String> {
    match cj.spec.as_ref().and_then(|s| s.time_zone.as_deref()) {
        None | Some("") => Ok(TimeZone::UTC),
        Some(name) => TimeZone::get(name).map_err(|e| format!("invalid timeZone: {name:?}: {e}")),
    }
}

/// The CronJob's schedule and time zone, or `None` (with a warning event)
/// when either is unusable: nothing runs until the spec is fixed.
fn schedule_of(ctx: &Context, cj: &CronJob) -> Option<(Schedule, TimeZone)> {
    let schedule = cj
        .spec
        .as_ref()
        .map(|s| s.schedule.clone())
        .unwrap_or_default();
    let tz = match time_zone(cj) {
        Ok(tz) => tz,
        Err(message) => {
            ctx.recorder
                .record(cj, EventType::Warning, "UnknownTimeZone", message);
            return None;
        }
    };
    match Schedule::parse(&schedule) {
        Ok(s) => Some((s, tz)),
        Err(e) => {
            let message = format!("unparseable schedule: {schedule:?} : {e}");
            ctx.recorder
                .record(cj, EventType::Warning, "UnparseableSchedule", message);
            None
        }
    }
}

/// Starts the Job due now, if any; `cj` is updated in place.
pub async fn start_due(ctx: &Context, cj: &mut CronJob, now: Timestamp) -> Result<Started, Error> {
    let idle = Started {
        requeue: None,
        changed: false,
    };
    let suspended = cj.spec.as_ref().and_then(|s| s.suspend) == Some(true);
    if cj.metadata.deletion_timestamp.is_some() || suspended {
        return Ok(idle);
    }
    let Some((sched, tz)) = schedule_of(ctx, cj) else {
        return Ok(idle);
    };
    let recent = match times::most_recent(&history(cj), now, &sched, &tz, true) {
        Ok(r) => r,
        Err(e) => {
            let schedule = cj
                .spec
                .as_ref()
                .map(|s| s.schedule.clone())
                .unwrap_or_default();
            let message = format!("invalid schedule: {schedule} : {e}");
            ctx.recorder
                .record(&*cj, EventType::Warning, "InvalidSchedule", message);
            return Ok(idle);
        }
    };
    let next = |cj: &CronJob| times::next_wait(&history(cj), now, &sched, &tz);
    let Some(scheduled) = recent.most_recent.filter(|t| *t <= now) else {
        return Ok(Started {
            requeue: next(cj),
            changed: false,
        });
    };
    if recent.missed == Missed::Many {
        ctx.recorder.record(
            &*cj,
            EventType::Warning,
            "TooManyMissedTimes",
            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew".into(),
        );
    }
    let changed = start_at(ctx, cj, scheduled, now, &tz).await?;
    Ok(Started {
        requeue: next(cj),
        changed,
    })
}

/// Runs the Job for `scheduled` unless the deadline passed, it already
/// ran, or the concurrency policy forbids it; true when the status changed.
async fn start_at(
    ctx: &Context,
    cj: &mut CronJob,
    scheduled: Timestamp,
    now: Timestamp,
    tz: &TimeZone,
) -> Result<bool, Error> {
    let spec = cj.spec.clone().unwrap_or_default();
    if let Some(deadline) = spec.starting_deadline_seconds
        && scheduled + jiff::SignedDuration::from_secs(deadline) < now
    {
        let at = scheduled.strftime("%a, %d %b %Y %H:%M:%S +0000");
        let message = format!("Missed scheduled time to start a job: {at}");
        ctx.recorder
            .record(&*cj, EventType::Warning, "MissSchedule", message);
        return Ok(false);
    }
    let name = job_name(cj, scheduled);
    let last = history(cj).last_schedule;
    if active(cj).iter().any(|r| r.name.as_deref() == Some(&name)) || last == Some(scheduled) {
        return Ok(false);
    }
    let policy = spec.concurrency_policy.as_deref().unwrap_or("Allow");
    if policy == "Forbid" && !active(cj).is_empty() {
        ctx.recorder.record(
            &*cj,
            EventType::Normal,
            "JobAlreadyActive",
            "Not starting job because prior execution is running and concurrency policy is Forbid"
                .into(),
        );
        return Ok(false);
    }
    if policy == "Replace" {
        replace_active(ctx, cj).await?;
    }
    let job = create_job(ctx, cj, scheduled, tz).await?;
    let status = cj.status.get_or_insert_with(Default::default);
    status
        .active
        .get_or_insert_with(Vec::new)
        .push(reference(&job));
    status.last_schedule_time = Some(Time(scheduled));
    Ok(true)
}

/// concurrencyPolicy Replace: deletes every active Job first.
async fn replace_active(ctx: &Context, cj: &mut CronJob) -> Result<(), Error> {
    for r in active(cj).to_vec() {
        let ns = r
            .namespace
            .clone()
            .or_else(|| cj.namespace())
            .unwrap_or_default();
        let name = r.name.clone().unwrap_or_default();
        let api: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
        match api.get_opt(&name).await {
            Ok(Some(job)) => super::delete_job(ctx, cj, &job).await?,
            Ok(None) => remove_from_active(cj, r.uid.as_deref().unwrap_or_default()),
            Err(e) => {
                let message = format!("Get job: {e}");
                ctx.recorder
                    .record(&*cj, EventType::Warning, "FailedGet", message);
                return Err(Error::api("reading", name, e));
            }
        }
    }
    Ok(())
}

/// The Job for `scheduled`, from the CronJob's template.
pub fn job_for(cj: &CronJob, scheduled: Timestamp, tz: &TimeZone) -> Job {
    let template = cj.spec.clone().unwrap_or_default().job_template;
    let meta = template.metadata.unwrap_or_default();
    let mut annotations: BTreeMap<String, String> = meta.annotations.unwrap_or_default();
    let zoned = scheduled.to_zoned(tz.clone());
    let stamp = if zoned.offset().seconds() == 0 {
        zoned.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    };
    annotations.insert(SCHEDULED_TIMESTAMP.into(), stamp);
    Job {
        metadata: ObjectMeta {
            name: Some(job_name(cj, scheduled)),
            namespace: cj.namespace(),
            labels: meta.labels,
            annotations: Some(annotations),
            owner_references: Some(vec![new_controller_ref(cj)]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    }
}

async fn create_job(
    ctx: &Context,
    cj: &CronJob,
    scheduled: Timestamp,
    tz: &TimeZone,
) -> Result<Job, Error> {
    let job = job_for(cj, scheduled, tz);
    let name = job.name_any();
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), &cj.namespace().unwrap_or_default());
    match api.create(&PostParams::default(), &job).await {
        Ok(created) => {
            let message = format!("Created job {name}");
            ctx.recorder
                .record(cj, EventType::Normal, "SuccessfulCreate", message);
            Ok(created)
        }
        Err(e) if crate::error::status_code(&e) == Some(409) => {
            // Created before (e.g. by us before a crash): ours only if we control it.
            let existing = api
                .get(&name)
                .await
                .map_err(|e| Error::api("reading", name.clone(), e))?;
            if !is_controlled_by(&existing.metadata, &cj.uid().unwrap_or_default()) {
                return Err(Error::Invalid {
                    object: format!("job {name}"),
                    message: "exists and is not controlled by its CronJob".into(),
                });
            }
            Ok(existing)
        }
        Err(e) => {
            let message = format!("Error creating job: {e}");
            ctx.recorder
                .record(cj, EventType::Warning, "FailedCreate", message);
            Err(Error::api("creating", name, e))
        }
    }
}

fn reference(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some(Job::api_version(&()).into_owned()),
        kind: Some(Job::kind(&()).into_owned()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        field_path: None,
    }
}
