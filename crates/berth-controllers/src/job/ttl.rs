//! The TTL-after-finished controller: deletes a finished Job (Complete or
//! Failed) `ttlSecondsAfterFinished` after it finished, with foreground
//! propagation so its pods go first, as upstream's
//! `pkg/controller/ttlafterfinished`. Before deleting it re-reads the Job
//! and deletes only that version (a changed TTL is honoured).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, Preconditions, PropagationPolicy};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};

use super::conditions::finished_at;
use crate::error::{is_not_found, status_code};
use crate::informer::{Change, Informer};
use crate::{Error, workqueue};

/// What the reconciler needs.
pub struct Context {
    pub client: Client,
}

/// Wires the controller to the Jobs informer; returns its run future.
pub fn register(
    client: Client,
    jobs: &mut Informer<Job>,
    concurrency: u16,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let (queue, rx) = workqueue::queue::<Job>();
    let q = queue.clone();
    jobs.on_change(move |change| {
        if let Change::Applied { new, .. } = change
            && expiry(new).is_some()
        {
            q.add(ObjectRef::from_obj(*new));
        }
    });
    let ctx = Arc::new(Context { client });
    workqueue::run(
        "ttl-after-finished",
        jobs.primary(),
        (queue, rx),
        reconcile,
        ctx,
        concurrency,
    )
}

/// When a finished Job with a TTL expires.
fn expiry(job: &Job) -> Option<Timestamp> {
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    if job.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let finished = finished_at(job)?;
    finished
        .checked_add(jiff::SignedDuration::from_secs(i64::from(ttl)))
        .ok()
}

/// Time left until `at`, or `None` once it has passed.
fn left_until(at: Timestamp) -> Option<Duration> {
    let left = at.duration_since(Timestamp::now());
    (left.is_positive()).then(|| left.unsigned_abs())
}

async fn reconcile(job: Arc<Job>, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some(at) = expiry(&job) else {
        return Ok(Action::await_change());
    };
    if let Some(left) = left_until(at) {
        return Ok(Action::requeue(left));
    }
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    let fresh = api
        .get_opt(&job.name_any())
        .await
        .map_err(|e| Error::api("reading", job.name_any(), e))?;
    let Some(fresh) = fresh.filter(|f| f.uid() == job.uid()) else {
        return Ok(Action::await_change());
    };
    match expiry(&fresh).map(left_until) {
        None => return Ok(Action::await_change()),
        Some(Some(left)) => return Ok(Action::requeue(left)),
        Some(None) => {}
    }
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Foreground),
        preconditions: Some(Preconditions {
            uid: fresh.uid(),
            resource_version: fresh.resource_version(),
        }),
        ..Default::default()
    };
    tracing::info!(job = %job.name_any(), "deleting a finished job whose TTL expired");
    match api.delete(&fresh.name_any(), &dp).await {
        Ok(_) => Ok(Action::await_change()),
        Err(e) if is_not_found(&e) || status_code(&e) == Some(409) => Ok(Action::await_change()),
        Err(e) => Err(Error::api("deleting", job.name_any(), e)),
    }
}
