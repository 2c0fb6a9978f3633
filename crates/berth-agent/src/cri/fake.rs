//! A CRI runtime in memory that records every call and lets tests script
//! container exits, exec results and failures.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::time::Instant;

use super::{CriError, ImageService, RuntimeService, api};

/// One recorded call, with the object it was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeCall {
    RunPodSandbox(String),
    StopPodSandbox(String),
    RemovePodSandbox(String),
    PullImage(String),
    /// Container name and attempt.
    CreateContainer(String, u32),
    StartContainer(String),
    /// Container name and the grace period in seconds.
    StopContainer(String, u64),
    RemoveContainer(String),
    ExecSync(String, Vec<String>),
}

#[derive(Default)]
struct State {
    calls: Vec<FakeCall>,
    next_id: u64,
    sandboxes: BTreeMap<String, api::PodSandboxStatus>,
    containers: BTreeMap<String, api::ContainerStatus>,
    sandbox_of: HashMap<String, String>,
    images: BTreeSet<String>,
    failing_pulls: BTreeSet<String>,
    failing_ops: HashMap<&'static str, String>,
    exit_on_start: HashMap<String, i32>,
    exec_exit: HashMap<String, i32>,
}

/// The fake runtime. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct FakeRuntime {
    state: Arc<Mutex<State>>,
    epoch: Instant,
}

impl Default for FakeRuntime {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeRuntime {
    pub fn new() -> Self {
        Self {
            state: Arc::default(),
            epoch: Instant::now(),
        }
    }

    /// Nanoseconds since an arbitrary epoch, on tokio's (pausable) clock.
    fn now_ns(&self) -> i64 {
        let elapsed = Instant::now().duration_since(self.epoch).as_nanos();
        1_700_000_000_000_000_000 + i64::try_from(elapsed).unwrap_or(i64::MAX / 2)
    }

    pub fn calls(&self) -> Vec<FakeCall> {
        self.state.lock().calls.clone()
    }

    pub fn add_image(&self, image: &str) {
        self.state.lock().images.insert(image.to_string());
    }

    pub fn fail_pulls_of(&self, image: &str) {
        self.state.lock().failing_pulls.insert(image.to_string());
    }

    /// Every later call of CRI method `op` (e.g. "CreateContainer") fails.
    pub fn fail(&self, op: &'static str, message: &str) {
        self.state.lock().failing_ops.insert(op, message.into());
    }

    pub fn heal(&self, op: &'static str) {
        self.state.lock().failing_ops.remove(op);
    }

    /// Every start of container `name` exits at once with `code`.
    pub fn exit_on_start(&self, name: &str, code: i32) {
        self.state.lock().exit_on_start.insert(name.into(), code);
    }

    pub fn run_on_start(&self, name: &str) {
        self.state.lock().exit_on_start.remove(name);
    }

    /// Exec in container `name` exits with `code` (default 0).
    pub fn set_exec_exit(&self, name: &str, code: i32) {
        self.state.lock().exec_exit.insert(name.into(), code);
    }

    /// The running container `name` exits now with `code`.
    pub fn exit_container(&self, name: &str, code: i32) {
        let now = self.now_ns();
        let mut st = self.state.lock();
        for c in st.containers.values_mut() {
            if container_name(c) == name && c.state == api::ContainerState::ContainerRunning as i32
            {
                exit(c, code, now);
            }
        }
    }

    /// Ids of the containers (any state) named `name`, oldest first.
    pub fn container_ids(&self, name: &str) -> Vec<String> {
        let st = self.state.lock();
        let mut ids: Vec<_> = st
            .containers
            .values()
            .filter(|c| container_name(c) == name)
            .collect();
        ids.sort_by_key(|c| c.created_at);
        ids.into_iter().map(|c| c.id.clone()).collect()
    }

    pub fn running(&self, name: &str) -> bool {
        let st = self.state.lock();
        st.containers.values().any(|c| {
            container_name(c) == name && c.state == api::ContainerState::ContainerRunning as i32
        })
    }

    pub fn sandbox_count(&self) -> usize {
        self.state.lock().sandboxes.len()
    }

    fn begin(&self, call: FakeCall, op: &'static str, id: &str) -> Result<(), CriError> {
        let mut st = self.state.lock();
        st.calls.push(call);
        match st.failing_ops.get(op) {
            Some(message) => Err(CriError::Call {
                op,
                id: id.into(),
                message: message.clone(),
            }),
            None => Ok(()),
        }
    }

