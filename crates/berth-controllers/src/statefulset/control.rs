//! One pass over a StatefulSet's pods, as upstream's `updateStatefulSet`.
//!
//! The pods split into replicas (ordinals in `[start, start + replicas)`,
//! one slot each, empty where the pod is missing) and condemned pods
//! (valid ordinals outside the range, highest first). Then, in order:
//! 1. each replica slot: create the missing pod (claims first), delete a
//!    Failed/Succeeded pod so it is recreated, restore identity, storage and
//!    claim owners;
//! 2. each condemned pod: hand its claims to the retention policy, delete it;
//! 3. RollingUpdate: delete outdated pods from the highest ordinal down to
//!    `partition`, at most `maxUnavailable` unavailable at once ([`rolling`]).
//!
//! `OrderedReady` is monotonic: the pass stops at the first pod it created,
//! deleted or found not Running+Ready (and available for
//! `minReadySeconds`) or terminating, so pods start in ordinal order and
//! stop in reverse order, one at a time. `Parallel` does every slot at once
//! and never waits.
//!
//! [`rolling`]: super::rolling

use std::sync::Arc;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use super::identity::{self, in_range, ordinal_of, start_ordinal};
use super::revision::{Revisions, apply_revision};
use super::{Context, claims, pod_control, rolling};
use crate::events::EventType;
use crate::{Error, pod_state};

/// API calls in flight at once for a `Parallel` set.
const BURST: usize = 64;

/// Whether the pass goes on after a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Next,
    Wait,
}

/// Running and Ready.
pub fn is_running_and_ready(pod: &Pod) -> bool {
    pod_state::phase(pod) == "Running" && pod_state::is_ready(pod)
}

/// Running and Ready for `minReadySeconds`.
pub fn is_running_and_available(pod: &Pod, min_ready_seconds: i32) -> bool {
    pod_state::phase(pod) == "Running"
        && pod_state::is_available(pod, min_ready_seconds, Timestamp::now())
}

/// Running, Ready and not terminating.
pub fn is_healthy(pod: &Pod) -> bool {
    is_running_and_ready(pod) && pod.metadata.deletion_timestamp.is_none()
}

/// The replica slots (index = ordinal - start) and the condemned pods,
/// highest ordinal first. Pods whose names carry no ordinal are ignored.
pub fn partition(set: &StatefulSet, pods: &[Arc<Pod>]) -> (Vec<Option<Arc<Pod>>>, Vec<Arc<Pod>>) {
    let start = start_ordinal(set);
    let mut replicas = vec![None; identity::replicas(set) as usize];
    let mut condemned = Vec::new();
    for pod in pods {
        match ordinal_of(pod) {
            Some(o) if in_range(set, o) => replicas[(o - start) as usize] = Some(pod.clone()),
            Some(_) => condemned.push(pod.clone()),
            None => {}
        }
    }
    condemned.sort_by_key(|p| std::cmp::Reverse(ordinal_of(p)));
    (replicas, condemned)
}

/// Everything one pass needs.
pub struct Pass<'a> {
    ctx: &'a Context,
    set: &'a StatefulSet,
    current_set: StatefulSet,
    update_set: StatefulSet,
    revisions: &'a Revisions,
    monotonic: bool,
    min_ready_seconds: i32,
}

impl<'a> Pass<'a> {
    pub fn new(ctx: &'a Context, set: &'a StatefulSet, revisions: &'a Revisions) -> Self {
        let spec = set.spec.as_ref();
        Self {
            ctx,
            set,
            current_set: apply_revision(set, &revisions.current),
            update_set: apply_revision(set, &revisions.update),
            revisions,
            monotonic: spec.and_then(|s| s.pod_management_policy.as_deref()) != Some("Parallel"),
            min_ready_seconds: spec.and_then(|s| s.min_ready_seconds).unwrap_or(0),
        }
    }

    /// Runs the pass over the set's claimed pods.
    pub async fn run(&self, pods: &[Arc<Pod>]) -> Result<(), Error> {
        let (replicas, condemned) = partition(self.set, pods);
        if self.replicas(&replicas).await? == Step::Wait {
            return Ok(());
        }
        for pod in &condemned {
            claims::sync_retention(self.ctx, self.set, pod).await?;
        }
        if self.all_condemned(&condemned).await? == Step::Wait || !is_rolling_update(self.set) {
            return Ok(());
        }
        let outdated = rolling::to_delete(
            self.set,
            &replicas,
            self.revisions.update_name(),
            self.min_ready_seconds,
        );
        for pod in outdated {
            tracing::debug!(pod = %pod.name_any(), "deleting pod for update");
            pod_control::delete(self.ctx, self.set, &pod).await?;
        }
        Ok(())
    }

    /// Each replica slot in ordinal order, stopping at the first `Wait`,
    /// when monotonic; all at once otherwise (upstream's runForAll).
    async fn replicas(&self, replicas: &[Option<Arc<Pod>>]) -> Result<Step, Error> {
        let start = start_ordinal(self.set);
        if self.monotonic {
            for (i, slot) in replicas.iter().enumerate() {
                if self.replica(slot.as_deref(), start + i as i32).await? == Step::Wait {
                    return Ok(Step::Wait);
                }
            }
            return Ok(Step::Next);
        }
        let all: Vec<_> = replicas
            .iter()
            .enumerate()
            .map(|(i, slot)| self.replica(slot.as_deref(), start + i as i32))
            .collect();
        burst(all).await
    }

