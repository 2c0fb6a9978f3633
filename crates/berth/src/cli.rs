//! Command-line flags (named as upstream where one exists) and what each
//! command runs.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use berth_apiserver::{Cidr, ServerConfig};
use clap::{Args, Parser, Subcommand};

mod agent;
mod controllers;
mod dns;
mod down;
mod image;
mod proxy;
mod reset_steps;
mod scheduler;
mod status;
mod up;
mod why;

#[derive(Parser, Debug)]
#[command(
    name = "berth",
    version,
    about = "Berth: a Kubernetes-compatible container platform in one binary"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a whole single-node cluster in this process: API server on the
    /// embedded store, controller manager, scheduler and node agent.
    Up(UpArgs),
    /// Run the API server on the embedded store.
    Server(ServerArgs),
    /// Run the scheduler against an API server.
    Scheduler(scheduler::SchedulerArgs),
    /// Run the controller manager against an API server.
    ControllerManager(controllers::ControllerManagerArgs),
    /// Run the node agent: pods on containerd through CRI.
    Agent(agent::AgentArgs),
    /// Run the service proxy alone: Services → nftables on this node
    /// (`berth agent` runs it too).
    Proxy(proxy::ProxyArgs),
    /// Run the cluster DNS server alone (`berth up` runs it too).
    Dns(dns::DnsArgs),
    /// Show the cluster's components, versions, store size and uptime.
    Status(status::StatusArgs),
    /// Stop and remove every pod on this node (after `berth up` stopped).
    Down(down::DownArgs),
    /// Remove everything Berth created on this machine: pods, containerd
    /// state, mounts, nftables tables, the pod bridge, and the data dir.
    Reset(down::DownArgs),
    /// Manage images in the node's containerd (e.g. import an archive).
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Explain the cluster: `why pod NAME` (scheduling), `why service NAME`
    /// (endpoints, rules, DNS).
    #[command(subcommand)]
    Why(why::WhyCommand),
    /// Run a benchmark and print its figures.
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
}

#[derive(Args, Debug, Clone)]
pub struct UpArgs {
    /// Where everything Berth keeps lives.
    #[arg(long, default_value = "/var/lib/berth")]
    pub data_dir: PathBuf,
    /// The HTTPS port of the API server.
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,
    /// The node's name (default: the hostname).
    #[arg(long)]
    pub node_name: Option<String>,
    /// Run only the control plane (no node agent on this machine).
    #[arg(long)]
    pub disable_agent: bool,
    /// Do not run the cluster DNS server (kube-dns at 10.43.0.10).
    #[arg(long)]
    pub disable_dns: bool,
    /// An extra flag for the controller manager (repeatable), e.g.
    /// `--controller-manager-arg=--node-monitor-grace-period=20s`.
    #[arg(long, allow_hyphen_values = true)]
    pub controller_manager_arg: Vec<String>,
    /// An extra flag for the scheduler (repeatable).
    #[arg(long, allow_hyphen_values = true)]
    pub scheduler_arg: Vec<String>,
    /// An extra flag for the node agent (repeatable), e.g.
    /// `--agent-arg=--pod-network=host`.
    #[arg(long, allow_hyphen_values = true)]
    pub agent_arg: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Where the store, certificates and admin kubeconfig live.
    #[arg(long, default_value = "/var/lib/berth/server")]
    pub data_dir: PathBuf,
    /// The address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: IpAddr,
    /// The HTTPS port (0 picks a free one).
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,
    /// The range Service cluster IPs are allocated from.
    #[arg(long, default_value = "10.43.0.0/16")]
    pub service_cluster_ip_range: String,
    /// The range NodePorts are allocated from.
    #[arg(long, default_value = "30000-32767")]
    pub service_node_port_range: String,
    /// Static bearer tokens: CSV lines `token,user,uid,"group1,group2"`.
    #[arg(long)]
    pub token_auth_file: Option<PathBuf>,
    /// The longest a watch stays open, in seconds.
    #[arg(long, default_value_t = 1800)]
    pub min_request_timeout: u64,
    /// Requests in flight beyond which new ones get 429.
    #[arg(long, default_value_t = 1200)]
    pub max_requests_inflight: usize,
    /// How long events are kept (e.g. 1h, 30m, 90s).
    #[arg(long, default_value = "1h")]
    pub event_ttl: String,
}

