//! One pod through the scheduling cycle (synchronous, on the snapshot) and
//! the start and end of its binding cycle (asynchronous, through the API).
//!
//! Success: schedule → assume in the snapshot → Reserve → Permit → binding
//! task. Failure at any step: Unreserve, forget the assumption, hand the pod
//! back to the queue (unschedulable pool or backoffQ) and report why.

use std::sync::Arc;
use std::time::Instant;

use super::binder::BindOutcome;
use super::recorder::{PodRef, Report};
use super::scheduling_loop::SchedulingLoop;
use super::stats::SchedulerStats;
use crate::framework::{ActionType, ClusterEvent, Code, CycleState, EventResource, ScheduleError};
use crate::plugins::DEFAULT_SCHEDULER_NAME;
use crate::pod_info::PodInfo;
use crate::queue::QueuedPodInfo;

/// Reported conditions remembered before the memory is reset.
const REPORTED_LIMIT: usize = 16_384;

/// A pod whose binding task is running.
pub(super) struct PendingBinding {
    queued: QueuedPodInfo,
    state: CycleState,
    node: String,
    profile: usize,
    cycle: u64,
}

/// Why an attempt failed, as upstream reports it.
struct Failure {
    /// `Unschedulable` or `SchedulerError` (the condition's reason).
    reason: &'static str,
    message: String,
    nominated_node_name: Option<String>,
    /// Pods preemption chose to evict for this pod.
    victims: Vec<Arc<PodInfo>>,
}

impl Failure {
    fn error(message: String) -> Self {
        Self {
            reason: "SchedulerError",
            message,
            nominated_node_name: None,
            victims: Vec::new(),
        }
    }
}

impl SchedulingLoop {
    fn profile_index(&self, pod: &PodInfo) -> Option<usize> {
        let spec = pod.pod().spec.as_ref();
        let name = spec
            .and_then(|s| s.scheduler_name.as_deref())
            .filter(|n| !n.is_empty());
        let name = name.unwrap_or(DEFAULT_SCHEDULER_NAME);
        self.profiles
            .iter()
            .position(|p| p.scheduler_name() == name)
    }

    /// Runs the scheduling cycle of a popped pod.
    pub(super) fn schedule_one(&mut self, mut queued: QueuedPodInfo) {
        let pod = Arc::clone(&queued.pod);
        let Some(profile) = self.profile_index(&pod) else {
            self.queue.done(pod.key());
            return;
        };
        let cycle = self.queue.scheduling_cycle();
        let mut state = CycleState::new();
        let started = Instant::now();
        let result = self.algorithm.schedule_pod(
            &self.profiles[profile],
            &self.cluster.snapshot,
            &mut state,
            &pod,
        );
        let elapsed = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        SchedulerStats::add(&self.stats.cycle_nanos, elapsed);
        match result {
            Ok(result) => {
                SchedulerStats::add(&self.stats.scheduled, 1);
                let binding = PendingBinding {
                    queued,
                    state,
                    node: result.suggested_host,
                    profile,
                    cycle,
                };
                self.assume_and_bind(binding);
            }
            Err(error) => {
                let failure = self.failure_of(&mut queued, error);
                self.requeue(queued, cycle, profile, failure);
            }
        }
    }

    fn failure_of(&self, queued: &mut QueuedPodInfo, error: ScheduleError) -> Failure {
        match error {
            ScheduleError::Unschedulable {
                error,
                nominated_node_name,
                victims,
            } => {
                SchedulerStats::add(&self.stats.unschedulable, 1);
                queued.unschedulable_plugins = error.diagnosis.unschedulable_plugins.clone();
                Failure {
                    reason: "Unschedulable",
                    message: error.to_string(),
                    nominated_node_name,
                    victims,
                }
            }
            ScheduleError::NoNodesAvailable => {
                SchedulerStats::add(&self.stats.unschedulable, 1);
                queued.unschedulable_plugins.clear();
                let message =
                    "0/0 nodes are available: no nodes available to schedule pods.".to_owned();
                Failure {
                    reason: "Unschedulable",
                    message,
                    nominated_node_name: None,
                    victims: Vec::new(),
                }
            }
            error @ ScheduleError::Plugin { .. } => {
                SchedulerStats::add(&self.stats.errors, 1);
                queued.unschedulable_plugins.clear();
                Failure::error(error.to_string())
            }
        }
    }

