//! A pod's DNS configuration (CRI `DNSConfig`), computed as the kubelet
//! does from `dnsPolicy`, `dnsConfig`, `hostNetwork`, the node's
//! resolv.conf and `--cluster-dns`/`--cluster-domain`. Pure: no I/O besides
//! [`ResolvConf::read`].

use k8s_openapi::api::core::v1::{PodDNSConfig, PodSpec};

use crate::cri::api;

/// Upstream's limits (`validation.MaxDNSNameservers`, `MaxDNSSearchPaths`,
/// `MaxDNSSearchListChars`).
pub const MAX_NAMESERVERS: usize = 3;
pub const MAX_SEARCHES: usize = 32;
pub const MAX_SEARCH_CHARS: usize = 2048;

/// What a resolv.conf says (nameservers, the last `search` line, options).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<String>,
    pub searches: Vec<String>,
    pub options: Vec<String>,
}

impl ResolvConf {
    /// Parses resolv.conf text as the kubelet does: `#`/`;` comments,
    /// `nameserver` lines accumulate, the last `search` wins (without `.`
    /// entries and trailing dots), `options` accumulate.
    pub fn parse(text: &str) -> Self {
        let mut conf = ResolvConf::default();
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or_default();
            let mut fields = line.split_whitespace();
            match fields.next() {
                Some("nameserver") => conf.nameservers.extend(fields.next().map(String::from)),
                Some("search") => {
                    conf.searches = fields
                        .filter(|s| *s != ".")
                        .map(|s| s.trim_end_matches('.').to_string())
                        .collect();
                }
                Some("options") => conf.options.extend(fields.map(String::from)),
                _ => {}
            }
        }
        conf
    }

    /// The file's contents; an unreadable file counts as empty (upstream
    /// logs and continues).
    pub fn read(path: &std::path::Path) -> Self {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "reading the node's resolv.conf");
                Self::default()
            }
        }
    }
}

/// The node's DNS settings every pod's configuration is built from.
#[derive(Debug, Clone, Default)]
pub struct DnsSettings {
    /// `--cluster-dns`; empty means ClusterFirst pods fall back to Default.
    pub cluster_dns: Vec<String>,
    /// `--cluster-domain` (`cluster.local`).
    pub cluster_domain: String,
    /// The node's resolv.conf (`--resolv-conf`); `None` when that flag is
    /// empty: Default pods then get `127.0.0.1` and search `.`.
    pub host: Option<ResolvConf>,
}

/// Which resolver a pod gets (upstream's `podDNSType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PodDnsType {
    Cluster,
    Host,
    None,
}

fn dns_type(spec: &PodSpec, settings: &DnsSettings) -> PodDnsType {
    let host_network = spec.host_network.unwrap_or(false);
    let kind = match spec.dns_policy.as_deref().unwrap_or("ClusterFirst") {
        "ClusterFirstWithHostNet" => PodDnsType::Cluster,
        "None" => PodDnsType::None,
        "Default" => PodDnsType::Host,
        _ if host_network => PodDnsType::Host,
        _ => PodDnsType::Cluster,
    };
    if kind == PodDnsType::Cluster && settings.cluster_dns.is_empty() {
        tracing::warn!("MissingClusterDNS: no --cluster-dns; the pod falls back to Default");
        return PodDnsType::Host;
    }
    kind
}

/// The CRI DNS configuration of a pod.
pub fn pod_dns_config(namespace: &str, spec: &PodSpec, settings: &DnsSettings) -> api::DnsConfig {
    let host = settings.host.clone();
    let mut config = match dns_type(spec, settings) {
        PodDnsType::None => api::DnsConfig::default(),
        PodDnsType::Cluster => api::DnsConfig {
            servers: settings.cluster_dns.clone(),
            searches: cluster_searches(namespace, &settings.cluster_domain, host.as_ref()),
            options: vec!["ndots:5".into()],
        },
        PodDnsType::Host => match host {
            Some(h) => api::DnsConfig {
                servers: h.nameservers,
                searches: h.searches,
                options: h.options,
            },
            None => api::DnsConfig {
                servers: vec!["127.0.0.1".into()],
                searches: vec![".".into()],
                options: Vec::new(),
            },
        },
    };
    if let Some(extra) = &spec.dns_config {
        config = append(config, extra);
    }
    fit_limits(config)
}

/// `<ns>.svc.<domain> svc.<domain> <domain>` then the node's searches.
fn cluster_searches(namespace: &str, domain: &str, host: Option<&ResolvConf>) -> Vec<String> {
    let host = host.map(|h| h.searches.clone()).unwrap_or_default();
    if domain.is_empty() {
        return host;
    }
    let mut all = vec![
        format!("{namespace}.svc.{domain}"),
        format!("svc.{domain}"),
        domain.to_string(),
    ];
    all.extend(host);
    without_duplicates(all)
}

fn without_duplicates(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Upstream's `appendDNSConfig`: nameservers and searches appended without
/// duplicates; options merged by name, the pod's value winning.
fn append(mut config: api::DnsConfig, extra: &PodDNSConfig) -> api::DnsConfig {
    config
        .servers
        .extend(extra.nameservers.iter().flatten().cloned());
    config.servers = without_duplicates(config.servers);
    config
        .searches
        .extend(extra.searches.iter().flatten().cloned());
    config.searches = without_duplicates(config.searches);
    let mut options: Vec<(String, Option<String>)> = config
        .options
        .iter()
        .map(|o| match o.split_once(':') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (o.clone(), None),
        })
        .collect();
    for o in extra.options.iter().flatten() {
        let name = o.name.clone().unwrap_or_default();
        let value = o.value.clone().filter(|v| !v.is_empty());
        match options.iter_mut().find(|(n, _)| *n == name) {
            Some(existing) => existing.1 = value,
            None => options.push((name, value)),
        }
    }
    config.options = options
        .into_iter()
        .map(|(n, v)| v.map_or_else(|| n.clone(), |v| format!("{n}:{v}")))
        .collect();
    config
}

/// At most 3 nameservers, 32 search domains and 2048 characters of them
/// (dropping from the end), as upstream.
fn fit_limits(mut config: api::DnsConfig) -> api::DnsConfig {
    if config.servers.len() > MAX_NAMESERVERS {
        tracing::warn!(dropped = ?&config.servers[MAX_NAMESERVERS..], "DNSConfigForming: nameserver limits exceeded");
        config.servers.truncate(MAX_NAMESERVERS);
    }
    config.searches.truncate(MAX_SEARCHES);
    while config.searches.join(" ").len() > MAX_SEARCH_CHARS {
        config.searches.pop();
    }
    config
}

#[cfg(test)]
mod tests;
