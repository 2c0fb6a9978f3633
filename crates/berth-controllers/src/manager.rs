//! Wiring: shared informers, every controller registered on them, leader
//! election around the lot.

use std::future::Future;
use std::pin::Pin;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Namespace, Node, Pod, Service, ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::watcher;
use kube::{Api, Client};
use tokio::task::JoinSet;

use crate::informer::{Informer, Watched};
use crate::{
    ControllerOptions, Error, deployment, endpoints, endpointslice, garbagecollector, namespace,
    nodeipam, nodelifecycle, replicaset, rootcacert, serviceaccount,
};

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs the controllers while this process leads (or always, without
/// `leader_elect`) until `shutdown` resolves. Losing leadership is an
/// error: the caller should exit, as upstream's controller manager does.
pub async fn run(
    client: Client,
    options: ControllerOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    options.validate()?;
    tokio::pin!(shutdown);
    if !options.leader_elect {
        return run_controllers(client, options, shutdown).await;
    }
    let acquire = berth_lease::acquire(client.clone(), options.lease.clone());
    let mut leadership = tokio::select! {
        l = acquire => l.map_err(|e| Error::Leadership(e.to_string()))?,
        () = &mut shutdown => return Ok(()),
    };
    let result = tokio::select! {
        r = run_controllers(client, options, &mut shutdown) => r,
        () = leadership.lost() => Err(Error::Leadership("leadership lost".into())),
    };
    leadership.release().await;
    result
}

/// Runs every controller, without leader election, until `shutdown`.
pub async fn run_controllers(
    client: Client,
    options: ControllerOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let mut tasks = JoinSet::new();
    for task in build(client, &options) {
        tasks.spawn(task);
    }
    tracing::info!(tasks = tasks.len(), "controllers started");
    shutdown.await;
    tasks.shutdown().await;
    Ok(())
}

fn informer<K: Watched>(client: &Client) -> Informer<K> {
    Informer::new(Api::all(client.clone()), watcher::Config::default())
}

fn named<K: Watched>(client: &Client, name: &str) -> Informer<K> {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    Informer::new(Api::all(client.clone()), config)
}

/// Every informer, shared by the controllers that read a kind.
struct Informers {
    pods: Informer<Pod>,
    replica_sets: Informer<ReplicaSet>,
    deployments: Informer<Deployment>,
    namespaces: Informer<Namespace>,
    service_accounts: Informer<ServiceAccount>,
    root_ca: Informer<ConfigMap>,
    services: Informer<Service>,
    endpoints: Informer<Endpoints>,
    slices: Informer<EndpointSlice>,
    nodes: Informer<Node>,
    leases: Informer<Lease>,
}

impl Informers {
    fn new(c: &Client) -> Self {
        let managed = format!(
            "{}={}",
            endpointslice::MANAGED_BY,
            endpointslice::CONTROLLER
        );
        Self {
            pods: informer(c).with_transform(crate::pod_state::trim),
            replica_sets: informer(c),
            deployments: informer(c),
            namespaces: informer(c),
            service_accounts: named(c, serviceaccount::DEFAULT),
            root_ca: named(c, rootcacert::NAME),
            services: informer(c),
            endpoints: informer(c),
            slices: Informer::new(
                Api::all(c.clone()),
                watcher::Config::default().labels(&managed),
            ),
            nodes: informer(c),
            leases: Informer::new(
                Api::namespaced(c.clone(), nodelifecycle::LEASE_NAMESPACE),
                watcher::Config::default(),
            ),
        }
    }

    fn run(self, tasks: &mut Vec<Task>) {
        tasks.push(Box::pin(self.pods.run()));
        tasks.push(Box::pin(self.replica_sets.run()));
        tasks.push(Box::pin(self.deployments.run()));
        tasks.push(Box::pin(self.namespaces.run()));
        tasks.push(Box::pin(self.service_accounts.run()));
        tasks.push(Box::pin(self.root_ca.run()));
        tasks.push(Box::pin(self.services.run()));
        tasks.push(Box::pin(self.endpoints.run()));
        tasks.push(Box::pin(self.slices.run()));
        tasks.push(Box::pin(self.nodes.run()));
        tasks.push(Box::pin(self.leases.run()));
    }
}

fn build(client: Client, o: &ControllerOptions) -> Vec<Task> {
    let c = || client.clone();
    let mut i = Informers::new(&client);
    let mut tasks: Vec<Task> = vec![
        Box::pin(replicaset::register(
            c(),
            &mut i.pods,
            &mut i.replica_sets,
            o.concurrent_replicaset_syncs,
        )),
        Box::pin(deployment::register(
            c(),
            &mut i.deployments,
            &mut i.replica_sets,
            &mut i.pods,
            o.concurrent_deployment_syncs,
        )),
        Box::pin(garbagecollector::run(c(), o.concurrent_gc_syncs)),
        Box::pin(namespace::register(
            c(),
            &mut i.namespaces,
            o.concurrent_namespace_syncs,
        )),
        Box::pin(serviceaccount::register(
            c(),
            &mut i.namespaces,
            &mut i.service_accounts,
        )),
        Box::pin(endpoints::register(
            c(),
            &mut i.services,
            &mut i.pods,
            &mut i.endpoints,
            o.concurrent_endpoint_syncs,
        )),
        Box::pin(endpointslice::register(
            c(),
            &mut i.services,
            &mut i.pods,
            &mut i.slices,
            o.concurrent_service_endpoint_syncs,
        )),
        Box::pin(nodelifecycle::register(
            c(),
            &mut i.nodes,
            &mut i.leases,
            &mut i.pods,
            o.node_monitor_grace_period,
            o.node_monitor_period,
        )),
    ];
    match &o.root_ca_pem {
        Some(ca) => tasks.push(Box::pin(rootcacert::register(
            c(),
            ca.clone(),
            &mut i.namespaces,
            &mut i.root_ca,
        ))),
        None => {
            tracing::warn!("no cluster CA in the kubeconfig: kube-root-ca.crt is not published")
        }
    }
    if o.allocate_node_cidrs {
        let blocks = nodeipam::Blocks::new(o.cluster_cidr, o.node_cidr_mask_size);
        tasks.push(Box::pin(nodeipam::register(c(), &mut i.nodes, blocks)));
    }
    i.run(&mut tasks);
    tasks
}
