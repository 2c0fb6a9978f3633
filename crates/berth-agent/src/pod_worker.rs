//! One worker per pod UID, serialising everything done to that pod
//! (upstream's `pod_workers.go`). The worker is an explicit state machine:
//!
//! ```text
//! Syncing ──(deletionTimestamp, removed, or terminal phase)──▶ Terminating
//! Terminating ──(containers stopped with the grace period, sandbox stopped)──▶ Terminated
//! Terminated ──(pod being deleted: DELETE with gracePeriodSeconds=0)──▶ Finished
//! Terminated ──(terminal pod later deleted)──▶ Terminating (nothing left to stop) ──▶ …
//! ```
//!
//! Each `step` reconciles the runtime toward the spec once and says when to
//! step again; the run loop also steps when the pod changes in the API, when
//! a container changes state (PLEG) or when a probe result flips.

mod containers;
mod env;
mod pull;
pub(crate) mod record;
mod sandbox;
mod spec;
mod terminate;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod, PodStatus};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use env::NodeAllocatable;
pub use spec::{LABEL_CONTAINER_NAME, LABEL_NODE, LABEL_POD_UID};

use crate::backoff::Backoff;
use crate::clock::Clock;
use crate::cri::{Runtime, api};
use crate::network::PodNetwork;
use crate::pod_api::PodApi;
use crate::status::{ContainerView, PodView, pod_status};
use crate::status_manager::StatusManager;
use record::ContainerRecord;

/// What every worker of a node shares.
pub struct WorkerContext {
    pub node_name: String,
    pub runtime: Arc<dyn Runtime>,
    pub api: Arc<dyn PodApi>,
    pub status: Arc<StatusManager>,
    pub clock: Arc<dyn Clock>,
    /// Prefix of container IDs in status (`containerd://…`).
    pub runtime_name: String,
    pub host_ip: String,
    pub pod_log_dir: PathBuf,
    pub node: NodeAllocatable,
    /// Pod network mode, readiness gate and DNS settings.
    pub network: Arc<PodNetwork>,
}

/// The lifecycle of a pod on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerState {
    /// The sandbox and containers are reconciled toward the spec.
    Syncing,
    /// Containers are being stopped; `delete` when the API object goes too.
    Terminating { delete: bool },
    /// Everything is stopped; the status is final.
    Terminated { delete: bool },
    /// The pod is gone; the worker exits.
    Finished,
}

/// When the run loop should step again (besides pod updates and wake-ups).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    At(Instant),
    Idle,
    Finished,
}

/// A change to the pod from the API.
#[derive(Debug, Clone)]
pub enum PodEvent {
    Updated(Box<Pod>),
    /// The pod no longer exists in the API.
    Removed,
}

pub(crate) struct Sandbox {
    pub id: String,
    pub config: api::PodSandboxConfig,
    pub ip: String,
}

pub struct PodWorker {
    ctx: Arc<WorkerContext>,
    pod: Pod,
    /// The API object is gone: nothing more is written to it.
    removed: bool,
    state: WorkerState,
    sandbox: Option<Sandbox>,
    adopted: bool,
    init: Vec<ContainerRecord>,
    app: Vec<ContainerRecord>,
    backoff: Backoff,
    pull_backoff: Backoff,
    /// When each container's last image pull failed.
    pull_failed: HashMap<String, Instant>,
    start_time: Option<jiff::Timestamp>,
    final_phase: Option<&'static str>,
    wake: Arc<Notify>,
    /// Earliest moment a step asked to be re-run at (collected during a step).
    deadline: Option<Instant>,
}

impl PodWorker {
    pub fn new(ctx: Arc<WorkerContext>, pod: Pod, wake: Arc<Notify>) -> Self {
        let spec = pod.spec.clone().unwrap_or_default();
        let records = |cs: &[Container]| cs.iter().map(|c| ContainerRecord::new(&c.name)).collect();
        Self {
            init: records(spec.init_containers.as_deref().unwrap_or_default()),
            app: records(&spec.containers),
            ctx,
            pod,
            removed: false,
            state: WorkerState::Syncing,
            sandbox: None,
            adopted: false,
            backoff: Backoff::default(),
            pull_backoff: Backoff::default(),
            pull_failed: HashMap::new(),
            start_time: None,
            final_phase: None,
            wake,
            deadline: None,
        }
    }

    pub fn state(&self) -> WorkerState {
        self.state
    }

    pub fn uid(&self) -> String {
        self.pod.metadata.uid.clone().unwrap_or_default()
    }

    pub fn apply(&mut self, event: PodEvent) {
        match event {
            PodEvent::Updated(pod) => self.pod = *pod,
            PodEvent::Removed => self.removed = true,
        }
    }

