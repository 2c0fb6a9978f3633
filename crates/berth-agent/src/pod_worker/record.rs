//! What a pod worker knows about one container of its pod.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::cri::api;
use crate::probe::{ContainerProbes, ProbeTasks};

/// Why a container is not running, when the worker knows better than the
/// runtime (`CrashLoopBackOff`, `ErrImagePull`, `CreateContainerConfigError`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub reason: String,
    pub message: String,
}

impl Waiting {
    pub fn new(reason: &str, message: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// The runtime state of a container attempt, simplified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// No attempt created yet.
    None,
    Created,
    Running,
    Exited(i32),
}

/// Invariants: `current` is the newest attempt (restart count
/// `restart_count`), `last` the one before it; `probe_tasks` run only while
/// `current` is running.
#[derive(Default)]
pub struct ContainerRecord {
    pub name: String,
    pub current: Option<api::ContainerStatus>,
    pub last: Option<api::ContainerStatus>,
    pub restart_count: u32,
    pub waiting: Option<Waiting>,
    /// When the worker first saw `current` exited (starts the backoff).
    pub exited_seen: Option<Instant>,
    pub probes: Arc<Mutex<ContainerProbes>>,
    pub probe_tasks: Option<ProbeTasks>,
}

impl ContainerRecord {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    pub fn observed(&self) -> Observed {
        let Some(c) = &self.current else {
            return Observed::None;
        };
        match api::ContainerState::try_from(c.state) {
            Ok(api::ContainerState::ContainerCreated) => Observed::Created,
            Ok(api::ContainerState::ContainerRunning) => Observed::Running,
            _ => Observed::Exited(c.exit_code),
        }
    }

    pub fn id(&self) -> Option<&str> {
        self.current.as_ref().map(|c| c.id.as_str())
    }

    pub fn succeeded(&self) -> bool {
        self.observed() == Observed::Exited(0)
    }
}
