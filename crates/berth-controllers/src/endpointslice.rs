//! The EndpointSlice controller, as upstream's
//! `pkg/controller/endpointslice`: for each Service with a selector,
//! IPv4 EndpointSlices (at most [`MAX_ENDPOINTS_PER_SLICE`] endpoints each,
//! one port set per slice) owned by the Service, labelled with
//! `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by`.
//! Endpoints carry ready/serving/terminating conditions; topology hints are
//! off. Existing slices are reused before new ones are created.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};

use crate::controller_ref::new_controller_ref;
use crate::endpoints::{self, pod_ip, publish_not_ready, service_pods, target_port};
use crate::informer::{Change, Informer};
use crate::{Error, pod_state, workqueue};

pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
pub const CONTROLLER: &str = "endpointslice-controller.k8s.io";

pub struct Context {
    client: Client,
    pods: Store<Pod>,
    slices: Store<EndpointSlice>,
}

/// Wires the controller; `slices` should watch only slices managed by it.
pub fn register(
    client: Client,
    services: &mut Informer<Service>,
    pods: &mut Informer<Pod>,
    slices: &mut Informer<EndpointSlice>,
    concurrency: u16,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let (queue, rx) = workqueue::queue::<Service>();
    let q = queue.clone();
    services.on_change(move |change| {
        if let Change::Applied { new, .. } = change {
            q.add(ObjectRef::from_obj(*new));
        }
    });
    let (q, svcs) = (queue.clone(), services.store());
    pods.on_change(move |change| endpoints::on_pod_change(change, &svcs, &q));
    let q = queue.clone();
    slices.on_change(move |change| {
        let s = change.object();
        if let Some(svc) = s.labels().get(SERVICE_NAME) {
            q.add_named(s.namespace().as_deref(), svc);
        }
    });
    let ctx = Arc::new(Context {
        client,
        pods: pods.store(),
        slices: slices.store(),
    });
    workqueue::run(
        "endpointslice",
        services.primary(),
        (queue, rx),
        reconcile,
        ctx,
        concurrency,
    )
}

