//! Service → service ports, as upstream kube-proxy reads a Service.
//!
//! Headless and ExternalName Services, and ports of an unknown protocol,
//! yield nothing.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::Service;

use super::{Categorized, Endpoint, Family, Protocol, ServicePortName, ServicePortPlan};

/// Upstream's default `sessionAffinityConfig.clientIP.timeoutSeconds`.
pub const DEFAULT_AFFINITY_TIMEOUT: i32 = 10800;

/// One port of a Service in one family, before endpoints are chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    pub name: ServicePortName,
    pub family: Family,
    pub cluster_ips: Vec<IpAddr>,
    pub port: u16,
    pub node_port: Option<u16>,
    pub affinity_timeout: Option<i32>,
    pub external_local: bool,
    pub internal_local: bool,
    pub publish_not_ready: bool,
}

impl ServicePort {
    /// Whether cluster-wide endpoints are used (upstream's
    /// `UsesClusterEndpoints`).
    pub fn uses_cluster_endpoints(&self) -> bool {
        !self.internal_local || (self.node_port.is_some() && !self.external_local)
    }

    /// Whether node-local endpoints are used (`UsesLocalEndpoints`).
    pub fn uses_local_endpoints(&self) -> bool {
        self.internal_local || self.external_local
    }

    /// With `publishNotReadyAddresses`, every endpoint counts as ready, as
    /// the EndpointSlice controller would have written it.
    pub fn with_published_not_ready(&self, endpoints: &[Endpoint]) -> Vec<Endpoint> {
        let mut all = endpoints.to_vec();
        if self.publish_not_ready {
            for e in &mut all {
                e.ready = true;
                e.serving = true;
            }
        }
        all
    }

    pub fn into_plan(self, endpoints: Categorized) -> ServicePortPlan {
        ServicePortPlan {
            name: self.name,
            family: self.family,
            cluster_ips: self.cluster_ips,
            port: self.port,
            node_port: self.node_port,
            affinity_timeout: self.affinity_timeout,
            external_local: self.external_local,
            internal_local: self.internal_local,
            endpoints,
        }
    }
}

/// The service ports of `service` in `family`; empty for Services the
/// proxy does not handle (headless, ExternalName, no cluster IP).
pub fn service_ports(service: &Service, family: Family) -> Vec<ServicePort> {
    let (Some(spec), Some(namespace), Some(name)) = (
        service.spec.as_ref(),
        service.metadata.namespace.as_deref(),
        service.metadata.name.as_deref(),
    ) else {
        return Vec::new();
    };
    if spec.type_.as_deref() == Some("ExternalName") {
        return Vec::new();
    }
    let cluster_ips = cluster_ips(spec, family);
    if cluster_ips.is_empty() {
        return Vec::new();
    }
    let template = ServicePort {
        name: ServicePortName {
            namespace: namespace.to_string(),
            name: name.to_string(),
            port_name: String::new(),
            protocol: Protocol::Tcp,
        },
        family,
        cluster_ips,
        port: 0,
        node_port: None,
        affinity_timeout: affinity_timeout(spec),
        external_local: spec.external_traffic_policy.as_deref() == Some("Local"),
        internal_local: spec.internal_traffic_policy.as_deref() == Some("Local"),
        publish_not_ready: spec.publish_not_ready_addresses == Some(true),
    };
    let externally_reachable = matches!(spec.type_.as_deref(), Some("NodePort" | "LoadBalancer"));
    spec.ports
        .iter()
        .flatten()
        .filter_map(|p| one_port(&template, p, externally_reachable))
        .collect()
}

/// `template` (the Service-wide fields) completed with `port`; `None` for
/// an unknown protocol or an out-of-range port.
fn one_port(
    template: &ServicePort,
    port: &k8s_openapi::api::core::v1::ServicePort,
    externally_reachable: bool,
) -> Option<ServicePort> {
    let protocol = Protocol::parse(port.protocol.as_deref())?;
    let number = u16::try_from(port.port).ok()?;
    let node_port = port
        .node_port
        .filter(|_| externally_reachable)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0);
    let mut out = template.clone();
    out.name.port_name = port.name.clone().unwrap_or_default();
    out.name.protocol = protocol;
    out.port = number;
    out.node_port = node_port;
    // externalTrafficPolicy only matters for externally reachable ports.
    out.external_local &= node_port.is_some();
    Some(out)
}

fn affinity_timeout(spec: &k8s_openapi::api::core::v1::ServiceSpec) -> Option<i32> {
    (spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
        spec.session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds)
            .unwrap_or(DEFAULT_AFFINITY_TIMEOUT)
    })
}

fn cluster_ips(spec: &k8s_openapi::api::core::v1::ServiceSpec, family: Family) -> Vec<IpAddr> {
    let listed = spec.cluster_ips.clone().unwrap_or_default();
    let all = if listed.is_empty() {
        spec.cluster_ip.iter().cloned().collect()
    } else {
        listed
    };
    all.iter()
        .filter_map(|ip| ip.parse::<IpAddr>().ok())
        .filter(|ip| Family::of(ip) == family)
        .collect()
}