    fn new_id(&self, prefix: &str) -> String {
        let mut st = self.state.lock();
        st.next_id += 1;
        format!("{prefix}{:012}", st.next_id)
    }
}

fn container_name(c: &api::ContainerStatus) -> &str {
    c.metadata.as_ref().map_or("", |m| m.name.as_str())
}

fn exit(c: &mut api::ContainerStatus, code: i32, now: i64) {
    c.state = api::ContainerState::ContainerExited as i32;
    c.exit_code = code;
    c.finished_at = now;
    c.reason = if code == 0 { "Completed" } else { "Error" }.into();
}

fn not_found(op: &'static str, id: &str) -> CriError {
    CriError::NotFound { op, id: id.into() }
}

#[async_trait]
impl RuntimeService for FakeRuntime {
    async fn version(&self) -> Result<api::VersionResponse, CriError> {
        Ok(api::VersionResponse {
            version: "0.1.0".into(),
            runtime_name: "fake".into(),
            runtime_version: "0.0.1".into(),
            runtime_api_version: "v1".into(),
        })
    }

    async fn run_pod_sandbox(&self, config: &api::PodSandboxConfig) -> Result<String, CriError> {
        let name = config
            .metadata
            .as_ref()
            .map_or(String::new(), |m| m.name.clone());
        self.begin(
            FakeCall::RunPodSandbox(name.clone()),
            "RunPodSandbox",
            &name,
        )?;
        let id = self.new_id("sandbox");
        let status = api::PodSandboxStatus {
            id: id.clone(),
            metadata: config.metadata.clone(),
            state: api::PodSandboxState::SandboxReady as i32,
            created_at: self.now_ns(),
            network: Some(api::PodSandboxNetworkStatus {
                ip: "10.88.0.2".into(),
                additional_ips: vec![],
            }),
            labels: config.labels.clone(),
            ..Default::default()
        };
        self.state.lock().sandboxes.insert(id.clone(), status);
        Ok(id)
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        self.begin(FakeCall::StopPodSandbox(id.into()), "StopPodSandbox", id)?;
        let now = self.now_ns();
        let mut st = self.state.lock();
        let ids: Vec<String> = st
            .sandbox_of
            .iter()
            .filter(|(_, s)| *s == id)
            .map(|(c, _)| c.clone())
            .collect();
        for cid in ids {
            if let Some(c) = st.containers.get_mut(&cid)
                && c.state == api::ContainerState::ContainerRunning as i32
            {
                exit(c, 137, now);
            }
        }
        if let Some(s) = st.sandboxes.get_mut(id) {
            s.state = api::PodSandboxState::SandboxNotready as i32;
        }
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        self.begin(
            FakeCall::RemovePodSandbox(id.into()),
            "RemovePodSandbox",
            id,
        )?;
        let mut st = self.state.lock();
        st.sandboxes.remove(id);
        let ids: Vec<String> = st
            .sandbox_of
            .iter()
            .filter(|(_, s)| *s == id)
            .map(|(c, _)| c.clone())
            .collect();
        for cid in ids {
            st.containers.remove(&cid);
            st.sandbox_of.remove(&cid);
        }
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<api::PodSandboxStatus, CriError> {
        let st = self.state.lock();
        st.sandboxes
            .get(id)
            .cloned()
            .ok_or_else(|| not_found("PodSandboxStatus", id))
    }

    async fn list_pod_sandboxes(&self) -> Result<Vec<api::PodSandbox>, CriError> {
        let st = self.state.lock();
        Ok(st
            .sandboxes
            .values()
            .map(|s| api::PodSandbox {
                id: s.id.clone(),
                metadata: s.metadata.clone(),
                state: s.state,
                created_at: s.created_at,
                labels: s.labels.clone(),
                ..Default::default()
            })
            .collect())
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: &api::ContainerConfig,
        _sandbox_config: &api::PodSandboxConfig,
    ) -> Result<String, CriError> {
        let meta = config.metadata.clone().unwrap_or_default();
        self.begin(
            FakeCall::CreateContainer(meta.name.clone(), meta.attempt),
            "CreateContainer",
            &meta.name,
        )?;
        if !self.state.lock().sandboxes.contains_key(sandbox_id) {
            return Err(not_found("CreateContainer", sandbox_id));
        }
        let id = self.new_id("container");
        let status = api::ContainerStatus {
            id: id.clone(),
            metadata: Some(meta),
            state: api::ContainerState::ContainerCreated as i32,
            created_at: self.now_ns(),
            image: config.image.clone(),
            image_ref: format!(
                "sha256:{}",
                config.image.as_ref().map_or("", |i| i.image.as_str())
            ),
            labels: config.labels.clone(),
            ..Default::default()
        };
        let mut st = self.state.lock();
        st.containers.insert(id.clone(), status);
        st.sandbox_of.insert(id.clone(), sandbox_id.into());
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<(), CriError> {
        let now = self.now_ns();
        let name = {
            let st = self.state.lock();
            st.containers.get(id).map(|c| container_name(c).to_string())
        };
        let name = name.ok_or_else(|| not_found("StartContainer", id))?;
        self.begin(FakeCall::StartContainer(name.clone()), "StartContainer", id)?;
        let mut st = self.state.lock();
        let code = st.exit_on_start.get(&name).copied();
        if let Some(c) = st.containers.get_mut(id) {
            c.state = api::ContainerState::ContainerRunning as i32;
            c.started_at = now;
            if let Some(code) = code {
                exit(c, code, now);
            }
        }
        Ok(())
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<(), CriError> {
        let now = self.now_ns();
        let name = self
            .state
            .lock()
            .containers
            .get(id)
            .map(|c| container_name(c).to_string());
        let name = name.ok_or_else(|| not_found("StopContainer", id))?;
        self.begin(
            FakeCall::StopContainer(name, timeout.as_secs()),
            "StopContainer",
            id,
        )?;
        let mut st = self.state.lock();
        if let Some(c) = st.containers.get_mut(id)
            && c.state != api::ContainerState::ContainerExited as i32
        {
            exit(c, 137, now);
        }
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<(), CriError> {
        self.begin(FakeCall::RemoveContainer(id.into()), "RemoveContainer", id)?;
        let mut st = self.state.lock();
        st.containers.remove(id);
        st.sandbox_of.remove(id);
        Ok(())
    }

    async fn list_containers(&self) -> Result<Vec<api::Container>, CriError> {
        let st = self.state.lock();
        Ok(st
            .containers
            .values()
            .map(|c| api::Container {
                id: c.id.clone(),
                pod_sandbox_id: st.sandbox_of.get(&c.id).cloned().unwrap_or_default(),
                metadata: c.metadata.clone(),
                image: c.image.clone(),
                image_ref: c.image_ref.clone(),
                state: c.state,
                created_at: c.created_at,
                labels: c.labels.clone(),
                ..Default::default()
            })
            .collect())
    }

    async fn container_status(&self, id: &str) -> Result<api::ContainerStatus, CriError> {
        let st = self.state.lock();
        st.containers
            .get(id)
            .cloned()
            .ok_or_else(|| not_found("ContainerStatus", id))
    }

    async fn exec_sync(
        &self,
        id: &str,
        cmd: &[String],
        _timeout: Duration,
    ) -> Result<api::ExecSyncResponse, CriError> {
        let name = self
            .state
            .lock()
            .containers
            .get(id)
            .map(|c| container_name(c).to_string());
        let name = name.ok_or_else(|| not_found("ExecSync", id))?;
        self.begin(
            FakeCall::ExecSync(name.clone(), cmd.to_vec()),
            "ExecSync",
            id,
        )?;
        let exit_code = self.state.lock().exec_exit.get(&name).copied().unwrap_or(0);
        Ok(api::ExecSyncResponse {
            exit_code,
            ..Default::default()
        })
    }
}

#[async_trait]
impl ImageService for FakeRuntime {
    async fn pull_image(
        &self,
        image: &str,
        _auth: Option<api::AuthConfig>,
    ) -> Result<String, CriError> {
        self.begin(FakeCall::PullImage(image.into()), "PullImage", image)?;
        let mut st = self.state.lock();
        if st.failing_pulls.contains(image) {
            return Err(CriError::Call {
                op: "PullImage",
                id: image.into(),
                message: "failed to resolve reference: not found".into(),
            });
        }
        st.images.insert(image.into());
        Ok(format!("sha256:{image}"))
    }

    async fn image_status(&self, image: &str) -> Result<Option<api::Image>, CriError> {
        let st = self.state.lock();
        Ok(st.images.contains(image).then(|| fake_image(image)))
    }

    async fn list_images(&self) -> Result<Vec<api::Image>, CriError> {
        let st = self.state.lock();
        Ok(st.images.iter().map(|i| fake_image(i)).collect())
    }
}

fn fake_image(image: &str) -> api::Image {
    api::Image {
        id: format!("sha256:{image}"),
        repo_tags: vec![image.into()],
        size: 1024,
        ..Default::default()
    }
}
