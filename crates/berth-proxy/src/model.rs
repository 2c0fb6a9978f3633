//! The pure proxy model: Services, EndpointSlices and the node's facts in,
//! one [`ServicePortPlan`] per service port and IP family out.
//!
//! It is: upstream kube-proxy's "service port" view (one entry per
//! Service × port × protocol), endpoint conditions as upstream reads them
//! and the choice of cluster and local endpoints (`topology`).
//! It is not: nftables syntax (see `ruleset`) or I/O of any kind.

mod endpoints;
mod service;
mod topology;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

pub use endpoints::{Endpoint, SERVICE_NAME_LABEL, endpoints_by_service_port};
pub use service::{ServicePort, service_ports};
pub use topology::{Categorized, categorize};

/// The IP family of a table, an address or an EndpointSlice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(ip: &IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The nftables family keyword (`ip` / `ip6`), also the address
    /// expression prefix (`ip daddr`, `ip6 daddr`).
    pub fn nft(self) -> &'static str {
        match self {
            Family::V4 => "ip",
            Family::V6 => "ip6",
        }
    }

    /// The nftables address data type.
    pub fn addr_type(self) -> &'static str {
        match self {
            Family::V4 => "ipv4_addr",
            Family::V6 => "ipv6_addr",
        }
    }

    /// The EndpointSlice `addressType` this family reads.
    pub fn address_type(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// A Service port's transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// Parses the API spelling (`TCP`, `UDP`, `SCTP`; absent means TCP).
    pub fn parse(api: Option<&str>) -> Option<Self> {
        match api.unwrap_or("TCP") {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    /// The nftables spelling (`tcp`, `udp`, `sctp`).
    pub fn nft(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// Upstream's ServicePortName: one port of one Service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServicePortName {
    pub namespace: String,
    pub name: String,
    /// The port's name; empty for a Service's single unnamed port.
    pub port_name: String,
    pub protocol: Protocol,
}

impl ServicePortName {
    /// `namespace/name`, the Service's key.
    pub fn service_key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

impl fmt::Display for ServicePortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}:{}", self.namespace, self.name, self.port_name)
    }
}

/// What the proxy knows about the node it programs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeContext {
    pub name: String,
    /// The addresses NodePorts are served on (upstream's nftables default:
    /// the node's own IPs, not every local address).
    pub addresses: Vec<IpAddr>,
}

/// An endpoint a chain forwards to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    pub ip: IpAddr,
    pub port: u16,
}

/// Everything the rules of one service port in one family depend on.
/// Invariant: two equal plans render identical rules, so an unchanged plan
/// is never re-programmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePortPlan {
    pub name: ServicePortName,
    pub family: Family,
    /// Cluster IPs of this family (usually one).
    pub cluster_ips: Vec<IpAddr>,
    pub port: u16,
    pub node_port: Option<u16>,
    /// `sessionAffinity: ClientIP` timeout in seconds.
    pub affinity_timeout: Option<i32>,
    /// `externalTrafficPolicy: Local` on an externally reachable Service.
    pub external_local: bool,
    /// `internalTrafficPolicy: Local`.
    pub internal_local: bool,
    pub endpoints: Categorized,
}

/// The desired state of one family's table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesiredState {
    /// Node addresses of this family (the `nodeport-ips` set).
    pub node_addresses: Vec<IpAddr>,
    pub plans: BTreeMap<ServicePortName, ServicePortPlan>,
}

/// Computes one family's desired state from the API objects.
pub fn desired_state<'a>(
    services: impl IntoIterator<Item = &'a Service>,
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
    node: &NodeContext,
    family: Family,
) -> DesiredState {
    let endpoints = endpoints_by_service_port(slices, family);
    let mut plans = BTreeMap::new();
    for service in services {
        for port in service_ports(service, family) {
            let candidates = endpoints.get(&port.name).map(Vec::as_slice);
            let candidates = port.with_published_not_ready(candidates.unwrap_or_default());
            let categorized = categorize(&candidates, &port, &node.name);
            let plan = port.into_plan(categorized);
            plans.insert(plan.name.clone(), plan);
        }
    }
    let node_addresses = node
        .addresses
        .iter()
        .filter(|a| Family::of(a) == family)
        .copied()
        .collect();
    DesiredState {
        node_addresses,
        plans,
    }
}
