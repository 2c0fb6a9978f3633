//! The real kubectl, pointed at a test server.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What a kubectl run printed.
#[derive(Debug)]
pub struct KubectlOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl KubectlOutput {
    /// Panics with both streams unless kubectl succeeded; returns stdout.
    pub fn ok(self) -> String {
        assert!(
            self.success,
            "kubectl failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self.stdout
    }

    /// Panics unless kubectl failed; returns stderr.
    pub fn err(self) -> String {
        assert!(
            !self.success,
            "kubectl unexpectedly succeeded:\n{}",
            self.stdout
        );
        self.stderr
    }
}

/// Runs `/usr/bin/kubectl` (or `$KUBECTL`) with a kubeconfig.
#[derive(Clone, Debug)]
pub struct Kubectl {
    kubeconfig: PathBuf,
    cache_dir: PathBuf,
    /// Runs kubectl inside this network namespace (a test host's).
    netns: Option<String>,
}

impl Kubectl {
    pub fn new(kubeconfig: &Path) -> Self {
        let cache_dir = kubeconfig
            .parent()
            .unwrap_or(Path::new("/tmp"))
            .join("kubectl-cache");
        Self {
            kubeconfig: kubeconfig.to_path_buf(),
            cache_dir,
            netns: None,
        }
    }

    /// A kubectl that runs inside the network namespace `netns` (named as
    /// `ip netns` names them), to reach a cluster running in a test host.
    pub fn in_netns(kubeconfig: &Path, netns: &str) -> Self {
        Self {
            netns: Some(netns.to_string()),
            ..Self::new(kubeconfig)
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let bin = std::env::var("KUBECTL").unwrap_or_else(|_| "/usr/bin/kubectl".into());
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net=/var/run/netns/{ns}")).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache_dir)
            .args(args);
        cmd
    }

    /// Runs kubectl and captures its output.
    pub fn run(&self, args: &[&str]) -> KubectlOutput {
        self.run_with_stdin(args, None)
    }

    /// Runs kubectl with extra environment variables (e.g. `KUBE_EDITOR`).
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> KubectlOutput {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = match cmd.output() {
            Ok(o) => o,
            Err(e) => panic!("cannot run kubectl: {e}"),
        };
        KubectlOutput {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs kubectl with `stdin` fed to it (for `-f -`).
    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> KubectlOutput {
        let mut cmd = self.command(args);
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => panic!("cannot run kubectl: {e}"),
        };
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            let _ = pipe.write_all(input.as_bytes());
        }
        let out = match child.wait_with_output() {
            Ok(o) => o,
            Err(e) => panic!("kubectl did not finish: {e}"),
        };
        KubectlOutput {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Starts kubectl in the background (e.g. `get -w`), stdout piped.
    pub fn spawn(&self, args: &[&str]) -> std::io::Result<std::process::Child> {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    }
}
