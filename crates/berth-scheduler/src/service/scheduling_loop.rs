//! The scheduling loop: one task owning the snapshot and the queue.
//!
//! States and transitions:
//! ```text
//! Syncing ──every kind listed──▶ Running ──stop──▶ Draining ──bindings done
//!    │                             │  │                        or deadline──▶ Stopped
//!    └──stop──▶ Draining           │  └─watchers gone──▶ Stopped(error)
//!                                  └─ pop → cycle → (assume, bind task) → Running
//! ```
//! While Running, each step first applies every watch update and binding
//! outcome already received (so a cycle sees the freshest snapshot), flushes
//! due queue timers, then schedules one pod, or sleeps until something
//! arrives when the queue has nothing active.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::ServiceError;
use super::binder::{BindOutcome, Binder};
use super::cluster::{ClusterState, Queue};
use super::cycle::PendingBinding;
use super::informer::{self, Informers, Update};
use super::recorder::{self, Recorder};
use super::stats::SchedulerStats;
use crate::framework::{Profile, Scheduler};
use crate::queue::{QueueConfig, SchedulingQueue, SystemClock};

/// Upstream flushes backoffQ every second ...
const BACKOFF_FLUSH: Duration = Duration::from_secs(1);
/// ... and the unschedulable pool every 30 seconds.
const LEFTOVER_FLUSH: Duration = Duration::from_secs(30);
/// How long a stopping loop waits for bindings in flight.
const DRAIN_DEADLINE: Duration = Duration::from_secs(5);
/// Watch updates buffered between the watchers and the loop.
const UPDATE_BUFFER: usize = 8192;
/// How long a stopping loop lets the recorder write what it holds.
const RECORDER_DRAIN: Duration = Duration::from_secs(2);
/// Cycles run back to back before the loop yields to other tasks.
const CYCLES_PER_YIELD: u32 = 32;

/// What [`SchedulingLoop::start`] needs.
pub(super) struct LoopParams {
    pub client: Client,
    pub profiles: Vec<Profile>,
    pub identity: String,
    pub bind_concurrency: usize,
    pub event_buffer: usize,
    pub stats: Arc<SchedulerStats>,
}

/// Where the loop is (see the module documentation).
enum State {
    Syncing,
    Running,
    Draining { deadline: Instant },
    Stopped(Result<(), ServiceError>),
}

/// The loop's state. Invariant: a key is in `bindings` exactly while its
/// pod is assumed in `cluster` and its binding task has not reported.
pub(super) struct SchedulingLoop {
    pub(super) profiles: Vec<Profile>,
    pub(super) algorithm: Scheduler,
    pub(super) queue: Queue,
    pub(super) cluster: ClusterState,
    pub(super) binder: Binder,
    pub(super) recorder: Recorder,
    pub(super) bindings: HashMap<String, PendingBinding>,
    /// The PodScheduled=False message last reported per pod, to skip
    /// rewriting an unchanged condition.
    pub(super) reported: HashMap<String, String>,
    pub(super) stats: Arc<SchedulerStats>,
    updates: mpsc::Receiver<Update>,
    outcomes: mpsc::UnboundedReceiver<BindOutcome>,
    _informers: Informers,
    recorder_task: JoinHandle<()>,
    next_backoff_flush: Instant,
    next_leftover_flush: Instant,
    cycles_since_yield: u32,
}

impl SchedulingLoop {
    /// Starts the watchers and the event recorder.
    pub fn start(params: LoopParams) -> Self {
        let (update_tx, updates) = mpsc::channel(UPDATE_BUFFER);
        let (outcome_tx, outcomes) = mpsc::unbounded_channel();
        let registrations = params
            .profiles
            .iter()
            .flat_map(|p| p.events_to_register())
            .collect();
        let names = params
            .profiles
            .iter()
            .map(|p| p.scheduler_name().to_owned())
            .collect();
        let (recorder, recorder_task) =
            recorder::start(params.client.clone(), params.identity, params.event_buffer);
        let now = Instant::now();
        Self {
            profiles: params.profiles,
            algorithm: Scheduler::default(),
            queue: SchedulingQueue::new(SystemClock, QueueConfig::default(), registrations),
            cluster: ClusterState::new(names),
            binder: Binder::new(params.client.clone(), params.bind_concurrency, outcome_tx),
            recorder,
            bindings: HashMap::new(),
            reported: HashMap::new(),
            stats: params.stats,
            updates,
            outcomes,
            _informers: informer::start(&params.client, update_tx),
            recorder_task,
            next_backoff_flush: now + BACKOFF_FLUSH,
            next_leftover_flush: now + LEFTOVER_FLUSH,
            cycles_since_yield: 0,
        }
    }

