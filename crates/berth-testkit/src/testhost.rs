//! Test hosts: several machines on one Linux box, for multi-node tests.
//!
//! A [`TestLan`] is a network namespace holding a bridge (`br0`, with the
//! LAN's `.254` address so a client can run on the LAN itself). Each
//! [`TestHost`] is a network namespace joined to that bridge by a veth pair
//! (`eth0` inside, `192.168.77.N/24`), loopback up, IP forwarding on. A host
//! runs processes inside its namespace (`ip netns exec`); long-running ones
//! (a `berth agent` and its private containerd, the shims and the
//! containers) run in a PID namespace of their own, so killing it ends all
//! of them at once. The test API server stays in the root namespace on
//! 127.0.0.1: each host gets a forwarder from its own `127.0.0.1:<port>` to
//! the server's.
//!
//! Dropping a host kills its processes, removes the cgroups its containers
//! left, its forwarder, its namespace and its data dir; dropping the LAN
//! removes the LAN namespace (and with it every veth). Nothing is created
//! in the root network namespace. Requires root, `ip`, `unshare`.
//!
//! It is not: a container runtime or a network model of its own (routes
//! between hosts' pods are the agents' job).

mod cleanup;
mod forward;

use std::ffi::OsStr;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, bail};

pub use forward::Forwarder;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Runs `ip args…` and fails with its stderr.
fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Why test hosts cannot be made here, if they cannot.
pub fn missing_prerequisite() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if !root {
        return Some("not root".into());
    }
    ["/usr/sbin/ip", "/usr/bin/unshare", "/usr/bin/nsenter"]
        .iter()
        .find(|t| !Path::new(t).exists())
        .map(|t| format!("{t} is missing (apt-get install iproute2 util-linux)"))
}

/// A LAN: a network namespace with a bridge that hosts plug into.
pub struct TestLan {
    pub netns: String,
    /// The first three octets of the LAN's /24.
    prefix: [u8; 3],
}

impl TestLan {
    /// A LAN on 192.168.77.0/24.
    pub fn create() -> Result<Self> {
        Self::create_on([192, 168, 77])
    }

    /// A LAN on `<prefix>.0/24`; the bridge is `<prefix>.254`.
    pub fn create_on(prefix: [u8; 3]) -> Result<Self> {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let netns = format!("berth-{}-{id}-lan", std::process::id());
        ip(&["netns", "add", &netns])?;
        let lan = Self { netns, prefix };
        let ns = lan.netns.as_str();
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        ip(&["-n", ns, "link", "add", "br0", "type", "bridge"])?;
        let addr = format!("{}/24", lan.address(254));
        ip(&["-n", ns, "addr", "add", &addr, "dev", "br0"])?;
        ip(&["-n", ns, "link", "set", "br0", "up"])?;
        Ok(lan)
    }

    /// `<prefix>.n`.
    pub fn address(&self, n: u8) -> Ipv4Addr {
        let [a, b, c] = self.prefix;
        Ipv4Addr::new(a, b, c, n)
    }

    /// A command run on the LAN itself (a client outside every host).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.netns]).arg(program);
        c
    }

    /// Host number `n` (1..=253) at `<prefix>.n`.
    pub fn add_host(&self, n: u8) -> Result<TestHost> {
        let netns = format!("{}-h{n}", self.netns.trim_end_matches("-lan"));
        ip(&["netns", "add", &netns])?;
        let dir = tempfile::Builder::new()
            .prefix("berth-testhost-")
            .tempdir()
            .context("host data dir")?;
        let host = TestHost {
            netns,
            address: self.address(n),
            dir,
            processes: Vec::new(),
            forwarders: Vec::new(),
        };
        self.plug(&host, n)?;
        Ok(host)
    }

    /// veth `vhN` (on the bridge) ⇄ `eth0` (in the host), addresses, routes.
    fn plug(&self, host: &TestHost, n: u8) -> Result<()> {
        let (lan, h) = (self.netns.as_str(), host.netns.as_str());
        let veth = format!("vh{n}");
        ip(&[
            "-n", lan, "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", h,
        ])?;
        ip(&["-n", lan, "link", "set", &veth, "master", "br0", "up"])?;
        ip(&["-n", h, "link", "set", "lo", "up"])?;
        let addr = format!("{}/24", host.address);
        ip(&["-n", h, "addr", "add", &addr, "dev", "eth0"])?;
        ip(&["-n", h, "link", "set", "eth0", "up"])?;
        let gateway = self.address(254).to_string();
        ip(&["-n", h, "route", "add", "default", "via", &gateway])?;
        let status = host
            .command("sh")
            .args(["-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"])
            .status()
            .context("enabling forwarding")?;
        if !status.success() {
            bail!("enabling IP forwarding in {h} failed");
        }
        Ok(())
    }
}

