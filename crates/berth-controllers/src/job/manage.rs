//! Creating and deleting a running Job's pods: how many should be active,
//! which indexes still need a pod, the recreation backoff after failures.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};

use super::observe::Observed;
use super::pods::{completion_index, new_pod};
use super::{Backoff, Context, MAX_PODS_PER_SYNC, spec};
use crate::Error;
use crate::error::is_not_found;
use crate::events::EventType;

/// Failures since the last success, and when the last one was seen
/// (upstream's backoffRecord).
#[derive(Clone, Copy, Debug)]
pub struct BackoffRecord {
    pub failures: u32,
    pub last_failure: Instant,
}

impl BackoffRecord {
    /// Folds in this sync's newly recorded successes and failures.
    pub fn update(
        old: Option<Self>,
        succeeded: usize,
        failed: usize,
        now: Instant,
    ) -> Option<Self> {
        let mut failures = old.filter(|_| succeeded == 0).map_or(0, |r| r.failures);
        failures += u32::try_from(failed).unwrap_or(u32::MAX);
        if failures == 0 {
            return None;
        }
        let last_failure = if failed > 0 {
            now
        } else {
            old.map_or(now, |r| r.last_failure)
        };
        Some(Self {
            failures,
            last_failure,
        })
    }

    /// How long pod creation must still wait: `base·2^(failures-1)`
    /// capped at `max`, from the last failure.
    pub fn remaining(&self, backoff: Backoff, now: Instant) -> Duration {
        let doublings = self.failures.saturating_sub(1).min(30);
        let delay = backoff
            .base
            .saturating_mul(1u32 << doublings)
            .min(backoff.max);
        delay.saturating_sub(now.saturating_duration_since(self.last_failure))
    }
}

/// Upstream's wantActive: parallelism, limited by the completions left.
pub fn want_active(job: &Job, succeeded: i64, active: usize) -> usize {
    let parallelism = i64::from(spec(job).parallelism.unwrap_or(1).max(0));
    let want = match spec(job).completions {
        None if succeeded > 0 => i64::try_from(active).unwrap_or(i64::MAX),
        None => parallelism,
        Some(c) => (i64::from(c) - succeeded).clamp(0, parallelism),
    };
    usize::try_from(want).unwrap_or(0)
}

/// Indexed: the lowest indexes with no success, no failure verdict and no
/// active (or, replacing only failed pods, terminating) pod.
pub fn indexes_to_create(job: &Job, o: &Observed, busy: &HashSet<i32>, count: usize) -> Vec<i32> {
    let completions = spec(job).completions.unwrap_or(0);
    (0..completions)
        .filter(|i| {
            !o.succeeded_indexes.contains(*i) && !o.failed_indexes.contains(*i) && !busy.contains(i)
        })
        .take(count)
        .collect()
}

/// Indexes taken by active pods (and, with `podReplacementPolicy: Failed`,
/// by terminating ones).
pub fn busy_indexes(job: &Job, pods: &[Arc<Pod>]) -> HashSet<i32> {
    let only_failed = spec(job).pod_replacement_policy.as_deref() == Some("Failed");
    pods.iter()
        .filter(|p| {
            crate::pod_state::is_active(p)
                || (only_failed
                    && p.metadata.deletion_timestamp.is_some()
                    && !crate::pod_state::is_terminal(p))
        })
        .filter_map(|p| completion_index(p))
        .collect()
}

/// What to change: pods to delete, pods to create (index and its
/// failures so far, for Indexed Jobs).
#[derive(Debug, Default)]
pub struct Plan {
    pub delete: Vec<Arc<Pod>>,
    pub create: Vec<(Option<i32>, Option<i32>)>,
}

/// Upstream's manageJob arithmetic for a running, unsuspended Job.
pub fn plan(job: &Job, o: &Observed, pods: &[Arc<Pod>]) -> Plan {
    let only_failed = spec(job).pod_replacement_policy.as_deref() == Some("Failed");
    let blocked = if only_failed {
        usize::try_from(o.terminating).unwrap_or(0)
    } else {
        0
    };
    if spec(job).completion_mode.as_deref() == Some("Indexed") {
        return plan_indexed(job, o, pods, blocked);
    }
    let active = o.active.len();
    let want = want_active(job, super::decide::succeeded_so_far(job, o), active);
    if active > want {
        return Plan {
            delete: pick_victims(&o.active, active - want),
            create: Vec::new(),
        };
    }
    let n = want.saturating_sub(active + blocked);
    Plan {
        delete: Vec::new(),
        create: vec![(None, None); n],
    }
}

/// Indexed: one active pod per missing index; duplicates, out-of-range and
/// already decided indexes are deleted.
fn plan_indexed(job: &Job, o: &Observed, pods: &[Arc<Pod>], blocked: usize) -> Plan {
    let completions = spec(job).completions.unwrap_or(0);
    let mut seen = HashSet::new();
    let (mut kept, mut delete): (Vec<Arc<Pod>>, Vec<Arc<Pod>>) =
        o.active.iter().cloned().partition(|p| {
            completion_index(p).is_some_and(|ix| {
                ix < completions
                    && !o.succeeded_indexes.contains(ix)
                    && !o.failed_indexes.contains(ix)
                    && seen.insert(ix)
            })
        });
    let decided = o.succeeded_indexes.len() + o.failed_indexes.len();
    let left = usize::try_from(completions)
        .unwrap_or(0)
        .saturating_sub(decided);
    let parallelism = usize::try_from(spec(job).parallelism.unwrap_or(1)).unwrap_or(0);
    let want = left.min(parallelism);
    if kept.len() > want {
        delete.extend(pick_victims(&kept, kept.len() - want));
        return Plan {
            delete,
            create: Vec::new(),
        };
    }
    kept.clear();
    let n = want.saturating_sub(seen.len() + blocked);
    let busy = busy_indexes(job, pods);
    let per_index = spec(job).backoff_limit_per_index.is_some();
    let create = indexes_to_create(job, o, &busy, n)
        .into_iter()
        .map(|ix| {
            let failures = per_index.then(|| o.index_failures.get(&ix).copied().unwrap_or(0));
            (Some(ix), failures)
        })
        .collect();
    Plan { delete, create }
}

