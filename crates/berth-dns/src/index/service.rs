//! [`ServiceRecords`]: everything the zone says about one Service, derived
//! from the Service and its EndpointSlices. Pure; rebuilt whole when either
//! changes.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::rr::Name;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::Zone;
use super::query::dashed_label;

/// How a Service's own name resolves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ServiceKind {
    /// A/AAAA → the ClusterIPs.
    ClusterIp(Vec<IpAddr>),
    /// `clusterIP: None`: A/AAAA → the endpoint addresses.
    Headless,
    /// CNAME → `spec.externalName`.
    ExternalName(Name),
}

/// A port of a Service or an EndpointSlice; name and protocol lowercase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PortRecord {
    pub(crate) name: Box<str>,
    pub(crate) protocol: Box<str>,
    pub(crate) port: u16,
}

/// One endpoint address that DNS publishes (ready, or any when the Service
/// publishes not-ready addresses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EndpointRecord {
    pub(crate) ip: IpAddr,
    /// The endpoint's `hostname`, else its dashed address.
    pub(crate) label: Box<str>,
    /// `<label>.<svc>.<ns>.svc.<domain>`.
    pub(crate) fqdn: Name,
    /// Whether `label` is a hostname (those get PTR records).
    pub(crate) has_hostname: bool,
    /// The ports of the EndpointSlice the address came from.
    pub(crate) ports: Arc<[PortRecord]>,
}

/// The records of one Service. Invariant: `endpoints` holds each address at
/// most once, in EndpointSlice name order then endpoint order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServiceRecords {
    pub(crate) namespace: Arc<str>,
    /// `<svc>.<ns>.svc.<domain>`.
    pub(crate) fqdn: Name,
    pub(crate) kind: ServiceKind,
    pub(crate) ports: Vec<PortRecord>,
    pub(crate) endpoints: Vec<EndpointRecord>,
}

impl ServiceRecords {
    /// The records of `service` given its EndpointSlices (sorted by name), or
    /// `None` when it has nothing to publish yet (no ClusterIP allocated).
    pub(crate) fn build(zone: &Zone, service: &Service, slices: &[&EndpointSlice]) -> Option<Self> {
        let name = service.metadata.name.as_deref()?;
        let namespace = service.metadata.namespace.as_deref()?;
        let spec = service.spec.as_ref()?;
        let fqdn = zone.name_of(&[name, namespace, "svc"])?;
        let kind = service_kind(spec)?;
        let publish_not_ready = spec.publish_not_ready_addresses.unwrap_or(false);
        let ports = spec
            .ports
            .iter()
            .flatten()
            .filter_map(|p| port_record(p.name.as_deref(), p.protocol.as_deref(), Some(p.port)))
            .collect();
        let endpoints = endpoint_records(&fqdn, slices, publish_not_ready);
        Some(Self {
            namespace: Arc::from(namespace),
            fqdn,
            kind,
            ports,
            endpoints,
        })
    }

    /// The (address, name) pairs this Service contributes to reverse lookups:
    /// its ClusterIPs, and endpoints that have a hostname.
    pub(crate) fn reverse_entries(&self) -> impl Iterator<Item = (IpAddr, &Name)> {
        let cluster_ips = match &self.kind {
            ServiceKind::ClusterIp(ips) => ips.as_slice(),
            _ => &[],
        };
        cluster_ips.iter().map(|ip| (*ip, &self.fqdn)).chain(
            self.endpoints
                .iter()
                .filter(|e| e.has_hostname)
                .map(|e| (e.ip, &e.fqdn)),
        )
    }
}

fn service_kind(spec: &k8s_openapi::api::core::v1::ServiceSpec) -> Option<ServiceKind> {
    if spec.type_.as_deref() == Some("ExternalName") {
        let target = spec.external_name.as_deref()?;
        let mut name = Name::from_ascii(target.trim_end_matches('.')).ok()?;
        name.set_fqdn(true);
        return Some(ServiceKind::ExternalName(name));
    }
    match spec.cluster_ip.as_deref() {
        Some("None") => Some(ServiceKind::Headless),
        None | Some("") => None,
        Some(primary) => {
            let ips: Vec<IpAddr> = match spec.cluster_ips.as_deref() {
                Some(all) if !all.is_empty() => {
                    all.iter().filter_map(|ip| ip.parse().ok()).collect()
                }
                _ => primary.parse().ok().into_iter().collect(),
            };
            (!ips.is_empty()).then_some(ServiceKind::ClusterIp(ips))
        }
    }
}

fn port_record(
    name: Option<&str>,
    protocol: Option<&str>,
    port: Option<i32>,
) -> Option<PortRecord> {
    Some(PortRecord {
        name: name.unwrap_or_default().to_ascii_lowercase().into(),
        protocol: protocol.unwrap_or("TCP").to_ascii_lowercase().into(),
        port: u16::try_from(port?).ok()?,
    })
}

fn endpoint_records(
    service_fqdn: &Name,
    slices: &[&EndpointSlice],
    publish_not_ready: bool,
) -> Vec<EndpointRecord> {
    let mut seen = HashSet::new();
    let mut records = Vec::new();
    for slice in slices {
        if !matches!(slice.address_type.as_str(), "IPv4" | "IPv6") {
            continue;
        }
        let ports: Arc<[PortRecord]> = slice
            .ports
            .iter()
            .flatten()
            .filter_map(|p| port_record(p.name.as_deref(), p.protocol.as_deref(), p.port))
            .collect();
        for endpoint in &slice.endpoints {
            let ready = endpoint
                .conditions
                .as_ref()
                .and_then(|c| c.ready)
                .unwrap_or(true);
            if !ready && !publish_not_ready {
                continue;
            }
            let hostname = endpoint.hostname.as_deref().filter(|h| !h.is_empty());
            for ip in endpoint
                .addresses
                .iter()
                .filter_map(|a| a.parse::<IpAddr>().ok())
            {
                if !seen.insert(ip) {
                    continue;
                }
                let label = hostname.map_or_else(|| dashed_label(ip), str::to_ascii_lowercase);
                let Ok(fqdn) = service_fqdn.prepend_label(label.as_str()) else {
                    continue;
                };
                records.push(EndpointRecord {
                    ip,
                    label: label.into(),
                    fqdn,
                    has_hostname: hostname.is_some(),
                    ports: ports.clone(),
                });
            }
        }
    }
    records
}
