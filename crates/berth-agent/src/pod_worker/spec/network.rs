//! The network part of a pod's sandbox config: which network namespace
//! (the node's for `hostNetwork` pods or when the node has no pod network,
//! otherwise the pod's own, made by the runtime and wired by CNI), the
//! sandbox hostname, hostPort mappings (CNI portmap) and DNS.

use k8s_openapi::api::core::v1::{Pod, PodSpec};

use crate::cri::api;
use crate::network::PodNetwork;
use crate::network::dns::pod_dns_config;

/// Longest hostname the kernel takes (upstream truncates pod names to it).
const MAX_HOSTNAME: usize = 63;

/// True when the pod shares the node's network namespace.
pub fn uses_node_network(spec: &PodSpec, network: &PodNetwork) -> bool {
    spec.host_network.unwrap_or(false) || !network.isolated
}

/// Network node-wide or per pod; pid per container; ipc per pod. The UTS
/// namespace follows the network one (the runtime decides).
pub fn namespace_options(node_network: bool) -> api::NamespaceOption {
    let network = if node_network {
        api::NamespaceMode::Node
    } else {
        api::NamespaceMode::Pod
    };
    api::NamespaceOption {
        network: network as i32,
        pid: api::NamespaceMode::Container as i32,
        ipc: api::NamespaceMode::Pod as i32,
        ..Default::default()
    }
}

/// Upstream's pod hostname: `spec.hostname` or the pod name, cut to 63
/// characters without a trailing `-`/`.`; with `setHostnameAsFQDN` and a
/// subdomain, `<hostname>.<subdomain>.<ns>.svc.<domain>`. Empty on the
/// node's network (the node's UTS namespace is shared).
pub fn hostname(pod: &Pod, node_network: bool, cluster_domain: &str) -> String {
    if node_network {
        return String::new();
    }
    let spec = pod.spec.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let mut host = spec.hostname.filter(|h| !h.is_empty()).unwrap_or(name);
    if host.len() > MAX_HOSTNAME {
        host.truncate(MAX_HOSTNAME);
        host = host.trim_end_matches(['-', '.']).to_string();
    }
    match spec.subdomain.filter(|s| !s.is_empty()) {
        Some(sub) if spec.set_hostname_as_fqdn == Some(true) && !cluster_domain.is_empty() => {
            let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
            format!("{host}.{sub}.{ns}.svc.{cluster_domain}")
        }
        _ => host,
    }
}

/// The CRI port mappings of every container port with a `hostPort`.
pub fn port_mappings(spec: &PodSpec) -> Vec<api::PortMapping> {
    let ports = spec
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten());
    ports
        .filter(|p| p.host_port.unwrap_or(0) > 0)
        .map(|p| api::PortMapping {
            protocol: match p.protocol.as_deref() {
                Some("UDP") => api::Protocol::Udp,
                Some("SCTP") => api::Protocol::Sctp,
                _ => api::Protocol::Tcp,
            } as i32,
            container_port: p.container_port,
            host_port: p.host_port.unwrap_or(0),
            host_ip: p.host_ip.clone().unwrap_or_default(),
        })
        .collect()
}

/// Hostname, port mappings and DNS of the sandbox config.
pub struct SandboxNetwork {
    pub node_network: bool,
    pub hostname: String,
    pub port_mappings: Vec<api::PortMapping>,
    pub dns: api::DnsConfig,
}

pub fn sandbox_network(pod: &Pod, network: &PodNetwork) -> SandboxNetwork {
    let spec = pod.spec.clone().unwrap_or_default();
    let node_network = uses_node_network(&spec, network);
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    SandboxNetwork {
        node_network,
        hostname: hostname(pod, node_network, &network.dns.cluster_domain),
        port_mappings: if node_network {
            Vec::new()
        } else {
            port_mappings(&spec)
        },
        dns: pod_dns_config(namespace, &spec, &network.dns),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::DnsSettings;

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-0", "namespace": "shop"},
            "spec": spec
        }))
        .expect("pod")
    }

    fn cni() -> PodNetwork {
        PodNetwork::new(
            true,
            DnsSettings {
                cluster_dns: vec!["10.43.0.10".into()],
                cluster_domain: "cluster.local".into(),
                host: None,
            },
        )
    }

    #[test]
    fn a_pod_gets_its_own_network_hostname_and_host_ports() {
        let p = pod(serde_json::json!({"containers": [{"name": "c", "ports": [
            {"containerPort": 80, "hostPort": 8080},
            {"containerPort": 53, "hostPort": 5353, "protocol": "UDP", "hostIP": "192.0.2.1"},
            {"containerPort": 9090}
        ]}]}));
        let n = sandbox_network(&p, &cni());
        assert!(!n.node_network);
        assert_eq!(n.hostname, "web-0");
        let ports: Vec<_> = n
            .port_mappings
            .iter()
            .map(|m| {
                (
                    m.protocol,
                    m.container_port,
                    m.host_port,
                    m.host_ip.as_str(),
                )
            })
            .collect();
        assert_eq!(
            ports,
            [
                (api::Protocol::Tcp as i32, 80, 8080, ""),
                (api::Protocol::Udp as i32, 53, 5353, "192.0.2.1")
            ]
        );
        assert_eq!(n.dns.servers, ["10.43.0.10"]);
    }

    #[test]
    fn host_network_pods_and_nodes_without_pod_network_share_the_node_namespace() {
        let p = pod(serde_json::json!({"hostNetwork": true, "containers": [{"name": "c"}]}));
        let n = sandbox_network(&p, &cni());
        assert!(n.node_network);
        assert_eq!(n.hostname, "");
        let plain = pod(serde_json::json!({"containers": [{"name": "c"}]}));
        let host_mode = PodNetwork::host(DnsSettings::default());
        assert!(sandbox_network(&plain, &host_mode).node_network);
        let ns = namespace_options(true);
        assert_eq!(ns.network, api::NamespaceMode::Node as i32);
        assert_eq!(
            namespace_options(false).network,
            api::NamespaceMode::Pod as i32
        );
    }

    #[test]
    fn hostname_follows_spec_hostname_subdomain_and_the_63_character_limit() {
        let p = pod(serde_json::json!({"hostname": "db", "subdomain": "pg",
            "setHostnameAsFQDN": true, "containers": [{"name": "c"}]}));
        assert_eq!(
            hostname(&p, false, "cluster.local"),
            "db.pg.shop.svc.cluster.local"
        );
        let long = format!("{}-x", "a".repeat(62));
        let p = pod(serde_json::json!({"hostname": long, "containers": [{"name": "c"}]}));
        assert_eq!(hostname(&p, false, "cluster.local"), "a".repeat(62));
    }
}
