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
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
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
