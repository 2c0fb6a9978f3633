//! Throwaway network namespaces for the proxy's real-nft tests and bench:
//! a "test host" namespace, "pod" namespaces joined to it by veth pairs,
//! each pod running a tiny TCP server. Everything is removed by Drop guards
//! (servers killed, namespaces deleted, with them every nft table), even
//! when a test panics.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Why the real-nft tests cannot run here, if they cannot.
pub fn missing_prerequisite() -> Option<String> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        });
    if uid.as_deref() != Some("0") {
        return Some("not running as root".into());
    }
    for tool in [["nft", "--version"], ["ip", "-V"], ["nsenter", "--version"]] {
        let ok = Command::new(tool[0])
            .arg(tool[1])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            return Some(format!("`{}` is not available", tool[0]));
        }
    }
    None
}

/// Runs a command and panics with its stderr if it fails.
pub fn run(program: &str, args: &[&str]) -> Output {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} {args:?}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A network namespace deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates `<prefix>-<pid>-<n>` with loopback up.
    pub fn create(prefix: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}-{}-{n}", std::process::id());
        run("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// `ip -n <ns> …`.
    pub fn ip(&self, args: &[&str]) -> Output {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// A command run inside the namespace.
    pub fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]).args(args);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

/// A child process killed and reaped on drop.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A "pod": its own namespace, a veth to the host, and a TCP server on port
/// 80 answering every connection with its name.
pub struct Pod {
    // Field order is drop order: the server dies before its namespace.
    pub server: Option<ChildGuard>,
    pub netns: Netns,
    pub ip: String,
    pub name: String,
}

impl Pod {
    /// Pod number `index` (1..=250) at `10.244.<index>.2`, gateway `.1` on
    /// the host side of the veth.
    pub fn start(host: &Netns, index: u8) -> Self {
        let netns = Netns::create("berth-pod");
        let name = format!("pod{index}");
        let veth = format!("veth{index}");
        let (ip, gateway) = (format!("10.244.{index}.2"), format!("10.244.{index}.1"));
        host.ip(&[
            "link",
            "add",
            &veth,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &netns.name,
        ]);
        host.ip(&["addr", "add", &format!("{gateway}/24"), "dev", &veth]);
        host.ip(&["link", "set", &veth, "up"]);
        netns.ip(&["addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
        netns.ip(&["link", "set", "eth0", "up"]);
        netns.ip(&["route", "add", "default", "via", &gateway]);
        let mut pod = Pod {
            server: None,
            netns,
            ip,
            name,
        };
        pod.serve();
        pod
    }

    fn serve(&mut self) {
        let child = self
            .netns
            .command(
                "busybox",
                &["nc", "-ll", "-p", "80", "-e", "echo", &self.name],
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the pod's server");
        self.server = Some(ChildGuard(child));
    }
}

/// Connects from `from` to `ip:port` and returns what the server said, or
/// the client's error.
pub fn connect(from: &Netns, ip: &str, port: u16) -> Result<String, String> {
    let output = from
        .command("busybox", &["nc", "-w", "2", ip, &port.to_string()])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if output.status.success() && !stdout.is_empty() {
        Ok(stdout)
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// The pod servers need busybox's `nc`.
pub fn missing_busybox() -> Option<String> {
    let ok = Command::new("busybox")
        .arg("nc")
        .arg("--help")
        .output()
        .is_ok();
    (!ok).then(|| "busybox (for `nc`) is not available".into())
}
