//! The real `berth server` process for a test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A `berth server` child process; killed (SIGKILL) when dropped.
pub struct TestServer {
    child: Option<Child>,
    binary: PathBuf,
    extra_args: Vec<String>,
    pub port: u16,
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts `binary server` in a fresh temporary data dir on a free port.
    pub fn start(binary: &Path) -> Result<Self> {
        Self::start_with(binary, &[])
    }

    /// As [`TestServer::start`], with extra flags.
    pub fn start_with(binary: &Path, extra_args: &[&str]) -> Result<Self> {
        let dir = tempfile::tempdir().context("temporary data dir")?;
        let mut server = Self {
            child: None,
            binary: binary.to_path_buf(),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            port: 0,
            data_dir: dir.path().to_path_buf(),
            _dir: Some(dir),
        };
        server.spawn(0)?;
        Ok(server)
    }

    fn spawn(&mut self, port: u16) -> Result<()> {
        let mut child = Command::new(&self.binary)
            .args([
                "server",
                "--bind-address",
                "127.0.0.1",
                "--secure-port",
                &port.to_string(),
                "--data-dir",
            ])
            .arg(&self.data_dir)
            .args(&self.extra_args)
            .env("BERTH_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        let stdout = child.stdout.take().context("child stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("berth: API server listening on https://") {
                    let _ = tx.send(addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()));
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(p)) => {
                self.port = p;
                self.child = Some(child);
                Ok(())
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("berth server did not report its address within 30 s")
            }
        }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.data_dir.join("admin.kubeconfig")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILLs the server (data dir kept).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same data dir and port.
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        let port = self.port;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn(port) {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::yield_now(),
            }
        }
    }

    /// A kube-rs client authenticated as the admin.
    pub async fn client(&self) -> Result<kube::Client> {
        let kc = kube::config::Kubeconfig::read_from(self.kubeconfig())?;
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
        Ok(kube::Client::try_from(config)?)
    }

    /// The server's HTTPS base URL.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}
