//! History limits: keep the newest `successfulJobsHistoryLimit` (default 3)
//! succeeded and `failedJobsHistoryLimit` (default 1) failed Jobs of a
//! CronJob, deleting the oldest by start time (name breaks ties), as
//! upstream's cleanupFinishedJobs.

use std::sync::Arc;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::ResourceExt;

use super::Context;
use super::active::finished_condition;
use crate::Error;

/// The Jobs beyond `limit` among `finished`, oldest first.
pub fn beyond_limit(mut finished: Vec<Arc<Job>>, limit: i32) -> Vec<Arc<Job>> {
    let keep = usize::try_from(limit.max(0)).unwrap_or(0);
    if finished.len() <= keep {
        return Vec::new();
    }
    finished.sort_by(|a, b| {
        let start = |j: &Job| {
            j.status
                .as_ref()
                .and_then(|s| s.start_time.as_ref())
                .map(|t| t.0)
        };
        match (start(a), start(b)) {
            (Some(x), Some(y)) if x != y => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            _ => a.name_any().cmp(&b.name_any()),
        }
    });
    let excess = finished.len() - keep;
    finished.truncate(excess);
    finished
}

/// Deletes the Jobs past the history limits; true when the status changed.
pub async fn finished_jobs(
    ctx: &Context,
    cj: &mut CronJob,
    jobs: &[Arc<Job>],
) -> Result<bool, Error> {
    let spec = cj.spec.clone().unwrap_or_default();
    let of = |condition: &str| -> Vec<Arc<Job>> {
        jobs.iter()
            .filter(|j| finished_condition(j) == Some(condition))
            .cloned()
            .collect()
    };
    let mut doomed = Vec::new();
    if let Some(limit) = spec.successful_jobs_history_limit {
        doomed.extend(beyond_limit(of("Complete"), limit));
    }
    if let Some(limit) = spec.failed_jobs_history_limit {
        doomed.extend(beyond_limit(of("Failed"), limit));
    }
    let changed = !doomed.is_empty();
    for job in doomed {
        if job.metadata.deletion_timestamp.is_none() {
            super::delete_job(ctx, cj, &job).await?;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(name: &str, started: Option<&str>) -> Arc<Job> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name},
                "status": {"startTime": started}
            }))
            .expect("job"),
        )
    }

    #[test]
    fn the_oldest_jobs_beyond_the_limit_go_first() {
        let jobs = vec![
            job("c", Some("2026-01-01T00:03:00Z")),
            job("a", Some("2026-01-01T00:01:00Z")),
            job("z", None),
            job("b", Some("2026-01-01T00:02:00Z")),
        ];
        let names = |v: Vec<Arc<Job>>| v.iter().map(|j| j.name_any()).collect::<Vec<_>>();
        assert_eq!(names(beyond_limit(jobs.clone(), 3)), ["a"]);
        assert_eq!(names(beyond_limit(jobs.clone(), 1)), ["a", "b", "c"]);
        assert!(beyond_limit(jobs.clone(), 4).is_empty());
        assert_eq!(beyond_limit(jobs, 0).len(), 4);
    }
}
