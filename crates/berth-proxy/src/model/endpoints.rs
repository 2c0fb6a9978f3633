//! EndpointSlices → endpoints per service port, with upstream's reading of
//! the endpoint conditions.
//!
//! A Service's slices are found by the `kubernetes.io/service-name` label;
//! only slices of the table's family count; an endpoint listed by two
//! slices is kept once (the more usable copy wins).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::{Family, Protocol, ServicePortName, Target};

/// The label naming the Service a slice belongs to.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// One endpoint of one service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
    pub node_name: Option<String>,
    /// `conditions.ready` (absent means ready).
    pub ready: bool,
    /// `conditions.serving` (absent means the value of ready).
    pub serving: bool,
    /// `conditions.terminating` (absent means false).
    pub terminating: bool,
    /// The Pod behind it (`targetRef`), for diagnostics.
    pub pod: Option<String>,
}

impl Endpoint {
    pub fn target(&self) -> Target {
        Target {
            ip: self.ip,
            port: self.port,
        }
    }

    pub fn is_local(&self, node_name: &str) -> bool {
        self.node_name.as_deref() == Some(node_name)
    }

    /// Ready first, then serving-terminating, then the rest.
    fn usefulness(&self) -> u8 {
        match (self.ready, self.serving) {
            (true, _) => 2,
            (false, true) => 1,
            (false, false) => 0,
        }
    }
}

/// Every endpoint of every service port in `family`, sorted by address.
pub fn endpoints_by_service_port<'a>(
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
    family: Family,
) -> HashMap<ServicePortName, Vec<Endpoint>> {
    let mut merged: HashMap<ServicePortName, BTreeMap<Target, Endpoint>> = HashMap::new();
    for slice in slices {
        if slice.address_type != family.address_type() {
            continue;
        }
        let (Some(namespace), Some(service)) = (
            slice.metadata.namespace.as_deref(),
            slice
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SERVICE_NAME_LABEL)),
        ) else {
            continue;
        };
        for port in slice.ports.iter().flatten() {
            let (Some(protocol), Some(number)) = (
                Protocol::parse(port.protocol.as_deref()),
                port.port.and_then(|p| u16::try_from(p).ok()),
            ) else {
                continue;
            };
            let name = ServicePortName {
                namespace: namespace.to_string(),
                name: service.clone(),
                port_name: port.name.clone().unwrap_or_default(),
                protocol,
            };
            let entry = merged.entry(name).or_default();
            for endpoint in slice_endpoints(slice, number, family) {
                let keep = entry
                    .get(&endpoint.target())
                    .is_none_or(|old| old.usefulness() < endpoint.usefulness());
                if keep {
                    entry.insert(endpoint.target(), endpoint);
                }
            }
        }
    }
    merged
        .into_iter()
        .map(|(name, endpoints)| (name, endpoints.into_values().collect()))
        .collect()
}

fn slice_endpoints(
    slice: &EndpointSlice,
    port: u16,
    family: Family,
) -> impl Iterator<Item = Endpoint> + '_ {
    slice.endpoints.iter().filter_map(move |e| {
        // Upstream uses only the first address of an endpoint.
        let ip = e.addresses.first()?.parse::<IpAddr>().ok()?;
        if Family::of(&ip) != family {
            return None;
        }
        let conditions = e.conditions.as_ref();
        let ready = conditions.and_then(|c| c.ready).unwrap_or(true);
        Some(Endpoint {
            ip,
            port,
            node_name: e.node_name.clone(),
            ready,
            serving: conditions.and_then(|c| c.serving).unwrap_or(ready),
            terminating: conditions.and_then(|c| c.terminating).unwrap_or(false),
            pod: e.target_ref.as_ref().and_then(|t| t.name.clone()),
        })
    })
}
