//! [`DnsOptions`]: what the cluster DNS server serves and where, validated
//! before anything is bound or written; and reading upstream resolvers from
//! resolv.conf.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use hickory_proto::rr::Name;

use crate::DnsError;

/// The default cluster domain, as upstream.
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";
/// The default record TTL in seconds, as CoreDNS's kubernetes plugin.
pub const DEFAULT_TTL: u32 = 5;

/// Configuration of [`crate::run`].
#[derive(Clone, Debug)]
pub struct DnsOptions {
    /// UDP and TCP address to serve on (port 0 picks a free port, the same
    /// for both).
    pub listen: SocketAddr,
    /// The cluster domain answered authoritatively (`cluster.local`).
    pub cluster_domain: String,
    /// TTL of every cluster record and of negative answers (SOA minimum).
    pub ttl: u32,
    /// Resolvers for every name outside the cluster domain; empty means the
    /// `nameserver` lines of [`DnsOptions::resolv_conf`].
    pub upstreams: Vec<SocketAddr>,
    /// The resolv.conf read when `upstreams` is empty.
    pub resolv_conf: PathBuf,
    /// How long one upstream may take before the next is tried.
    pub forward_timeout: Duration,
    /// When set, `run` ensures Service `kube-system/kube-dns` with this
    /// ClusterIP and an EndpointSlice pointing at `endpoint_ips`.
    pub service_ip: Option<IpAddr>,
    /// Addresses this server is reachable on, for the kube-dns EndpointSlice.
    pub endpoint_ips: Vec<IpAddr>,
    /// Port of the kube-dns EndpointSlice (normally the listen port).
    pub endpoint_port: u16,
}

impl Default for DnsOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 53)),
            cluster_domain: DEFAULT_CLUSTER_DOMAIN.to_string(),
            ttl: DEFAULT_TTL,
            upstreams: Vec::new(),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            forward_timeout: Duration::from_secs(2),
            service_ip: None,
            endpoint_ips: Vec::new(),
            endpoint_port: 53,
        }
    }
}

impl DnsOptions {
    /// Every field error, with its name, or `Ok`.
    pub fn validate(&self) -> Result<(), DnsError> {
        let mut errors = Vec::new();
        if let Err(e) = cluster_domain_name(&self.cluster_domain) {
            errors.push(format!("cluster_domain: Invalid value: {e}"));
        }
        if self.ttl > 3600 {
            errors.push(format!(
                "ttl: Invalid value: {}: must be at most 3600",
                self.ttl
            ));
        }
        if self.forward_timeout.is_zero() {
            errors.push("forward_timeout: Invalid value: must be positive".to_string());
        }
        if self.service_ip.is_some() && self.endpoint_ips.is_empty() {
            errors.push("endpoint_ips: Required value: needed with service_ip".to_string());
        }
        if self.service_ip.is_some() && self.endpoint_port == 0 {
            errors.push("endpoint_port: Invalid value: 0: must be 1-65535".to_string());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DnsError::InvalidOptions(errors))
        }
    }

    /// The upstream resolvers: the configured list, else resolv.conf's, minus
    /// any address of this server (which would loop).
    pub fn resolve_upstreams(&self) -> Result<Vec<SocketAddr>, DnsError> {
        let configured = if self.upstreams.is_empty() {
            let text = std::fs::read_to_string(&self.resolv_conf).map_err(|source| {
                DnsError::ResolvConf {
                    path: self.resolv_conf.display().to_string(),
                    source,
                }
            })?;
            nameservers(&text)
        } else {
            self.upstreams.clone()
        };
        let own = |a: &SocketAddr| {
            self.service_ip == Some(a.ip())
                || (self.endpoint_ips.contains(&a.ip()) && a.port() == self.endpoint_port)
                || *a == self.listen
        };
        Ok(configured.into_iter().filter(|a| !own(a)).collect())
    }
}

/// The cluster domain as a lowercase fully qualified name.
pub(crate) fn cluster_domain_name(domain: &str) -> Result<Name, String> {
    let trimmed = domain.trim_end_matches('.');
    if trimmed.is_empty() {
        return Err(format!("{domain:?}: must be a non-empty domain name"));
    }
    let mut name = Name::from_ascii(trimmed).map_err(|e| format!("{domain:?}: {e}"))?;
    name.set_fqdn(true);
    Ok(name.to_lowercase())
}

/// The `nameserver` addresses of a resolv.conf, on port 53.
pub fn nameservers(resolv_conf: &str) -> Vec<SocketAddr> {
    resolv_conf
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver")).then(|| words.next())?
        })
        .filter_map(|addr| addr.split('%').next()?.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_are_read_in_order_and_comments_ignored() {
        let text = "# generated\nsearch example.org\nnameserver 10.0.0.2\n\
                    nameserver fe80::1%eth0\n;nameserver 9.9.9.9\nnameserver bogus\n";
        let addrs = nameservers(text);
        assert_eq!(
            addrs,
            vec![
                "10.0.0.2:53".parse::<SocketAddr>().expect("addr"),
                "[fe80::1]:53".parse().expect("addr"),
            ]
        );
    }

    #[test]
    fn validation_reports_every_field_error() {
        let options = DnsOptions {
            cluster_domain: String::new(),
            ttl: 100_000,
            service_ip: Some("10.96.0.10".parse().expect("ip")),
            endpoint_port: 0,
            ..DnsOptions::default()
        };
        let Err(DnsError::InvalidOptions(errors)) = options.validate() else {
            panic!("expected invalid options");
        };
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("cluster_domain:"));
    }

    #[test]
    fn upstreams_never_include_this_server() {
        let options = DnsOptions {
            upstreams: vec![
                "10.96.0.10:53".parse().expect("addr"),
                "192.0.2.1:53".parse().expect("addr"),
            ],
            service_ip: Some("10.96.0.10".parse().expect("ip")),
            endpoint_ips: vec!["192.0.2.9".parse().expect("ip")],
            ..DnsOptions::default()
        };
        let upstreams = options.resolve_upstreams().expect("upstreams");
        assert_eq!(upstreams, vec!["192.0.2.1:53".parse().expect("addr")]);
    }
}