impl Drop for TestLan {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.netns]);
    }
}

/// One machine: a network namespace on the LAN, a data dir, and the
/// processes started in it.
pub struct TestHost {
    pub netns: String,
    pub address: Ipv4Addr,
    dir: tempfile::TempDir,
    processes: Vec<Child>,
    forwarders: Vec<Forwarder>,
}

impl TestHost {
    /// A command run inside this host's network namespace.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.netns]).arg(program);
        c
    }

    /// This host's own directory (removed on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Where this host's agent keeps its state (and its containerd).
    pub fn agent_data_dir(&self) -> PathBuf {
        self.dir().join("agent")
    }

    /// The agent's log file.
    pub fn agent_log(&self) -> PathBuf {
        self.dir().join("agent.log")
    }

    /// Makes `127.0.0.1:port` inside the host reach `127.0.0.1:port` of the
    /// machine (the test API server).
    pub fn forward_port(&mut self, port: u16) -> Result<()> {
        self.forwarders.push(Forwarder::start(&self.netns, port)?);
        Ok(())
    }

    /// Starts `program args…` inside the host in a PID namespace of its own
    /// (everything it starts dies with it); output goes to `log`.
    pub fn spawn(&mut self, program: &Path, args: &[&OsStr], log: &Path) -> Result<()> {
        let out = std::fs::File::create(log).context("log file")?;
        let err = out.try_clone().context("log file")?;
        // nsenter, not `ip netns exec`: that remounts /sys, hiding the
        // cgroup mounts runc needs.
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/var/run/netns/{}", self.netns))
            .args(["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = c.spawn().context("starting a process in the host")?;
        self.processes.push(child);
        Ok(())
    }

    /// Starts `berth agent` for node `node_name`: the API server's port is
    /// forwarded into the host, so the admin kubeconfig works unchanged.
    pub fn start_agent(
        &mut self,
        berth: &Path,
        kubeconfig: &Path,
        server_port: u16,
        node_name: &str,
        extra: &[&str],
    ) -> Result<()> {
        self.forward_port(server_port)?;
        let (data, address) = (self.agent_data_dir(), self.address.to_string());
        let words = ["agent", "--node-name", node_name, "--node-ip", &address];
        let mut args: Vec<&OsStr> = words.iter().map(OsStr::new).collect();
        args.extend([OsStr::new("--kubeconfig"), kubeconfig.as_os_str()]);
        args.extend([OsStr::new("--data-dir"), data.as_os_str()]);
        args.extend(extra.iter().map(OsStr::new));
        let log = self.agent_log();
        self.spawn(berth, &args, &log)
    }

    /// The last `lines` lines of the agent's log (for failure reports).
    pub fn agent_log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.agent_log()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(lines).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let containers = cleanup::container_ids(&self.agent_data_dir());
        let inits = cleanup::namespace_inits(&self.processes);
        for mut p in self.processes.drain(..) {
            let _ = p.kill();
            let _ = p.wait();
        }
        cleanup::wait_for_exit(&inits);
        cleanup::remove_cgroups(&containers);
        self.forwarders.clear();
        let _ = ip(&["netns", "del", &self.netns]);
        cleanup::unmount_under(self.dir());
    }
}