impl ServerArgs {
    /// Validates the flags into a configuration, before anything starts.
    pub fn config(&self) -> Result<ServerConfig> {
        let range = Cidr::parse(&self.service_cluster_ip_range).with_context(|| {
            format!("--service-cluster-ip-range {:?}: want an IPv4 CIDR with a prefix of /30 or shorter", self.service_cluster_ip_range)
        })?;
        let ports = parse_port_range(&self.service_node_port_range)?;
        let mut config = ServerConfig::new(self.data_dir.clone());
        config.bind_address = self.bind_address;
        config.secure_port = self.secure_port;
        config.service_cluster_ip_range = range;
        config.service_node_port_range = ports;
        config.token_auth_file = self.token_auth_file.clone();
        config.min_request_timeout =
            std::time::Duration::from_secs(self.min_request_timeout.max(1));
        config.max_requests_inflight = self.max_requests_inflight.max(1);
        config.event_ttl = parse_duration(&self.event_ttl)?;
        Ok(config)
    }
}

/// A duration as upstream flags write them: `90s`, `30m`, `1h`, `1h30m`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration> {
    let mut total = 0u64;
    let mut number = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number
            .parse()
            .with_context(|| format!("duration {s:?}: a unit without a number"))?;
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => bail!("duration {s:?}: unknown unit {c:?} (use s, m or h)"),
        };
        number.clear();
    }
    if !number.is_empty() {
        bail!("duration {s:?}: a number without a unit (use s, m or h)");
    }
    if total == 0 {
        bail!("duration {s:?} must be positive");
    }
    Ok(std::time::Duration::from_secs(total))
}

fn parse_port_range(s: &str) -> Result<(u16, u16)> {
    let (lo, hi) = s
        .split_once('-')
        .with_context(|| format!("--service-node-port-range {s:?}: want LOW-HIGH"))?;
    let lo: u16 = lo
        .trim()
        .parse()
        .with_context(|| format!("--service-node-port-range {s:?}: bad low port"))?;
    let hi: u16 = hi
        .trim()
        .parse()
        .with_context(|| format!("--service-node-port-range {s:?}: bad high port"))?;
    if lo == 0 || lo > hi {
        bail!("--service-node-port-range {s:?}: low must be positive and not above high");
    }
    Ok((lo, hi))
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Up(args) => up::run(args, wait_for_signal()).await,
        Command::Server(args) => run_server(args).await,
        Command::Scheduler(args) => scheduler::run(args, wait_for_signal()).await,
        Command::ControllerManager(args) => controllers::run(args, wait_for_signal()).await,
        Command::Agent(args) => agent::run(args, wait_for_signal()).await,
        Command::Proxy(args) => proxy::run(args, wait_for_signal()).await,
        Command::Dns(args) => dns::run(args, wait_for_signal()).await,
        Command::Status(args) => status::run(args).await,
        Command::Down(args) => down::down(args).await,
        Command::Reset(args) => down::reset(args).await,
        Command::Image(cmd) => image::run(cmd).await,
        Command::Bench(b) => crate::bench::run(b).await,
        Command::Why(cmd) => why::run(cmd).await,
    }
}

async fn run_server(args: ServerArgs) -> Result<()> {
    let config = args.config()?;
    let server = berth_apiserver::start(config)
        .await
        .context("starting the API server")?;
    println!("berth: API server listening on https://{}", server.addr);
    println!("berth: admin kubeconfig: {}", server.kubeconfig.display());
    wait_for_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_upstream_flags_write_them() {
        assert_eq!(parse_duration("1h30m").expect("valid").as_secs(), 5400);
        assert_eq!(parse_duration("90s").expect("valid").as_secs(), 90);
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn node_port_ranges_parse_and_bad_ones_are_refused() {
        assert_eq!(
            parse_port_range("30000-32767").expect("valid"),
            (30000, 32767)
        );
        assert!(parse_port_range("32767-30000").is_err());
        assert!(parse_port_range("abc").is_err());
    }
}
