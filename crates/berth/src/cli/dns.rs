//! `berth dns`: the cluster DNS server alone. `berth up` runs the same
//! server in-process on the node's address, behind the `kube-dns` Service.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Result;
use berth_dns::DnsOptions;
use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct DnsArgs {
    /// Kubeconfig of the API server.
    #[arg(long)]
    pub kubeconfig: PathBuf,
    /// The address to serve UDP and TCP on.
    #[arg(long, default_value = "0.0.0.0:53")]
    pub listen: SocketAddr,
    /// The cluster domain answered authoritatively.
    #[arg(long, default_value = berth_dns::DEFAULT_CLUSTER_DOMAIN)]
    pub cluster_domain: String,
    /// Resolvers for other names (default: the nameservers of
    /// /etc/resolv.conf).
    #[arg(long, value_delimiter = ',')]
    pub upstream: Vec<SocketAddr>,
    /// Publish this server as Service kube-system/kube-dns with this
    /// ClusterIP (the tenth address of the service range, 10.43.0.10).
    #[arg(long)]
    pub service_ip: Option<IpAddr>,
    /// The address other nodes' pods reach this server on (for the
    /// kube-dns EndpointSlice); default: the listen address.
    #[arg(long)]
    pub advertise_address: Option<IpAddr>,
}

/// Options for a server on `ip:53` published as `kube-dns` at `service_ip`.
pub fn options(ip: IpAddr, service_ip: IpAddr) -> DnsOptions {
    DnsOptions {
        listen: SocketAddr::new(ip, 53),
        service_ip: Some(service_ip),
        endpoint_ips: vec![ip],
        endpoint_port: 53,
        ..DnsOptions::default()
    }
}

impl DnsArgs {
    pub fn options(&self) -> Result<DnsOptions> {
        let advertised = self.advertise_address.unwrap_or(self.listen.ip());
        let o = DnsOptions {
            listen: self.listen,
            cluster_domain: self.cluster_domain.clone(),
            upstreams: self.upstream.clone(),
            service_ip: self.service_ip,
            endpoint_ips: vec![advertised],
            endpoint_port: self.listen.port(),
            ..DnsOptions::default()
        };
        o.validate()?;
        Ok(o)
    }
}

pub async fn run(args: DnsArgs, shutdown: impl Future<Output = ()>) -> Result<()> {
    let options = args.options()?;
    let client = super::scheduler::client(&args.kubeconfig).await?;
    berth_dns::run(client, options, shutdown).await?;
    Ok(())
}
