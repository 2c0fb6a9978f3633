//! The Endpoints controller, as upstream's `pkg/controller/endpoint`: for
//! each Service with a selector, an Endpoints object of the same name whose
//! subsets list the matching pods' IPs (ready ones as addresses, others as
//! notReadyAddresses unless `publishNotReadyAddresses`) and the Service's
//! ports, named targetPorts resolved per pod; pods with the same ports
//! share a subset.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service,
    ServicePort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};

use crate::informer::{Change, Informer};
use crate::{Error, pod_state, workqueue};

pub struct Context {
    client: Client,
    pods: Store<Pod>,
    endpoints: Store<Endpoints>,
}

/// The Service's selector, if it has a non-empty one (others are not ours).
pub fn selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    svc.spec
        .as_ref()?
        .selector
        .as_ref()
        .filter(|s| !s.is_empty())
}

/// Enqueues the Services in `pod`'s namespace that select it.
pub fn enqueue_selecting(pod: &Pod, services: &Store<Service>, queue: &workqueue::Queue<Service>) {
    let ns = pod.namespace();
    for svc in services.state() {
        if svc.namespace() != ns {
            continue;
        }
        if selector(&svc).is_some_and(|sel| sel.iter().all(|(k, v)| pod.labels().get(k) == Some(v)))
        {
            queue.add(ObjectRef::from_obj(&*svc));
        }
    }
}

/// Pod changes concern the Services selecting the pod before and after.
pub fn on_pod_change(
    change: &Change<'_, Pod>,
    services: &Store<Service>,
    queue: &workqueue::Queue<Service>,
) {
    if let Change::Applied { old: Some(old), .. } = change
        && old.labels() != change.object().labels()
    {
        enqueue_selecting(old, services, queue);
    }
    enqueue_selecting(change.object(), services, queue);
}

/// Pods selected by the Service that have an IP and are not finished.
pub fn service_pods(svc: &Service, pods: &Store<Pod>) -> Vec<Arc<Pod>> {
    let Some(sel) = selector(svc) else {
        return Vec::new();
    };
    let ns = svc.namespace();
    let mut out: Vec<Arc<Pod>> = pods
        .state()
        .into_iter()
        .filter(|p| p.namespace() == ns && sel.iter().all(|(k, v)| p.labels().get(k) == Some(v)))
        .filter(|p| !pod_state::is_terminal(p) && pod_ip(p).is_some())
        .collect();
    out.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    out
}

pub fn pod_ip(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()?
        .pod_ip
        .as_deref()
        .filter(|ip| !ip.is_empty())
}

/// The port a Service port targets on this pod: a number, or the
/// container port with that name (None when the pod has no such port).
pub fn target_port(sp: &ServicePort, pod: &Pod) -> Option<i32> {
    match &sp.target_port {
        None => Some(sp.port),
        Some(IntOrString::Int(p)) => Some(*p),
        Some(IntOrString::String(name)) => pod
            .spec
            .as_ref()?
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .map(|p| p.container_port),
    }
}

pub fn publish_not_ready(svc: &Service) -> bool {
    svc.spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false)
}

/// Wires the controller; returns its run future.
pub fn register(
    client: Client,
    services: &mut Informer<Service>,
    pods: &mut Informer<Pod>,
    endpoints: &mut Informer<Endpoints>,
    concurrency: u16,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let (queue, rx) = workqueue::queue::<Service>();
    let q = queue.clone();
    let deleter = client.clone();
    services.on_change(move |change| match change {
        Change::Applied { new, .. } => q.add(ObjectRef::from_obj(*new)),
        Change::Deleted(svc) => delete_endpoints(&deleter, svc),
    });
    let (q, svcs) = (queue.clone(), services.store());
    pods.on_change(move |change| on_pod_change(change, &svcs, &q));
    let q = queue.clone();
    endpoints.on_change(move |change| {
        q.add_named(
            change.object().namespace().as_deref(),
            &change.object().name_any(),
        )
    });
    let ctx = Arc::new(Context {
        client,
        pods: pods.store(),
        endpoints: endpoints.store(),
    });
    workqueue::run(
        "endpoints",
        services.primary(),
        (queue, rx),
        reconcile,
        ctx,
        concurrency,
    )
}

fn delete_endpoints(client: &Client, svc: &Service) {
    if selector(svc).is_none() {
        return;
    }
    let api: Api<Endpoints> = Api::namespaced(client.clone(), &svc.namespace().unwrap_or_default());
    let name = svc.name_any();
    tokio::spawn(async move {
        let _ = api.delete(&name, &DeleteParams::default()).await;
    });
}

