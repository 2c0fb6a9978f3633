//! A private containerd for this agent: a generated config under the data
//! dir (own root, state and socket, so several agents can share a machine;
//! cgroupfs; CNI paths; Berth's pause image), started as a child process,
//! restarted if it dies, and stopped (SIGTERM) on shutdown. Containers keep
//! running across its restarts: their shims are separate processes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::image::PAUSE_IMAGE;

#[derive(Debug, thiserror::Error)]
pub enum ContainerdError {
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("starting containerd: {0}")]
    Spawn(std::io::Error),
    #[error("containerd did not open {0} within 30 s")]
    NotReady(PathBuf),
}

/// The files of one private containerd, all under `dir`, and the CNI
/// directories its CRI plugin reads.
#[derive(Debug, Clone)]
pub struct ContainerdPaths {
    pub dir: PathBuf,
    pub cni_bin_dir: PathBuf,
    pub cni_conf_dir: PathBuf,
}

impl ContainerdPaths {
    /// The default layout: CNI config under the data dir, Debian's plugins.
    pub fn new(data_dir: &Path) -> Self {
        let dir = data_dir.join("containerd");
        Self {
            cni_conf_dir: dir.join("cni"),
            cni_bin_dir: PathBuf::from(crate::network::DEFAULT_CNI_BIN_DIR),
            dir,
        }
    }
    pub fn config(&self) -> PathBuf {
        self.dir.join("config.toml")
    }
    pub fn socket(&self) -> PathBuf {
        self.dir.join("containerd.sock")
    }
    /// The pid of the running containerd (for tests and operators).
    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("containerd.pid")
    }
    pub fn endpoint(&self) -> String {
        format!("unix://{}", self.socket().display())
    }
}

/// containerd's config (version 2) for this agent. Pod network namespaces
/// are mounted under its state dir, not `/var/run/netns`.
pub fn config_toml(p: &ContainerdPaths) -> String {
    let d = p.dir.display();
    let (bin, conf) = (p.cni_bin_dir.display(), p.cni_conf_dir.display());
    let restrict = !has_cap_sys_resource();
    format!(
        r#"version = 2
root = "{d}/root"
state = "{d}/state"

[grpc]
  address = "{d}/containerd.sock"

[ttrpc]
  address = "{d}/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  enable_selinux = false
  restrict_oom_score_adj = {restrict}
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{bin}"
    conf_dir = "{conf}"
    max_conf_num = 1
"#
    )
}

/// Whether this process may lower OOM scores (CAP_SYS_RESOURCE, bit 24 of
/// CapEff). Without it, runc cannot give sandboxes upstream's -998, so
/// containerd is told to keep scores no lower than its own.
fn has_cap_sys_resource() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let caps = status.lines().find_map(|l| l.strip_prefix("CapEff:"));
    let caps = caps
        .and_then(|c| u64::from_str_radix(c.trim(), 16).ok())
        .unwrap_or(0);
    caps & (1 << 24) != 0
}

/// The running supervisor; `stop` ends it.
pub struct Containerd {
    pub paths: ContainerdPaths,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl Containerd {
    /// Writes the config, starts containerd and waits for its socket.
    pub async fn start(data_dir: &Path) -> Result<Self, ContainerdError> {
        Self::start_with(ContainerdPaths::new(data_dir)).await
    }

    /// As [`Containerd::start`], with these paths (CNI dirs from flags).
    pub async fn start_with(paths: ContainerdPaths) -> Result<Self, ContainerdError> {
        for dir in [paths.dir.clone(), paths.cni_conf_dir.clone()] {
            std::fs::create_dir_all(&dir)
                .map_err(|source| ContainerdError::Write { path: dir, source })?;
        }
        let config = paths.config();
        std::fs::write(&config, config_toml(&paths)).map_err(|source| ContainerdError::Write {
            path: config,
            source,
        })?;
        let running = adoptable(&paths);
        let child = match running {
            Some(pid) => {
                tracing::info!(pid, "reusing the containerd a previous agent left running");
                Process::Adopted(pid)
            }
            None => {
                let _ = std::fs::remove_file(paths.socket());
                Process::Child(spawn(&paths)?)
            }
        };
        wait_for_socket(&paths.socket()).await?;
        let cancel = CancellationToken::new();
        let task = tokio::spawn(supervise(paths.clone(), child, cancel.clone()));
        Ok(Self {
            paths,
            cancel,
            task,
        })
    }

    /// Stops containerd with SIGTERM (containers keep running).
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}

fn spawn(paths: &ContainerdPaths) -> Result<Child, ContainerdError> {
    let log = std::fs::File::create(paths.dir.join("containerd.log")).map_err(|source| {
        ContainerdError::Write {
            path: paths.dir.join("containerd.log"),
            source,
        }
    })?;
    let err = log.try_clone().map_err(ContainerdError::Spawn)?;
    let child = Command::new("containerd")
        .arg("--config")
        .arg(paths.config())
        .stdout(log)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(ContainerdError::Spawn)?;
    if let Some(pid) = child.id() {
        let _ = std::fs::write(paths.pid_file(), pid.to_string());
    }
    tracing::info!(pid = child.id(), config = %paths.config().display(), "containerd started");
    Ok(child)
}

async fn wait_for_socket(socket: &Path) -> Result<(), ContainerdError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        if tokio::net::UnixStream::connect(socket).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(ContainerdError::NotReady(socket.into()))
}

/// Our containerd: a child we started, or one a previous (killed) agent
/// started on this data dir, known by its pid.
enum Process {
    Child(Child),
    Adopted(u32),
}

/// The pid in the pid file, if that process is a containerd running our
/// config (so a restarted agent does not start a second one on the same root).
fn adoptable(paths: &ContainerdPaths) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(paths.pid_file())
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let config = paths.config();
    let ours = String::from_utf8_lossy(&cmdline).contains(config.to_string_lossy().as_ref());
    ours.then_some(pid)
}

impl Process {
    /// Resolves when the process has exited.
    async fn exited(&mut self) {
        match self {
            Process::Child(c) => {
                let status = c.wait().await;
                tracing::warn!(?status, "containerd exited");
            }
            Process::Adopted(pid) => {
                while Path::new(&format!("/proc/{pid}")).exists() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                tracing::warn!(pid, "containerd exited");
            }
        }
    }

    /// SIGTERM, then SIGKILL after 10 s.
    async fn terminate(&mut self) {
        let pid = match self {
            Process::Child(c) => c.id(),
            Process::Adopted(pid) => Some(*pid),
        };
        if let Some(pid) = pid.and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            if tokio::time::timeout(Duration::from_secs(10), self.exited())
                .await
                .is_err()
            {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        if let Process::Child(c) = self {
            let _ = c.wait().await;
        }
        tracing::info!("containerd stopped");
    }
}

/// Restarts containerd whenever it exits, until cancelled.
async fn supervise(paths: ContainerdPaths, mut process: Process, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => {
                process.terminate().await;
                let _ = std::fs::remove_file(paths.pid_file());
                return;
            }
            _ = process.exited() => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let _ = std::fs::remove_file(paths.socket());
                match spawn(&paths) {
                    Ok(c) => process = Process::Child(c),
                    Err(e) => {
                        tracing::error!(error = %e, "restarting containerd failed");
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                }
            }
        }
    }
}
