//! The `kube-system/kube-dns` Service and its EndpointSlice, so a service
//! proxy routes the cluster's DNS address to this server. Ensured
//! idempotently: created if missing, updated if different, left alone
//! otherwise (a changed ClusterIP, which is immutable, means delete and
//! create).

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Client, Error};

use crate::catalog::SERVICE_NAME_LABEL;
use crate::{DnsError, DnsOptions};

pub const NAMESPACE: &str = "kube-system";
pub const NAME: &str = "kube-dns";
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "berth-dns";
/// The metrics port upstream's kube-dns Service declares.
const METRICS_PORT: i32 = 9153;

/// Ensures the Service and EndpointSlice when `options.service_ip` is set.
pub async fn ensure(client: &Client, options: &DnsOptions) -> Result<(), DnsError> {
    let Some(service_ip) = options.service_ip else {
        return Ok(());
    };
    let port = i32::from(options.endpoint_port);
    ensure_service(client, desired_service(service_ip, port))
        .await
        .map_err(|source| DnsError::KubeDns {
            kind: "Service",
            source,
        })?;
    let slice = desired_slice(service_ip, &options.endpoint_ips, port);
    ensure_slice(client, slice)
        .await
        .map_err(|source| DnsError::KubeDns {
            kind: "EndpointSlice",
            source,
        })
}

fn meta(labels: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(NAME.to_string()),
        namespace: Some(NAMESPACE.to_string()),
        labels: Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..ObjectMeta::default()
    }
}

fn service_port(name: &str, protocol: &str, port: i32, target: i32) -> ServicePort {
    ServicePort {
        name: Some(name.to_string()),
        protocol: Some(protocol.to_string()),
        port,
        target_port: Some(IntOrString::Int(target)),
        ..ServicePort::default()
    }
}

/// Upstream's kube-dns Service (labels, ports 53/UDP, 53/TCP, 9153/TCP),
/// without a selector: its endpoints are ours.
pub fn desired_service(service_ip: IpAddr, endpoint_port: i32) -> Service {
    let mut metadata = meta(&[
        ("k8s-app", "kube-dns"),
        ("kubernetes.io/cluster-service", "true"),
        ("kubernetes.io/name", "CoreDNS"),
    ]);
    metadata.annotations = Some(BTreeMap::from([
        ("prometheus.io/port".to_string(), METRICS_PORT.to_string()),
        ("prometheus.io/scrape".to_string(), "true".to_string()),
    ]));
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            cluster_ip: Some(service_ip.to_string()),
            cluster_ips: Some(vec![service_ip.to_string()]),
            ports: Some(vec![
                service_port("dns", "UDP", 53, endpoint_port),
                service_port("dns-tcp", "TCP", 53, endpoint_port),
                service_port("metrics", "TCP", METRICS_PORT, METRICS_PORT),
            ]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// One EndpointSlice of the addresses in the Service IP's family.
pub fn desired_slice(
    service_ip: IpAddr,
    endpoint_ips: &[IpAddr],
    endpoint_port: i32,
) -> EndpointSlice {
    let port = |name: &str, protocol: &str| EndpointPort {
        name: Some(name.to_string()),
        protocol: Some(protocol.to_string()),
        port: Some(endpoint_port),
        ..EndpointPort::default()
    };
    let endpoints = endpoint_ips
        .iter()
        .filter(|ip| ip.is_ipv4() == service_ip.is_ipv4())
        .map(|ip| Endpoint {
            addresses: vec![ip.to_string()],
            conditions: Some(EndpointConditions {
                ready: Some(true),
                serving: Some(true),
                terminating: Some(false),
            }),
            ..Endpoint::default()
        })
        .collect();
    EndpointSlice {
        metadata: meta(&[(SERVICE_NAME_LABEL, NAME), (MANAGED_BY_LABEL, MANAGED_BY)]),
        address_type: if service_ip.is_ipv4() { "IPv4" } else { "IPv6" }.to_string(),
        endpoints,
        ports: Some(vec![port("dns", "UDP"), port("dns-tcp", "TCP")]),
    }
}

fn labels_cover(existing: &ObjectMeta, desired: &ObjectMeta) -> bool {
    let have = existing.labels.clone().unwrap_or_default();
    desired
        .labels
        .iter()
        .flatten()
        .all(|(k, v)| have.get(k) == Some(v))
}

fn merged_labels(existing: &ObjectMeta, desired: &ObjectMeta) -> Option<BTreeMap<String, String>> {
    let mut labels = existing.labels.clone().unwrap_or_default();
    labels.extend(desired.labels.clone().unwrap_or_default());
    Some(labels)
}

async fn ensure_service(client: &Client, desired: Service) -> Result<(), Error> {
    let api: Api<Service> = Api::namespaced(client.clone(), NAMESPACE);
    let Some(mut existing) = api.get_opt(NAME).await? else {
        return create(&api, &desired).await;
    };
    let (have, want) = (
        existing.spec.clone().unwrap_or_default(),
        desired.spec.clone().unwrap_or_default(),
    );
    if have.cluster_ip != want.cluster_ip {
        tracing::info!(from = ?have.cluster_ip, to = ?want.cluster_ip, "recreating kube-dns Service");
        api.delete(NAME, &DeleteParams::default()).await?;
        return create(&api, &desired).await;
    }
    let same_ports = have.ports == want.ports;
    if same_ports && have.selector.is_none() && labels_cover(&existing.metadata, &desired.metadata)
    {
        return Ok(());
    }
    existing.metadata.labels = merged_labels(&existing.metadata, &desired.metadata);
    let spec = existing.spec.get_or_insert_with(ServiceSpec::default);
    spec.ports = want.ports;
    spec.selector = None;
    api.replace(NAME, &PostParams::default(), &existing)
        .await
        .map(drop)
}

async fn ensure_slice(client: &Client, desired: EndpointSlice) -> Result<(), Error> {
    let api: Api<EndpointSlice> = Api::namespaced(client.clone(), NAMESPACE);
    let Some(mut existing) = api.get_opt(NAME).await? else {
        return create(&api, &desired).await;
    };
    let same = existing.address_type == desired.address_type
        && existing.endpoints == desired.endpoints
        && existing.ports == desired.ports
        && labels_cover(&existing.metadata, &desired.metadata);
    if same {
        return Ok(());
    }
    if existing.address_type != desired.address_type {
        api.delete(NAME, &DeleteParams::default()).await?;
        return create(&api, &desired).await;
    }
    existing.metadata.labels = merged_labels(&existing.metadata, &desired.metadata);
    existing.endpoints = desired.endpoints;
    existing.ports = desired.ports;
    api.replace(NAME, &PostParams::default(), &existing)
        .await
        .map(drop)
}

async fn create<K>(api: &Api<K>, object: &K) -> Result<(), Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    match api.create(&PostParams::default(), object).await {
        Ok(_) => Ok(()),
        // Created concurrently (another replica): the next ensure compares.
        Err(Error::Api(status)) if status.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}
