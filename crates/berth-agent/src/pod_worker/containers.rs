//! The Syncing state: sandbox, then init containers in order, then app
//! containers, each restarted per the pod's restart policy with backoff.

use std::time::Duration;

use k8s_openapi::api::core::v1::Container;

use super::env::{EnvContext, container_env};
use super::record::{ContainerRecord, Observed, Waiting};
use super::spec::{self, ContainerInputs, LABEL_CONTAINER_NAME, LABEL_NODE, LABEL_POD_UID};
use super::{PodWorker, Sandbox, WorkerState};
use crate::cri::api;
use crate::probe::{self, ProbeResult, ProbeTarget, Prober};

/// How soon a failed sandbox creation or config error is retried.
pub(super) const RETRY: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub(super) enum Which {
    Init(usize),
    App(usize),
}

impl PodWorker {
    fn record(&mut self, which: Which) -> &mut ContainerRecord {
        match which {
            Which::Init(i) => &mut self.init[i],
            Which::App(i) => &mut self.app[i],
        }
    }

    fn container_spec(&self, which: Which) -> Container {
        let spec = self.pod.spec.clone().unwrap_or_default();
        match which {
            Which::Init(i) => spec.init_containers.unwrap_or_default().swap_remove(i),
            Which::App(i) => spec.containers.get(i).cloned().unwrap_or_default(),
        }
    }

    fn restart_policy(&self) -> String {
        let spec = self.pod.spec.as_ref();
        spec.and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".into())
    }

