//! Liveness, readiness and startup probes as upstream runs them: one task
//! per probe of a running container, first after `initialDelaySeconds`, then
//! every `periodSeconds`, each attempt bounded by `timeoutSeconds`; a result
//! flips only after `successThreshold`/`failureThreshold` consecutive
//! outcomes. Liveness and readiness wait for the startup probe to succeed.
//!
//! The pod worker reads the results ([`ContainerProbes`]) and acts: a
//! liveness failure restarts the container, readiness drives the Ready
//! condition, startup gates `started`.

mod net;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::cri::RuntimeService;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProbeResult {
    #[default]
    Unknown,
    Success,
    Failure,
}

/// A probe's timing and thresholds, with upstream's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeSettings {
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

impl ProbeSettings {
    pub fn of(p: &Probe) -> Self {
        let secs = |v: Option<i32>, default: u64| {
            Duration::from_secs(v.map_or(default, |s| u64::try_from(s).unwrap_or(0)))
        };
        let count = |v: Option<i32>, default: u32| {
            v.map_or(default, |s| u32::try_from(s).unwrap_or(1).max(1))
        };
        Self {
            initial_delay: secs(p.initial_delay_seconds, 0),
            period: secs(p.period_seconds, 10).max(Duration::from_secs(1)),
            timeout: secs(p.timeout_seconds, 1).max(Duration::from_secs(1)),
            success_threshold: count(p.success_threshold, 1),
            failure_threshold: count(p.failure_threshold, 3),
        }
    }
}

/// Consecutive outcomes of one probe. Invariant: `result` changes only when
/// a run of equal outcomes reaches its threshold.
#[derive(Debug, Clone)]
pub struct ProbeCounter {
    settings: ProbeSettings,
    result: ProbeResult,
    successes: u32,
    failures: u32,
}

impl ProbeCounter {
    pub fn new(settings: ProbeSettings, initial: ProbeResult) -> Self {
        Self {
            settings,
            result: initial,
            successes: 0,
            failures: 0,
        }
    }

    pub fn result(&self) -> ProbeResult {
        self.result
    }

    /// Records one outcome; true when the result changed.
    pub fn record(&mut self, ok: bool) -> bool {
        let before = self.result;
        if ok {
            self.failures = 0;
            self.successes += 1;
            if self.successes >= self.settings.success_threshold {
                self.result = ProbeResult::Success;
            }
        } else {
            self.successes = 0;
            self.failures += 1;
            if self.failures >= self.settings.failure_threshold {
                self.result = ProbeResult::Failure;
            }
        }
        before != self.result
    }
}

/// The current results of one container's probes (shared between its probe
/// tasks and the pod worker).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContainerProbes {
    pub liveness: ProbeResult,
    pub readiness: ProbeResult,
    pub startup: ProbeResult,
}

impl ContainerProbes {
    pub fn get(&self, kind: ProbeKind) -> ProbeResult {
        match kind {
            ProbeKind::Liveness => self.liveness,
            ProbeKind::Readiness => self.readiness,
            ProbeKind::Startup => self.startup,
        }
    }

    fn set(&mut self, kind: ProbeKind, r: ProbeResult) {
        match kind {
            ProbeKind::Liveness => self.liveness = r,
            ProbeKind::Readiness => self.readiness = r,
            ProbeKind::Startup => self.startup = r,
        }
    }
}

/// Runs one probe attempt against a container.
#[derive(Clone)]
pub struct Prober {
    pub runtime: Arc<dyn RuntimeService>,
}

impl Prober {
    /// True when the probe succeeded within its timeout.
    pub async fn run(&self, p: &Probe, c: &Container, container_id: &str, pod_ip: &str) -> bool {
        let timeout = ProbeSettings::of(p).timeout;
        if let Some(exec) = &p.exec {
            let cmd = exec.command.clone().unwrap_or_default();
            return match self.runtime.exec_sync(container_id, &cmd, timeout).await {
                Ok(r) => r.exit_code == 0,
                Err(e) => {
                    tracing::debug!(container_id, error = %e, "exec probe failed");
                    false
                }
            };
        }
        let attempt = async {
            if let Some(h) = &p.http_get {
                net::http_get(h, c, pod_ip).await
            } else if let Some(t) = &p.tcp_socket {
                net::tcp_socket(t, c, pod_ip).await
            } else {
                tracing::warn!(
                    container = c.name,
                    "probe handler not supported (grpc): failing"
                );
                false
            }
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .unwrap_or(false)
    }
}

/// The probe tasks of one running container; aborted when dropped.
#[derive(Default)]
pub struct ProbeTasks {
    handles: Vec<JoinHandle<()>>,
}

impl Drop for ProbeTasks {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

/// What a probe task needs; shared by a container's probe tasks.
#[derive(Clone)]
pub struct ProbeTarget {
    pub prober: Prober,
    pub container: Container,
    pub container_id: String,
    pub pod_ip: String,
    pub results: Arc<Mutex<ContainerProbes>>,
    /// Woken when a result changes (the pod worker waits on it).
    pub wake: Arc<Notify>,
}

/// Starts the container's probe tasks and sets the initial results:
/// liveness Success, readiness Failure, startup Unknown.
pub fn start(target: ProbeTarget) -> ProbeTasks {
    *target.results.lock() = ContainerProbes {
        liveness: ProbeResult::Success,
        readiness: ProbeResult::Failure,
        startup: ProbeResult::Unknown,
    };
    let c = &target.container;
    let has_startup = c.startup_probe.is_some();
    let probes = [
        (ProbeKind::Startup, c.startup_probe.clone()),
        (ProbeKind::Liveness, c.liveness_probe.clone()),
        (ProbeKind::Readiness, c.readiness_probe.clone()),
    ];
    let handles = probes
        .into_iter()
        .filter_map(|(kind, p)| Some((kind, p?)))
        .map(|(kind, p)| tokio::spawn(probe_loop(target.clone(), kind, p, has_startup)))
        .collect();
    ProbeTasks { handles }
}

async fn probe_loop(t: ProbeTarget, kind: ProbeKind, probe: Probe, has_startup: bool) {
    let settings = ProbeSettings::of(&probe);
    let initial = t.results.lock().get(kind);
    let mut counter = ProbeCounter::new(settings, initial);
    tokio::time::sleep(settings.initial_delay).await;
    loop {
        let started = t.results.lock().startup == ProbeResult::Success;
        if kind == ProbeKind::Startup && started {
            return;
        }
        if kind == ProbeKind::Startup || !has_startup || started {
            let ok = t
                .prober
                .run(&probe, &t.container, &t.container_id, &t.pod_ip)
                .await;
            if counter.record(ok) {
                tracing::debug!(container = t.container.name, ?kind, result = ?counter.result(), "probe result changed");
                t.results.lock().set(kind, counter.result());
                t.wake.notify_one();
            }
        }
        tokio::time::sleep(settings.period).await;
    }
}

#[cfg(test)]
mod tests;