    /// Runs until `stop` turns true (then drains) or the watchers die.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> Result<(), ServiceError> {
        let mut state = State::Syncing;
        loop {
            state = match state {
                State::Stopped(result) => {
                    self.stop_recorder().await;
                    return result;
                }
                State::Syncing => self.sync_step(&mut stop).await,
                State::Running => self.run_step(&mut stop).await,
                State::Draining { deadline } => self.drain_step(deadline).await,
            };
        }
    }

    /// Lets the recorder write what it holds (bounded), then stops it.
    async fn stop_recorder(self) {
        let Self {
            recorder,
            mut recorder_task,
            ..
        } = self;
        drop(recorder);
        if tokio::time::timeout(RECORDER_DRAIN, &mut recorder_task)
            .await
            .is_err()
        {
            tracing::warn!("event recorder did not drain in time; dropping its reports");
            recorder_task.abort();
        }
    }

    fn draining() -> State {
        State::Draining {
            deadline: Instant::now() + DRAIN_DEADLINE,
        }
    }

    async fn sync_step(&mut self, stop: &mut watch::Receiver<bool>) -> State {
        tokio::select! {
            _ = stop.changed() => Self::draining(),
            update = self.updates.recv() => match update {
                None => State::Stopped(Err(ServiceError::WatchersStopped)),
                Some(update) => {
                    self.cluster.apply(update, &mut self.queue);
                    if self.cluster.is_synced() {
                        tracing::info!(nodes = self.cluster.snapshot.len(), "caches synced; scheduling");
                        self.stats.caches_synced.store(true, std::sync::atomic::Ordering::Relaxed);
                        State::Running
                    } else {
                        State::Syncing
                    }
                }
            },
        }
    }

    async fn run_step(&mut self, stop: &mut watch::Receiver<bool>) -> State {
        if *stop.borrow() {
            return Self::draining();
        }
        if !self.drain_inputs() {
            return State::Stopped(Err(ServiceError::WatchersStopped));
        }
        self.flush_queue_if_due();
        self.cluster.refresh_workloads();
        if let Some(queued) = self.queue.pop() {
            self.schedule_one(queued);
            self.cycles_since_yield += 1;
            if self.cycles_since_yield >= CYCLES_PER_YIELD {
                self.cycles_since_yield = 0;
                tokio::task::yield_now().await;
            }
            return State::Running;
        }
        tokio::select! {
            _ = stop.changed() => return Self::draining(),
            update = self.updates.recv() => match update {
                Some(update) => self.cluster.apply(update, &mut self.queue),
                None => return State::Stopped(Err(ServiceError::WatchersStopped)),
            },
            Some(outcome) = self.outcomes.recv() => self.finish_binding(outcome),
            () = tokio::time::sleep_until(self.next_backoff_flush) => {}
        }
        State::Running
    }

    async fn drain_step(&mut self, deadline: Instant) -> State {
        if self.bindings.is_empty() {
            return State::Stopped(Ok(()));
        }
        match tokio::time::timeout_at(deadline, self.outcomes.recv()).await {
            Ok(Some(outcome)) => {
                self.finish_binding(outcome);
                State::Draining { deadline }
            }
            Ok(None) | Err(_) => {
                tracing::warn!(
                    in_flight = self.bindings.len(),
                    "stopped with bindings in flight"
                );
                State::Stopped(Ok(()))
            }
        }
    }

    /// Applies everything already received; false when the watchers are gone.
    fn drain_inputs(&mut self) -> bool {
        loop {
            match self.updates.try_recv() {
                Ok(update) => self.cluster.apply(update, &mut self.queue),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return false,
            }
        }
        while let Ok(outcome) = self.outcomes.try_recv() {
            self.finish_binding(outcome);
        }
        true
    }

    fn flush_queue_if_due(&mut self) {
        let now = Instant::now();
        if now >= self.next_backoff_flush {
            self.queue.flush_backoff_completed();
            self.next_backoff_flush = now + BACKOFF_FLUSH;
        }
        if now >= self.next_leftover_flush {
            self.queue.flush_unschedulable_leftover();
            self.next_leftover_flush = now + LEFTOVER_FLUSH;
        }
    }
}