    pub(super) fn grace_period(&self) -> Duration {
        let from_delete = self.pod.metadata.deletion_grace_period_seconds;
        let from_spec = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds);
        crate::clock::secs(from_delete.or(from_spec).unwrap_or(30))
    }

    pub(super) async fn sync(&mut self) {
        if !self.ensure_sandbox().await {
            return;
        }
        self.refresh().await;
        if !self.sync_init_containers().await {
            return;
        }
        self.sync_app_containers().await;
    }

    /// Takes over what a previous agent left running for this pod: the
    /// newest ready sandbox and, per container name, the two newest attempts.
    pub(super) async fn adopt(&mut self) {
        let uid = self.uid();
        let node = self.ctx.node_name.clone();
        let mine = |labels: &std::collections::HashMap<String, String>| {
            labels.get(LABEL_POD_UID) == Some(&uid) && labels.get(LABEL_NODE) == Some(&node)
        };
        let Ok(sandboxes) = self.ctx.runtime.list_pod_sandboxes().await else {
            return;
        };
        let ready = api::PodSandboxState::SandboxReady as i32;
        let Some(sb) = sandboxes
            .iter()
            .filter(|s| mine(&s.labels) && s.state == ready)
            .max_by_key(|s| s.created_at)
        else {
            return;
        };
        let config = self.sandbox_config();
        let ip = self.sandbox_ip(&sb.id).await;
        self.sandbox = Some(Sandbox {
            id: sb.id.clone(),
            config,
            ip,
        });
        let Ok(containers) = self.ctx.runtime.list_containers().await else {
            return;
        };
        for record in self.init.iter_mut().chain(self.app.iter_mut()) {
            let mut attempts: Vec<&api::Container> = containers
                .iter()
                .filter(|c| {
                    c.pod_sandbox_id == sb.id
                        && c.labels.get(LABEL_CONTAINER_NAME) == Some(&record.name)
                })
                .collect();
            attempts.sort_by_key(|c| c.metadata.as_ref().map_or(0, |m| m.attempt));
            let status = |c: Option<&&api::Container>| {
                c.map(|c| api::ContainerStatus {
                    id: c.id.clone(),
                    ..Default::default()
                })
            };
            record.current = status(attempts.last());
            record.last = status(attempts.len().checked_sub(2).and_then(|i| attempts.get(i)));
            record.restart_count = attempts
                .last()
                .and_then(|c| c.metadata.as_ref())
                .map_or(0, |m| m.attempt);
        }
        tracing::info!(pod = ?self.pod.metadata.name, sandbox = sb.id, "adopted running pod");
    }

    /// Reads the runtime status of every container attempt the worker knows.
    async fn refresh(&mut self) {
        let now = self.ctx.clock.now();
        let runtime = self.ctx.runtime.clone();
        for i in 0..self.init.len() + self.app.len() {
            let which = if i < self.init.len() {
                Which::Init(i)
            } else {
                Which::App(i - self.init.len())
            };
            let record = self.record(which);
            for slot in [&mut record.current, &mut record.last] {
                if let Some(cur) = slot.as_ref() {
                    match runtime.container_status(&cur.id).await {
                        Ok(s) => *slot = Some(s),
                        Err(e) if e.is_not_found() => *slot = None,
                        Err(e) => tracing::warn!(error = %e, "reading container status"),
                    }
                }
            }
            match record.observed() {
                Observed::Exited(_) => {
                    record.exited_seen.get_or_insert(now);
                    record.probe_tasks = None;
                }
                Observed::Running => {}
                _ => record.probe_tasks = None,
            }
            if matches!(which, Which::App(_)) {
                self.ensure_probes(which);
            }
        }
    }

    fn ensure_probes(&mut self, which: Which) {
        let c = self.container_spec(which);
        let has_probes =
            c.liveness_probe.is_some() || c.readiness_probe.is_some() || c.startup_probe.is_some();
        let pod_ip = self
            .sandbox
            .as_ref()
            .map(|s| s.ip.clone())
            .unwrap_or_default();
        let prober = Prober {
            runtime: self.ctx.runtime.clone(),
        };
        let wake = self.wake.clone();
        let record = self.record(which);
        if !has_probes || record.observed() != Observed::Running || record.probe_tasks.is_some() {
            return;
        }
        let container_id = record.id().unwrap_or_default().to_string();
        let target = ProbeTarget {
            prober,
            container: c,
            container_id,
            pod_ip,
            results: record.probes.clone(),
            wake,
        };
        record.probe_tasks = Some(probe::start(target));
    }

    /// Runs init containers one at a time; true when all have succeeded.
    async fn sync_init_containers(&mut self) -> bool {
        let never = self.restart_policy() == "Never";
        for i in 0..self.init.len() {
            match self.init[i].observed() {
                Observed::Exited(0) => continue,
                Observed::Running => return false,
                Observed::Exited(_) if never => {
                    self.final_phase = Some("Failed");
                    self.state = WorkerState::Terminating { delete: false };
                    let now = self.ctx.clock.now();
                    self.requeue_at(now);
                    return false;
                }
                Observed::Exited(_) | Observed::Created => self.restart(Which::Init(i)).await,
                Observed::None => self.start(Which::Init(i)).await,
            }
            return false;
        }
        true
    }

    async fn sync_app_containers(&mut self) {
        let policy = self.restart_policy();
        let mut finished = 0;
        for i in 0..self.app.len() {
            match self.app[i].observed() {
                Observed::Running => self.check_liveness(i).await,
                Observed::Created => self.restart(Which::App(i)).await,
                Observed::None => self.start(Which::App(i)).await,
                Observed::Exited(code) => {
                    let restart = match policy.as_str() {
                        "Never" => false,
                        "OnFailure" => code != 0,
                        _ => true,
                    };
                    if restart {
                        self.restart(Which::App(i)).await;
                    } else {
                        finished += 1;
                    }
                }
            }
        }
        if finished == self.app.len() && !self.app.is_empty() {
            let all_ok = self.app.iter().all(ContainerRecord::succeeded);
            self.final_phase = Some(if all_ok { "Succeeded" } else { "Failed" });
            self.state = WorkerState::Terminating { delete: false };
            let now = self.ctx.clock.now();
            self.requeue_at(now);
        }
    }

    /// A container whose liveness probe failed is killed; the next step
    /// restarts it per the restart policy.
    async fn check_liveness(&mut self, i: usize) {
        if self.app[i].probes.lock().liveness != ProbeResult::Failure {
            return;
        }
        let grace = self.grace_period();
        let Some(id) = self.app[i].id().map(String::from) else {
            return;
        };
        tracing::info!(
            container = self.app[i].name,
            "container failed liveness probe, will be restarted"
        );
        self.app[i].probe_tasks = None;
        if let Err(e) = self.ctx.runtime.stop_container(&id, grace).await {
            tracing::warn!(error = %e, "killing container after liveness failure");
        }
        let now = self.ctx.clock.now();
        self.requeue_at(now);
    }

    /// Restarts an exited container, unless it is still in back-off.
    async fn restart(&mut self, which: Which) {
        let now = self.ctx.clock.now();
        let pod = format!(
            "{}_{}({})",
            self.pod.metadata.name.as_deref().unwrap_or_default(),
            self.pod.metadata.namespace.as_deref().unwrap_or_default(),
            self.uid()
        );
        let record = self.record(which);
        let key = record.name.clone();
        let seen = *record.exited_seen.get_or_insert(now);
        if let Some(until) = self.backoff.in_backoff_since(&key, seen, now) {
            let secs = self.backoff.current(&key).as_secs();
            let message = format!("back-off {secs}s restarting failed container={key} pod={pod}");
            self.record(which).waiting = Some(Waiting::new("CrashLoopBackOff", message));
            self.requeue_at(until);
            return;
        }
        self.backoff.next(&key, now);
        self.start(which).await;
    }

    /// Pulls the image if the policy says so, then creates and starts a new
    /// attempt. Failures become the container's waiting reason.
    pub(super) async fn start(&mut self, which: Which) {
        let c = self.container_spec(which);
        let now = self.ctx.clock.now();
        let image_ref = match self.ensure_image(&c).await {
            Ok(r) => r,
            Err(w) => {
                let retry = self.pull_backoff.current(&c.name);
                self.record(which).waiting = Some(w);
                self.requeue_at(now + retry);
                return;
            }
        };
        let sandbox_ip = self
            .sandbox
            .as_ref()
            .map(|s| s.ip.clone())
            .unwrap_or_default();
        let env_ctx = EnvContext {
            api: self.ctx.api.as_ref(),
            pod: &self.pod,
            pod_ip: &sandbox_ip,
            host_ip: &self.ctx.host_ip,
            node: self.ctx.node,
        };
        let env = match container_env(&env_ctx, &c).await {
            Ok(env) => env,
            Err(message) => {
                self.record(which).waiting =
                    Some(Waiting::new("CreateContainerConfigError", message));
                self.requeue_at(now + RETRY);
                return;
            }
        };
        let record = self.record(which);
        let attempt = if record.current.is_some() {
            record.restart_count + 1
        } else {
            record.restart_count
        };
        let inputs = ContainerInputs {
            pod: &self.pod,
            node: &self.ctx.node_name,
            attempt,
            image_ref: &image_ref,
            env,
            node_network: self.node_network(),
        };
        let config = spec::container_config(&c, &inputs);
        match self.create_and_start(&config).await {
            Ok(status) => {
                let record = self.record(which);
                if let Some(old) = record.last.take() {
                    let _ = self.ctx.runtime.remove_container(&old.id).await;
                }
                let record = self.record(which);
                record.last = record.current.take();
                record.current = Some(status);
                record.restart_count = attempt;
                record.waiting = None;
                record.exited_seen = None;
                record.probe_tasks = None;
                if matches!(which, Which::App(_)) {
                    self.ensure_probes(which);
                }
            }
            Err(w) => {
                self.record(which).waiting = Some(w);
                self.requeue_at(now + RETRY);
            }
        }
    }

    async fn create_and_start(
        &self,
        config: &api::ContainerConfig,
    ) -> Result<api::ContainerStatus, Waiting> {
        let Some(sandbox) = &self.sandbox else {
            return Err(Waiting::new("ContainerCreating", ""));
        };
        let rt = &self.ctx.runtime;
        let id = rt
            .create_container(&sandbox.id, config, &sandbox.config)
            .await
            .map_err(|e| Waiting::new("CreateContainerError", e.to_string()))?;
        if let Err(e) = rt.start_container(&id).await {
            let _ = rt.remove_container(&id).await;
            return Err(Waiting::new("RunContainerError", e.to_string()));
        }
        rt.container_status(&id)
            .await
            .map_err(|e| Waiting::new("RunContainerError", e.to_string()))
    }
}