    fn deleting(&self) -> bool {
        self.removed || self.pod.metadata.deletion_timestamp.is_some()
    }

    /// Asks for another step no later than `at`.
    fn requeue_at(&mut self, at: Instant) {
        self.deadline = Some(self.deadline.map_or(at, |d| d.min(at)));
    }

    /// One reconciliation; returns when to step again.
    pub async fn step(&mut self) -> Next {
        self.deadline = None;
        let now = self.ctx.clock.now();
        match self.state {
            WorkerState::Syncing if self.deleting() => {
                self.state = WorkerState::Terminating { delete: true };
                self.requeue_at(now);
            }
            WorkerState::Syncing => self.sync().await,
            WorkerState::Terminating { delete } => {
                if self.terminate(delete).await {
                    self.state = WorkerState::Terminated { delete };
                }
                self.requeue_at(now);
            }
            WorkerState::Terminated { delete: false } if self.deleting() => {
                self.state = WorkerState::Terminating { delete: true };
                self.requeue_at(now);
            }
            WorkerState::Terminated { delete: false } => {}
            WorkerState::Terminated { delete: true } => {
                if self.finish_deletion().await {
                    self.state = WorkerState::Finished;
                } else {
                    self.requeue_at(now + Duration::from_secs(1));
                }
            }
            WorkerState::Finished => return Next::Finished,
        }
        if self.state != WorkerState::Finished {
            self.publish_status();
        }
        match (self.state, self.deadline) {
            (WorkerState::Finished, _) => Next::Finished,
            (_, Some(at)) => Next::At(at),
            (_, None) => Next::Idle,
        }
    }

    fn container_views(&self) -> (Vec<ContainerView<'_>>, Vec<ContainerView<'_>>) {
        let spec = self.pod.spec.as_ref();
        let init = spec
            .and_then(|s| s.init_containers.as_deref())
            .unwrap_or_default();
        let app = spec.map(|s| s.containers.as_slice()).unwrap_or_default();
        (views(init, &self.init), views(app, &self.app))
    }

    /// The status this worker would write now.
    pub fn status(&self) -> PodStatus {
        let (init, app) = self.container_views();
        let view = PodView {
            pod: &self.pod,
            init,
            app,
            sandbox_ready: self.sandbox.is_some(),
            pod_ip: self.sandbox.as_ref().map(|s| s.ip.as_str()),
            host_ip: &self.ctx.host_ip,
            start_time: self.start_time,
            runtime_name: &self.ctx.runtime_name,
            terminal_phase: self.final_phase,
            now: self.ctx.clock.wall(),
        };
        let previous = self
            .ctx
            .status
            .latest(&self.uid())
            .or_else(|| self.pod.status.clone());
        pod_status(&view, previous.as_ref())
    }

    fn publish_status(&mut self) {
        if self.removed {
            return;
        }
        if self.start_time.is_none() {
            let from_api = self.pod.status.as_ref().and_then(|s| s.start_time.clone());
            self.start_time = Some(from_api.map_or_else(|| self.ctx.clock.wall(), |t| t.0));
        }
        let status = self.status();
        let m = &self.pod.metadata;
        let (ns, name) = (
            m.namespace.as_deref().unwrap_or("default"),
            m.name.as_deref().unwrap_or_default(),
        );
        self.ctx.status.set(&self.uid(), ns, name, status);
    }

    /// Steps until the pod is finished or `cancel` fires (agent shutdown:
    /// containers are left running for the next agent to adopt).
    pub async fn run(
        mut self,
        mut events: mpsc::UnboundedReceiver<PodEvent>,
        cancel: CancellationToken,
    ) {
        let wake = self.wake.clone();
        loop {
            let next = self.step().await;
            let deadline = match next {
                Next::Finished => break,
                Next::At(at) => at,
                Next::Idle => self.ctx.clock.now() + Duration::from_secs(60),
            };
            tokio::select! {
                _ = cancel.cancelled() => return,
                event = events.recv() => self.apply(event.unwrap_or(PodEvent::Removed)),
                _ = wake.notified() => {}
                _ = tokio::time::sleep_until(deadline) => {}
            }
            while let Ok(event) = events.try_recv() {
                self.apply(event);
            }
        }
        self.ctx.status.forget(&self.uid());
        tracing::debug!(uid = self.uid(), "pod worker finished");
    }
}

fn views<'a>(specs: &'a [Container], records: &'a [ContainerRecord]) -> Vec<ContainerView<'a>> {
    specs
        .iter()
        .zip(records)
        .map(|(spec, record)| ContainerView {
            spec,
            record,
            probes: *record.probes.lock(),
        })
        .collect()
}

#[cfg(test)]
mod network_tests;
#[cfg(test)]
mod tests;