/// Pods sharing one port set: the ports, ready and not-ready addresses.
type PortGroup = (
    Vec<EndpointPort>,
    Vec<EndpointAddress>,
    Vec<EndpointAddress>,
);

/// The subsets for this Service's pods, packed by port set and sorted.
pub fn subsets(svc: &Service, pods: &[Arc<Pod>]) -> Vec<EndpointSubset> {
    let ports = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default();
    let publish = publish_not_ready(svc);
    let mut groups: BTreeMap<String, PortGroup> = BTreeMap::new();
    for pod in pods {
        let terminating = pod.metadata.deletion_timestamp.is_some();
        if terminating && !publish {
            continue;
        }
        let mut eps: Vec<EndpointPort> = ports
            .iter()
            .filter_map(|sp| {
                Some(EndpointPort {
                    name: sp.name.clone(),
                    port: target_port(sp, pod)?,
                    protocol: sp.protocol.clone().or_else(|| Some("TCP".into())),
                    app_protocol: sp.app_protocol.clone(),
                })
            })
            .collect();
        if !ports.is_empty() && eps.is_empty() {
            continue;
        }
        eps.sort_by(|a, b| (&a.name, a.port).cmp(&(&b.name, b.port)));
        let key = serde_json::to_string(&eps).unwrap_or_default();
        let entry = groups
            .entry(key)
            .or_insert_with(|| (eps, Vec::new(), Vec::new()));
        let addr = address(pod, svc);
        if publish || (pod_state::is_ready(pod) && !terminating) {
            entry.1.push(addr);
        } else {
            entry.2.push(addr);
        }
    }
    groups
        .into_values()
        .map(|(ports, mut ready, mut not_ready)| {
            ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            not_ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            EndpointSubset {
                addresses: (!ready.is_empty()).then_some(ready),
                not_ready_addresses: (!not_ready.is_empty()).then_some(not_ready),
                ports: (!ports.is_empty()).then_some(ports),
            }
        })
        .collect()
}

fn address(pod: &Pod, svc: &Service) -> EndpointAddress {
    let spec = pod.spec.as_ref();
    let hostname = spec
        .filter(|s| s.subdomain.as_deref() == Some(svc.name_any().as_str()))
        .and_then(|s| s.hostname.clone());
    EndpointAddress {
        ip: pod_ip(pod).unwrap_or_default().to_string(),
        hostname,
        node_name: spec.and_then(|s| s.node_name.clone()),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            namespace: pod.namespace(),
            name: pod.metadata.name.clone(),
            uid: pod.metadata.uid.clone(),
            ..Default::default()
        }),
    }
}

async fn reconcile(svc: Arc<Service>, ctx: Arc<Context>) -> Result<Action, Error> {
    if selector(&svc).is_none() {
        return Ok(Action::await_change());
    }
    let ns = svc.namespace().unwrap_or_default();
    let pods = service_pods(&svc, &ctx.pods);
    let subsets = subsets(&svc, &pods);
    let subsets = (!subsets.is_empty()).then_some(subsets);
    let mut labels = svc.labels().clone();
    if svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None") {
        labels.insert("service.kubernetes.io/headless".into(), String::new());
    }
    let api: Api<Endpoints> = Api::namespaced(ctx.client.clone(), &ns);
    let existing = ctx
        .endpoints
        .get(&ObjectRef::new(&svc.name_any()).within(&ns));
    let result = match existing {
        Some(e)
            if e.subsets == subsets && e.metadata.labels.clone().unwrap_or_default() == labels =>
        {
            return Ok(Action::await_change());
        }
        Some(e) => {
            let mut updated = (*e).clone();
            updated.subsets = subsets;
            updated.metadata.labels = Some(labels);
            api.replace(&svc.name_any(), &PostParams::default(), &updated)
                .await
        }
        None => {
            let e = Endpoints {
                metadata: ObjectMeta {
                    name: Some(svc.name_any()),
                    namespace: Some(ns.clone()),
                    labels: Some(labels),
                    ..Default::default()
                },
                subsets,
            };
            api.create(&PostParams::default(), &e).await
        }
    };
    match result {
        Ok(_) => Ok(Action::await_change()),
        Err(e) if crate::error::status_code(&e) == Some(403) => Ok(Action::await_change()),
        Err(e) => Err(Error::api("writing the endpoints of", svc.name_any(), e)),
    }
}
