//! Test builders for Services and EndpointSlices (unit tests only).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ClientIPConfig, ObjectReference, Service, ServicePort, ServiceSpec, SessionAffinityConfig,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::model::SERVICE_NAME_LABEL;

/// A ClusterIP Service `default/<name>` at `ip` with no ports yet.
pub fn service(name: &str, ip: &str) -> Service {
    Service {
        metadata: ObjectMeta {
            namespace: Some("default".into()),
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            cluster_ip: Some(ip.into()),
            cluster_ips: Some(vec![ip.into()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub trait ServiceExt {
    fn port(self, name: &str, protocol: &str, port: i32) -> Self;
    fn node_port(self, name: &str, port: i32, node_port: i32) -> Self;
    fn edit(self, f: impl FnOnce(&mut ServiceSpec)) -> Self;
    fn affinity(self, timeout: Option<i32>) -> Self;
}

impl ServiceExt for Service {
    fn port(self, name: &str, protocol: &str, port: i32) -> Self {
        self.edit(|s| {
            s.ports.get_or_insert_with(Vec::new).push(ServicePort {
                name: (!name.is_empty()).then(|| name.into()),
                protocol: Some(protocol.into()),
                port,
                ..Default::default()
            })
        })
    }

    fn node_port(self, name: &str, port: i32, node_port: i32) -> Self {
        self.edit(|s| {
            s.type_ = Some("NodePort".into());
            s.ports.get_or_insert_with(Vec::new).push(ServicePort {
                name: Some(name.into()),
                protocol: Some("TCP".into()),
                port,
                node_port: Some(node_port),
                ..Default::default()
            })
        })
    }

    fn edit(mut self, f: impl FnOnce(&mut ServiceSpec)) -> Self {
        if let Some(spec) = self.spec.as_mut() {
            f(spec);
        }
        self
    }

    fn affinity(self, timeout: Option<i32>) -> Self {
        self.edit(|s| {
            s.session_affinity = Some("ClientIP".into());
            s.session_affinity_config = Some(SessionAffinityConfig {
                client_ip: Some(ClientIPConfig {
                    timeout_seconds: timeout,
                }),
            });
        })
    }
}

/// An endpoint: address, node, and (ready, serving, terminating).
pub fn endpoint(ip: &str, node: &str, conditions: (bool, bool, bool)) -> Endpoint {
    Endpoint {
        addresses: vec![ip.into()],
        node_name: Some(node.into()),
        conditions: Some(EndpointConditions {
            ready: Some(conditions.0),
            serving: Some(conditions.1),
            terminating: Some(conditions.2),
        }),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            name: Some(format!("pod-{ip}")),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub const READY: (bool, bool, bool) = (true, true, false);
pub const NOT_READY: (bool, bool, bool) = (false, false, false);
pub const TERMINATING_SERVING: (bool, bool, bool) = (false, true, true);

/// An IPv4 slice of `default/<service>` with one port.
pub fn slice(service: &str, port: (&str, &str, i32), endpoints: Vec<Endpoint>) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            namespace: Some("default".into()),
            name: Some(format!("{service}-abc")),
            labels: Some(BTreeMap::from([(
                SERVICE_NAME_LABEL.to_string(),
                service.to_string(),
            )])),
            ..Default::default()
        },
        address_type: "IPv4".into(),
        endpoints,
        ports: Some(vec![EndpointPort {
            name: Some(port.0.into()),
            protocol: Some(port.1.into()),
            port: Some(port.2),
            ..Default::default()
        }]),
    }
}