fn endpoint(pod: &Pod, svc: &Service) -> Endpoint {
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let ready = pod_state::is_ready(pod);
    let spec = pod.spec.as_ref();
    Endpoint {
        addresses: vec![pod_ip(pod).unwrap_or_default().to_string()],
        conditions: Some(EndpointConditions {
            ready: Some(publish_not_ready(svc) || (ready && !terminating)),
            serving: Some(ready),
            terminating: Some(terminating),
        }),
        hostname: spec
            .filter(|s| s.subdomain.as_deref() == Some(svc.name_any().as_str()))
            .and_then(|s| s.hostname.clone()),
        node_name: spec.and_then(|s| s.node_name.clone()),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            namespace: pod.namespace(),
            name: pod.metadata.name.clone(),
            uid: pod.metadata.uid.clone(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The wanted slices' (ports, endpoints), chunked by [`MAX_ENDPOINTS_PER_SLICE`].
pub fn desired(svc: &Service, pods: &[Arc<Pod>]) -> Vec<(Vec<EndpointPort>, Vec<Endpoint>)> {
    let ports = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default();
    let mut groups: BTreeMap<String, (Vec<EndpointPort>, Vec<Endpoint>)> = BTreeMap::new();
    for pod in pods {
        let eps: Vec<EndpointPort> = ports
            .iter()
            .filter_map(|sp| {
                Some(EndpointPort {
                    name: Some(sp.name.clone().unwrap_or_default()),
                    port: Some(target_port(sp, pod)?),
                    protocol: Some(sp.protocol.clone().unwrap_or_else(|| "TCP".into())),
                    app_protocol: sp.app_protocol.clone(),
                })
            })
            .collect();
        if !ports.is_empty() && eps.is_empty() {
            continue;
        }
        let key = serde_json::to_string(&eps).unwrap_or_default();
        groups
            .entry(key)
            .or_insert_with(|| (eps, Vec::new()))
            .1
            .push(endpoint(pod, svc));
    }
    let mut out = Vec::new();
    for (ports, endpoints) in groups.into_values() {
        for chunk in endpoints.chunks(MAX_ENDPOINTS_PER_SLICE) {
            out.push((ports.clone(), chunk.to_vec()));
        }
    }
    if out.is_empty() {
        out.push((Vec::new(), Vec::new()));
    }
    out
}

fn labels(svc: &Service) -> BTreeMap<String, String> {
    let mut l = svc.labels().clone();
    l.insert(SERVICE_NAME.into(), svc.name_any());
    l.insert(MANAGED_BY.into(), CONTROLLER.into());
    l
}

/// Equal content, ignoring how empty fields are spelled (the server may
/// drop or add empty values; comparing them would update forever).
fn same(
    s: &EndpointSlice,
    ports: &[EndpointPort],
    endpoints: &[Endpoint],
    labels: &BTreeMap<String, String>,
) -> bool {
    let norm = |p: &[EndpointPort], e: &[Endpoint]| {
        crate::deployment::revision::normalize(serde_json::json!([p, e]))
    };
    norm(&s.ports.clone().unwrap_or_default(), &s.endpoints) == norm(ports, endpoints)
        && s.labels() == labels
}

async fn reconcile(svc: Arc<Service>, ctx: Arc<Context>) -> Result<Action, Error> {
    if endpoints::selector(&svc).is_none() {
        return Ok(Action::await_change());
    }
    let ns = svc.namespace().unwrap_or_default();
    let labels = labels(&svc);
    let mut existing: Vec<Arc<EndpointSlice>> = ctx
        .slices
        .state()
        .into_iter()
        .filter(|s| {
            s.namespace().as_deref() == Some(ns.as_str())
                && s.labels().get(SERVICE_NAME) == Some(&svc.name_any())
        })
        .collect();
    existing.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut todo = Vec::new();
    for (ports, eps) in desired(&svc, &service_pods(&svc, &ctx.pods)) {
        match existing.iter().position(|s| same(s, &ports, &eps, &labels)) {
            Some(i) => {
                existing.remove(i);
            }
            None => todo.push((ports, eps)),
        }
    }
    let api: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), &ns);
    for (ports, eps) in todo {
        write_slice(&api, &svc, existing.pop(), ports, eps, labels.clone()).await?;
    }
    for stale in existing {
        match api
            .delete(&stale.name_any(), &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            Err(e) if crate::error::is_not_found(&e) => {}
            Err(e) => return Err(Error::api("deleting EndpointSlice", stale.name_any(), e)),
        }
    }
    Ok(Action::await_change())
}

async fn write_slice(
    api: &Api<EndpointSlice>,
    svc: &Service,
    reuse: Option<Arc<EndpointSlice>>,
    ports: Vec<EndpointPort>,
    endpoints: Vec<Endpoint>,
    labels: BTreeMap<String, String>,
) -> Result<(), Error> {
    let ports = (!ports.is_empty()).then_some(ports);
    let result = match reuse {
        Some(s) => {
            let mut updated = (*s).clone();
            updated.ports = ports;
            updated.endpoints = endpoints;
            updated.metadata.labels = Some(labels);
            api.replace(&s.name_any(), &PostParams::default(), &updated)
                .await
        }
        None => {
            let slice = EndpointSlice {
                metadata: ObjectMeta {
                    generate_name: Some(format!("{}-", svc.name_any())),
                    namespace: svc.namespace(),
                    labels: Some(labels),
                    owner_references: Some(vec![new_controller_ref(svc)]),
                    ..Default::default()
                },
                address_type: "IPv4".into(),
                endpoints,
                ports,
            };
            api.create(&PostParams::default(), &slice).await
        }
    };
    match result {
        Ok(_) => Ok(()),
        Err(e) if crate::error::status_code(&e) == Some(403) => Ok(()),
        Err(e) => Err(Error::api("writing an EndpointSlice of", svc.name_any(), e)),
    }
}