    /// Assume → Reserve → Permit → binding task.
    fn assume_and_bind(&mut self, mut binding: PendingBinding) {
        let pod = Arc::clone(&binding.queued.pod);
        let profile = &self.profiles[binding.profile];
        self.cluster.assume(&pod, &binding.node);
        let reserved = profile.run_reserve(&mut binding.state, &pod, &binding.node);
        let status = if reserved.is_success() {
            let (permit, _timeout) = profile.run_permit(&binding.state, &pod, &binding.node);
            match permit.code() {
                Code::Wait => {
                    crate::framework::Status::error("waiting Permit plugins are not supported")
                }
                _ => permit,
            }
        } else {
            reserved
        };
        if !status.is_success() {
            return self.fail_binding(binding, Failure::error(status.message()));
        }
        let bound_by_plugin = profile.run_bind(&binding.state, &pod, &binding.node);
        if bound_by_plugin.is_skip() {
            let key = pod.key().to_owned();
            self.binder
                .bind(key.clone(), PodRef::of(pod.pod()), binding.node.clone());
            self.bindings.insert(key, binding);
            return;
        }
        let outcome = if bound_by_plugin.is_success() {
            Ok(())
        } else {
            Err(bound_by_plugin.message())
        };
        self.finish(binding, outcome);
    }

    /// A binding task reported.
    pub(super) fn finish_binding(&mut self, outcome: BindOutcome) {
        let Some(binding) = self.bindings.remove(&outcome.key) else {
            return;
        };
        self.finish(
            binding,
            outcome.result.map_err(|e| format!("binding rejected: {e}")),
        );
    }

    fn finish(&mut self, binding: PendingBinding, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => {
                SchedulerStats::add(&self.stats.bound, 1);
                let key = binding.queued.pod.key();
                self.queue.done(key);
                self.reported.remove(key);
                self.recorder.record(Report::Scheduled {
                    pod: PodRef::of(binding.queued.pod.pod()),
                    node: binding.node,
                    component: self.profiles[binding.profile].scheduler_name().to_owned(),
                });
            }
            Err(message) => {
                SchedulerStats::add(&self.stats.bind_failures, 1);
                self.fail_binding(binding, Failure::error(message));
            }
        }
    }

    /// Unreserve, forget the assumption, and retry after backoff.
    fn fail_binding(&mut self, mut binding: PendingBinding, failure: Failure) {
        let pod = Arc::clone(&binding.queued.pod);
        self.profiles[binding.profile].run_unreserve(&mut binding.state, &pod, &binding.node);
        if !self.cluster.forget(&pod) {
            self.queue.done(pod.key());
            return;
        }
        let freed = ClusterEvent::new(EventResource::AssignedPod, ActionType::DELETE);
        self.queue.move_all_to_active_or_backoff(&freed);
        binding.queued.unschedulable_plugins.clear();
        self.requeue(binding.queued, binding.cycle, binding.profile, failure);
    }

    fn requeue(&mut self, queued: QueuedPodInfo, cycle: u64, profile: usize, failure: Failure) {
        let pod = Arc::clone(&queued.pod);
        tracing::debug!(pod = %pod.key(), reason = failure.reason, message = %failure.message, "scheduling failed");
        if !self.queue.add_unschedulable_if_not_present(queued, cycle) {
            return;
        }
        if let Some(node) = failure.nominated_node_name.as_ref() {
            SchedulerStats::add(&self.stats.preemption_attempts, 1);
            SchedulerStats::add(&self.stats.preemption_victims, failure.victims.len() as u64);
            for victim in &failure.victims {
                tracing::info!(pod = %pod.key(), victim = %victim.key(), node = %node, "preempting");
                self.recorder.record(Report::Preempted {
                    victim: PodRef::of(victim.pod()),
                    preemptor_uid: pod.pod().metadata.uid.clone().unwrap_or_default(),
                    node: node.clone(),
                    component: self.profiles[profile].scheduler_name().to_owned(),
                });
            }
        }
        let condition = self.reported.get(pod.key()) != Some(&failure.message)
            && !has_condition(&pod, failure.reason, &failure.message);
        if condition {
            if self.reported.len() >= REPORTED_LIMIT {
                self.reported.clear();
            }
            self.reported
                .insert(pod.key().to_owned(), failure.message.clone());
        }
        self.recorder.record(Report::Failed {
            pod: PodRef::of(pod.pod()),
            reason: failure.reason,
            message: failure.message,
            component: self.profiles[profile].scheduler_name().to_owned(),
            condition,
            nominated_node_name: failure.nominated_node_name,
        });
    }
}

/// True when the pod already carries this PodScheduled=False condition.
fn has_condition(pod: &PodInfo, reason: &str, message: &str) -> bool {
    let conditions = pod
        .pod()
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref());
    conditions.into_iter().flatten().any(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some(reason)
            && c.message.as_deref() == Some(message)
    })
}
