//! Whether a running Job is finishing, and why: upstream's order of
//! checks (a recorded interim condition, a FailJob rule, the backoff
//! limit, the active deadline, failed indexes), then success.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

use super::conditions::{Finish, recorded_finish};
use super::observe::Observed;
use super::spec;
use crate::pod_state;

/// A failure (or a recorded finish), and when to look again for the
/// active deadline.
pub fn failure(
    job: &Job,
    o: &Observed,
    pods: &[std::sync::Arc<Pod>],
    start: Option<Timestamp>,
    now: Timestamp,
) -> (Option<Finish>, Option<Duration>) {
    if let Some(f) = recorded_finish(job) {
        return (Some(f), None);
    }
    if let Some(message) = &o.fail_job {
        return (
            Some(Finish::failure("PodFailurePolicy", message.clone())),
            None,
        );
    }
    let s = spec(job);
    let recorded_failed = job.status.as_ref().and_then(|s| s.failed).unwrap_or(0);
    let failed = i64::from(recorded_failed) + o.uncounted_failed.len() as i64;
    let limit = s.backoff_limit.unwrap_or(6);
    if failed > i64::from(limit) || past_backoff_limit_on_failure(job, pods, limit) {
        let f = Finish::failure(
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        );
        return (Some(f), None);
    }
    let mut requeue = None;
    if let (Some(deadline), Some(start), false) =
        (s.active_deadline_seconds, start, s.suspend == Some(true))
    {
        let elapsed = now.duration_since(start).as_secs_f64();
        let left = deadline as f64 - elapsed;
        if left <= 0.0 {
            let f = Finish::failure(
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
            );
            return (Some(f), None);
        }
        requeue = Some(Duration::from_secs_f64(left));
    }
    (failed_indexes(job, o), requeue)
}

/// With `restartPolicy: OnFailure`, container restarts of running pods
/// count against the backoff limit.
fn past_backoff_limit_on_failure(job: &Job, pods: &[std::sync::Arc<Pod>], limit: i32) -> bool {
    let policy = spec(job)
        .template
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref());
    if policy != Some("OnFailure") {
        return false;
    }
    let restarts: i32 = pods
        .iter()
        .filter(|p| matches!(pod_state::phase(p), "Running" | "Pending"))
        .map(|p| pod_state::restart_count(p))
        .sum();
    if limit == 0 {
        restarts > 0
    } else {
        restarts >= limit
    }
}

/// `backoffLimitPerIndex`: too many failed indexes, or every index done
/// with some failed.
fn failed_indexes(job: &Job, o: &Observed) -> Option<Finish> {
    let s = spec(job);
    s.backoff_limit_per_index?;
    let failed = o.failed_indexes.len();
    if s.max_failed_indexes
        .is_some_and(|m| failed > usize::try_from(m).unwrap_or(0))
    {
        return Some(Finish::failure(
            "MaxFailedIndexesExceeded",
            "Job has exceeded the specified maximal number of failed indexes",
        ));
    }
    let completions = usize::try_from(s.completions.unwrap_or(0)).unwrap_or(0);
    (!o.failed_indexes.is_empty() && failed + o.succeeded_indexes.len() >= completions)
        .then(|| Finish::failure("FailedIndexes", "Job has failed indexes"))
}

/// Success: enough completions (Indexed: every index) and nothing active;
/// without completions, one success and nothing active.
pub fn success(job: &Job, o: &Observed, active: usize) -> Option<Finish> {
    if active > 0 {
        return None;
    }
    let s = spec(job);
    let succeeded = succeeded_so_far(job, o);
    let done = match s.completions {
        None => succeeded > 0,
        Some(c) => succeeded >= i64::from(c),
    };
    done.then(Finish::completions_reached)
}

/// Successes recorded or counted (Indexed: completed indexes).
pub fn succeeded_so_far(job: &Job, o: &Observed) -> i64 {
    if spec(job).completion_mode.as_deref() == Some("Indexed") {
        return o.succeeded_indexes.len() as i64;
    }
    let counted = job.status.as_ref().and_then(|s| s.succeeded).unwrap_or(0);
    i64::from(counted) + o.uncounted_succeeded.len() as i64
}