    /// Each condemned pod, highest ordinal first, as [`Pass::replicas`].
    async fn all_condemned(&self, condemned: &[Arc<Pod>]) -> Result<Step, Error> {
        let first_unhealthy = condemned
            .iter()
            .find(|p| !is_healthy(p))
            .and_then(|p| p.uid());
        let first_unhealthy = first_unhealthy.as_deref();
        if self.monotonic {
            for pod in condemned {
                if self.condemned(pod, first_unhealthy).await? == Step::Wait {
                    return Ok(Step::Wait);
                }
            }
            return Ok(Step::Next);
        }
        let all: Vec<_> = condemned
            .iter()
            .map(|pod| self.condemned(pod, first_unhealthy))
            .collect();
        burst(all).await
    }

    fn after_change(&self) -> Step {
        if self.monotonic {
            Step::Wait
        } else {
            Step::Next
        }
    }

    async fn replica(&self, slot: Option<&Pod>, ordinal: i32) -> Result<Step, Error> {
        let Some(pod) = slot else {
            if claims::is_stale(self.ctx, self.set, ordinal) {
                return Ok(Step::Wait);
            }
            pod_control::create(self.ctx, self.set, &self.new_pod(ordinal)).await?;
            return Ok(self.after_change());
        };
        if pod_state::is_terminal(pod) {
            self.recreate(pod).await?;
            return Ok(self.after_change());
        }
        if pod.metadata.deletion_timestamp.is_some() {
            return Ok(self.after_change());
        }
        if pod_state::phase(pod) == "Pending" {
            claims::create_missing(self.ctx, self.set, ordinal).await?;
        }
        if self.monotonic && !is_running_and_available(pod, self.min_ready_seconds) {
            return Ok(Step::Wait);
        }
        if !identity::identity_matches(self.set, pod) {
            pod_control::restore_identity(self.ctx, self.set, pod).await?;
        }
        claims::create_missing(self.ctx, self.set, ordinal).await?;
        claims::sync_retention(self.ctx, self.set, pod).await?;
        Ok(Step::Next)
    }

    /// Deletes a Failed or Succeeded pod; the next pass creates it again.
    async fn recreate(&self, pod: &Pod) -> Result<(), Error> {
        let failed = pod_state::phase(pod) == "Failed";
        let (kind, reason, what) = if failed {
            (EventType::Warning, "RecreatingFailedPod", "failed")
        } else {
            (EventType::Normal, "RecreatingTerminatedPod", "terminated")
        };
        self.ctx.recorder.record(
            self.set,
            kind,
            reason,
            format!(
                "StatefulSet {}/{} is recreating {what} Pod {}",
                self.set.namespace().unwrap_or_default(),
                self.set.name_any(),
                pod.name_any()
            ),
        );
        pod_control::delete(self.ctx, self.set, pod).await
    }

    async fn condemned(&self, pod: &Pod, first_unhealthy: Option<&str>) -> Result<Step, Error> {
        if pod.metadata.deletion_timestamp.is_some() {
            return Ok(self.after_change());
        }
        let healthy = is_healthy(pod) && is_running_and_available(pod, self.min_ready_seconds);
        if self.monotonic && !healthy && pod.uid().as_deref() != first_unhealthy {
            return Ok(Step::Wait);
        }
        tracing::debug!(pod = %pod.name_any(), "deleting pod for scale down");
        pod_control::delete(self.ctx, self.set, pod).await?;
        Ok(self.after_change())
    }

    /// A new pod for `ordinal`: at the current revision below the partition
    /// of a rolling update, at the update revision otherwise
    /// (upstream's newVersionedStatefulSetPod).
    fn new_pod(&self, ordinal: i32) -> Pod {
        let start = start_ordinal(self.set);
        let spec = self.set.spec.as_ref();
        let rolling = spec
            .and_then(|s| s.update_strategy.as_ref())
            .and_then(|u| u.rolling_update.as_ref());
        let at_current = is_rolling_update(self.set)
            && match rolling {
                Some(r) => ordinal < start + r.partition.unwrap_or(0),
                None => {
                    let current = self.set.status.as_ref().and_then(|s| s.current_replicas);
                    ordinal < start + current.unwrap_or(0)
                }
            };
        if at_current {
            identity::new_pod(&self.current_set, ordinal, self.revisions.current_name())
        } else {
            identity::new_pod(&self.update_set, ordinal, self.revisions.update_name())
        }
    }
}

/// Runs the calls at most [`BURST`] at a time; the first error wins.
async fn burst<F: Future<Output = Result<Step, Error>>>(calls: Vec<F>) -> Result<Step, Error> {
    let results: Vec<_> = futures::stream::iter(calls)
        .buffer_unordered(BURST)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(Step::Next)
}

/// `spec.updateStrategy.type` is RollingUpdate (the default).
pub fn is_rolling_update(set: &StatefulSet) -> bool {
    set.spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|u| u.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate")
}