/// Creates one pod per entry (`None` for NonIndexed) in slow-start batches.
pub async fn create_pods(
    ctx: &Context,
    job: &Job,
    job_key: &str,
    pods: Vec<(Option<i32>, Option<i32>)>,
) -> Result<usize, Error> {
    let count = pods.len().min(MAX_PODS_PER_SYNC);
    if count == 0 {
        return Ok(0);
    }
    ctx.expectations.expect_creations(job_key, count);
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    let templates: Vec<Pod> = pods[..count]
        .iter()
        .map(|(ix, failures)| new_pod(job, *ix, *failures))
        .collect();
    let (created, failed) = slow_start_create(&api, templates).await;
    for _ in created.len()..count {
        ctx.expectations.creation_observed(job_key);
    }
    for p in &created {
        let message = format!("Created pod: {}", p.name_any());
        ctx.recorder
            .record(job, EventType::Normal, "SuccessfulCreate", message);
    }
    match failed {
        None => Ok(created.len()),
        Some(e) => {
            let message = format!("Error creating: {e}");
            ctx.recorder
                .record(job, EventType::Warning, "FailedCreate", message);
            Err(Error::api("creating a pod for", job.name_any(), e))
        }
    }
}

/// Creates `pods` in batches of 1, 2, 4…, stopping after the first batch
/// with a failure (upstream's slow start); returns the successes and the
/// first error.
async fn slow_start_create(api: &Api<Pod>, pods: Vec<Pod>) -> (Vec<Pod>, Option<kube::Error>) {
    let mut created = Vec::with_capacity(pods.len());
    let mut rest = pods.as_slice();
    let mut batch = 1;
    while !rest.is_empty() {
        let (now, later) = rest.split_at(batch.min(rest.len()));
        let pp = PostParams::default();
        let results = join_all(now.iter().map(|p| api.create(&pp, p))).await;
        let mut first_error = None;
        for r in results {
            match r {
                Ok(p) => created.push(p),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if first_error.is_some() {
            return (created, first_error);
        }
        rest = later;
        batch *= 2;
    }
    (created, None)
}

/// Deletes `victims`; returns how many deletions were issued.
pub async fn delete_pods(
    ctx: &Context,
    job: &Job,
    job_key: &str,
    victims: &[Arc<Pod>],
) -> Result<usize, Error> {
    if victims.is_empty() {
        return Ok(0);
    }
    let victims = &victims[..victims.len().min(MAX_PODS_PER_SYNC)];
    ctx.expectations
        .expect_deletions(job_key, victims.iter().map(|p| p.uid().unwrap_or_default()));
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    let results = join_all(victims.iter().map(|pod| {
        let api = api.clone();
        async move {
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: pod.uid(),
                    resource_version: None,
                }),
                ..Default::default()
            };
            (pod, api.delete(&pod.name_any(), &dp).await)
        }
    }))
    .await;
    let mut first_error = None;
    for (pod, result) in results {
        match result {
            Ok(_) => {
                let message = format!("Deleted pod: {}", pod.name_any());
                ctx.recorder
                    .record(job, EventType::Normal, "SuccessfulDelete", message);
            }
            Err(e) => {
                ctx.expectations
                    .deletion_observed(job_key, &pod.uid().unwrap_or_default());
                if !is_not_found(&e) {
                    first_error.get_or_insert(Error::api("deleting a pod of", job.name_any(), e));
                }
            }
        }
    }
    first_error.map_or(Ok(victims.len()), Err)
}

/// Pods to delete first: not ready before ready, unscheduled first, the
/// youngest first (a simplified upstream ActivePods ordering).
pub fn pick_victims(active: &[Arc<Pod>], count: usize) -> Vec<Arc<Pod>> {
    let mut ranked: Vec<Arc<Pod>> = active.to_vec();
    ranked.sort_by_key(|p| {
        let scheduled = p.spec.as_ref().is_some_and(|s| s.node_name.is_some());
        let ready = crate::pod_state::is_ready(p);
        let created = p.metadata.creation_timestamp.as_ref().map(|t| t.0);
        (scheduled, ready, std::cmp::Reverse(created))
    });
    ranked.truncate(count);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_failure_and_is_capped() {
        let b = Backoff::default();
        let now = Instant::now();
        let r = BackoffRecord::update(None, 0, 1, now).expect("one failure");
        assert_eq!(r.remaining(b, now), Duration::from_secs(10));
        let r = BackoffRecord::update(Some(r), 0, 2, now).expect("three failures");
        assert_eq!(r.remaining(b, now), Duration::from_secs(40));
        let r = BackoffRecord::update(Some(r), 0, 20, now).expect("many failures");
        assert_eq!(r.remaining(b, now), Duration::from_secs(360));
        assert!(
            BackoffRecord::update(Some(r), 1, 0, now).is_none(),
            "a success resets"
        );
    }
}
