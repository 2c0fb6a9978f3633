//! Wiring: shared informers, every controller registered on them, leader
//! election around the lot.

use std::future::Future;
use std::pin::Pin;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Namespace, Node, Pod, Service, ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::watcher;
use kube::{Api, Client};
use tokio::task::JoinSet;

use crate::informer::{Informer, Watched};
use crate::{
    ControllerOptions, Error, daemonset, deployment, endpoints, endpointslice, garbagecollector,
    namespace, nodeipam, nodelifecycle, replicaset, rootcacert, serviceaccount, statefulset,
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
    jobs: Informer<Job>,
    cron_jobs: Informer<CronJob>,
    pdbs: Informer<PodDisruptionBudget>,
    stateful_sets: Informer<StatefulSet>,
    controller_revisions: Informer<ControllerRevision>,
    claims: Informer<PersistentVolumeClaim>,
    daemon_sets: Informer<DaemonSet>,
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
            stateful_sets: informer(c),
            controller_revisions: informer(c),
            claims: informer(c),
            daemon_sets: informer(c),
            jobs: informer(c),
            cron_jobs: informer(c),
            pdbs: informer(c),
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
        tasks.push(Box::pin(self.jobs.run()));
        tasks.push(Box::pin(self.cron_jobs.run()));
        tasks.push(Box::pin(self.pdbs.run()));
        tasks.push(Box::pin(self.stateful_sets.run()));
        tasks.push(Box::pin(self.controller_revisions.run()));
        tasks.push(Box::pin(self.claims.run()));
        tasks.push(Box::pin(self.daemon_sets.run()));
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
    tasks.push(Box::pin(statefulset::register(
        c(),
        statefulset::Informers {
            stateful_sets: &mut i.stateful_sets,
            pods: &mut i.pods,
            revisions: &mut i.controller_revisions,
            claims: &mut i.claims,
        },
        o.concurrent_statefulset_syncs,
    )));
    tasks.push(Box::pin(daemonset::register(
        c(),
        daemonset::Informers {
            daemon_sets: &mut i.daemon_sets,
            pods: &mut i.pods,
            nodes: &mut i.nodes,
            revisions: &mut i.controller_revisions,
        },
        o.concurrent_daemonset_syncs,
    )));
    tasks.push(Box::pin(crate::job::register(
        c(),
        &mut i.pods,
        &mut i.jobs,
        o.concurrent_job_syncs,
        o.job_backoff,
    )));
    tasks.push(Box::pin(crate::job::ttl::register(
        c(),
        &mut i.jobs,
        o.concurrent_ttl_after_finished_syncs,
    )));
    tasks.push(Box::pin(crate::cronjob::register(
        c(),
        &mut i.cron_jobs,
        &mut i.jobs,
        o.cron_job_clock(),
        o.concurrent_cron_job_syncs,
    )));
    tasks.push(Box::pin(crate::disruption::register(
        c(),
        &mut i.pdbs,
        &mut i.pods,
        &i.replica_sets,
        &i.deployments,
        1,
    )));
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
