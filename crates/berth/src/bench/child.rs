//! A `berth server` child process for benchmarks: started on a free port in
//! a temporary data dir, measured through /proc, killed on drop.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

pub struct ServerChild {
    child: Child,
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl ServerChild {
    /// Starts `berth server` (this very binary) and waits for its address.
    pub fn start() -> Result<Self> {
        let dir = tempfile::tempdir().context("making a data dir")?;
        let exe = std::env::current_exe().context("finding the berth binary")?;
        let mut child = Command::new(exe)
            .args([
                "server",
                "--secure-port",
                "0",
                "--bind-address",
                "127.0.0.1",
                "--data-dir",
            ])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting berth server")?;
        let stdout = child.stdout.take().context("no stdout")?;
        // Keep draining stdout for the child's whole life: a closed pipe
        // would make its next line fail.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("berth: API server listening on https://") {
                    let _ = tx.send(addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()));
                }
            }
        });
        let port: Option<u16> = rx.recv_timeout(Duration::from_secs(30)).ok().flatten();
        let Some(port) = port else {
            let _ = child.kill();
            bail!("berth server did not report its address");
        };
        let _ = port;
        Ok(Self {
            child,
            kubeconfig: dir.path().join("admin.kubeconfig"),
            _dir: dir,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size in MiB.
    pub fn rss_mib(&self) -> f64 {
        rss_mib(self.pid())
    }
}

/// A field of /proc/PID/status in KiB (`VmRSS:`, `VmHWM:`), 0 if unknown.
fn status_kib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// Resident set size of a process, in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    status_kib(pid, "VmRSS:") / 1024.0
}

/// Peak resident set size of a process, in MiB.
pub fn peak_rss_mib(pid: u32) -> f64 {
    status_kib(pid, "VmHWM:") / 1024.0
}

/// User + system CPU seconds a process has used, from /proc/PID/stat.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// `berth controller-manager` (this very binary) without leader election,
/// with `extra` flags; killed on drop.
pub struct ManagerChild(Child);

impl ManagerChild {
    pub fn start(kubeconfig: &std::path::Path, extra: &[&str]) -> Result<Self> {
        let exe = std::env::current_exe().context("finding the berth binary")?;
        let child = Command::new(exe)
            .args(["controller-manager", "--leader-elect=false"])
            .args(extra)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .stdout(Stdio::null())
            .spawn()
            .context("starting berth controller-manager")?;
        Ok(Self(child))
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for ManagerChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A kube-rs client for a benchmark: the kubeconfig's identity, with a read
/// timeout long enough for the largest lists and watches a bench makes.
pub async fn client(kubeconfig: &std::path::Path) -> Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).context("reading kubeconfig")?;
    let mut config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
    config.read_timeout = Some(Duration::from_secs(900));
    Ok(kube::Client::try_from(config)?)
}
