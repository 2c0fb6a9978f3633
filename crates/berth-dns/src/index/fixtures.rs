//! Builders of Services and EndpointSlices and lookup helpers for the
//! index and catalog unit tests.

use std::net::IpAddr;

use hickory_proto::rr::{RData, RecordType};
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{Index, Lookup, Zone};
use crate::catalog::{Catalog, SERVICE_NAME_LABEL};

fn meta(ns: &str, name: &str) -> ObjectMeta {
    ObjectMeta {
        namespace: Some(ns.to_string()),
        name: Some(name.to_string()),
        ..ObjectMeta::default()
    }
}

/// A Service builder: ClusterIP `ip` ("None" for headless).
pub(crate) fn service(ns: &str, name: &str, ip: &str) -> Service {
    Service {
        metadata: meta(ns, name),
        spec: Some(ServiceSpec {
            cluster_ip: Some(ip.to_string()),
            ports: Some(vec![ServicePort {
                name: Some("http".to_string()),
                protocol: Some("TCP".to_string()),
                port: 80,
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// An endpoint: (address, hostname, ready).
pub(crate) type Ep<'a> = (&'a str, Option<&'a str>, Option<bool>);

pub(crate) fn slice(ns: &str, name: &str, service: &str, endpoints: &[Ep<'_>]) -> EndpointSlice {
    let mut metadata = meta(ns, name);
    metadata.labels = Some([(SERVICE_NAME_LABEL.to_string(), service.to_string())].into());
    EndpointSlice {
        metadata,
        address_type: "IPv4".to_string(),
        endpoints: endpoints
            .iter()
            .map(|(ip, hostname, ready)| Endpoint {
                addresses: vec![ip.to_string()],
                hostname: hostname.map(str::to_string),
                conditions: Some(EndpointConditions {
                    ready: *ready,
                    ..EndpointConditions::default()
                }),
                ..Endpoint::default()
            })
            .collect(),
        ports: Some(vec![EndpointPort {
            name: Some("http".to_string()),
            protocol: Some("TCP".to_string()),
            port: Some(8080),
            ..EndpointPort::default()
        }]),
    }
}

pub(crate) fn catalog() -> Catalog {
    Catalog::new(Zone::new("cluster.local", 5).expect("zone"))
}

pub(crate) fn ips(lookup: &Lookup) -> Vec<IpAddr> {
    let Lookup::Answer { answers, .. } = lookup else {
        return Vec::new();
    };
    answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

pub(crate) fn ip(text: &str) -> IpAddr {
    text.parse().expect("ip")
}

pub(crate) fn data(lookup: &Lookup) -> Vec<String> {
    let Lookup::Answer { answers, .. } = lookup else {
        return Vec::new();
    };
    answers.iter().map(|r| r.data.to_string()).collect()
}

pub(crate) fn get(index: &Index, name: &str, rtype: RecordType) -> Lookup {
    index.lookup_str(name, rtype).expect("valid name")
}
