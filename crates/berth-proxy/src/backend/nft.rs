//! The real backend: the `nft` command, fed on stdin, optionally entered
//! into a network namespace by path with `nsenter --net=PATH`.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::{BackendError, RuleBackend};

/// Runs `nft -f -` for every transaction.
#[derive(Debug, Clone)]
pub struct NftBackend {
    nft: PathBuf,
    netns: Option<PathBuf>,
}

impl Default for NftBackend {
    fn default() -> Self {
        Self {
            nft: PathBuf::from("nft"),
            netns: None,
        }
    }
}

impl NftBackend {
    /// nft in the caller's network namespace.
    pub fn new() -> Self {
        Self::default()
    }

    /// nft inside the network namespace at `path` (`/run/netns/NAME`).
    pub fn in_netns(path: impl Into<PathBuf>) -> Self {
        Self {
            netns: Some(path.into()),
            ..Self::default()
        }
    }

    /// Uses `program` instead of `nft` from `PATH`.
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.nft = program.into();
        self
    }

    fn command(&self) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net={}", ns.display()))
                    .arg("--")
                    .arg(&self.nft);
                c
            }
            None => Command::new(&self.nft),
        }
    }

    fn spawn_error(&self, source: std::io::Error) -> BackendError {
        BackendError::Spawn {
            program: self.nft.display().to_string(),
            source,
        }
    }
}

fn failure(action: &'static str, output: &std::process::Output) -> BackendError {
    BackendError::Nft {
        action,
        status: output.status.to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    }
}

#[async_trait::async_trait]
impl RuleBackend for NftBackend {
    async fn apply(&self, transaction: &str) -> Result<(), BackendError> {
        let mut child = self
            .command()
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| self.spawn_error(e))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(transaction.as_bytes())
                .await
                .map_err(|e| self.spawn_error(e))?;
        }
        let output = child
            .wait_with_output()
            .await
            .map_err(|e| self.spawn_error(e))?;
        if !output.status.success() {
            return Err(failure("-f", &output));
        }
        Ok(())
    }

    async fn list(&self, object: &str) -> Result<String, BackendError> {
        let output = self
            .command()
            .arg("list")
            .args(object.split_whitespace())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| self.spawn_error(e))?;
        if !output.status.success() {
            return Err(failure("list", &output));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}
