//! Watchers for everything the scheduler reads, funnelled into one channel.
//!
//! Each resource kind gets a kube-runtime watcher task (list, then watch
//! from the list's resourceVersion, re-listing on expiry with backoff). The
//! tasks translate the watcher's events into [`Update`]s and send them to
//! the scheduling loop, which owns all state, so no lock is shared.
//! Workload objects (Services, ReplicaSets, StatefulSets) are reduced to
//! their pod selector here, so the loop never holds them.

use std::fmt::Debug;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::selector::LabelSelector;
use crate::snapshot::{DisruptionBudget, WorkloadSelector};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

/// A change to one watched object (or a re-list boundary).
#[derive(Debug)]
pub(crate) enum Update {
    /// A Node.
    Node(Box<Event<Node>>),
    /// A Pod (assigned or not).
    Pod(Box<Event<Pod>>),
    /// A Namespace (its labels matter to affinity namespace selectors).
    Namespace(Box<Event<Namespace>>),
    /// A PriorityClass.
    PriorityClass(Box<Event<PriorityClass>>),
    /// A Service, ReplicaSet or StatefulSet (the kind), as its selector.
    Workload(&'static str, Event<Workload>),
    /// A PodDisruptionBudget, as preemption sees it (keyed `namespace/name`).
    DisruptionBudget(Event<(String, DisruptionBudget)>),
}

/// A workload reduced to what default topology spreading needs.
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    /// `kind/namespace/name`.
    pub key: String,
    /// Its pod selector; `None` when it selects no pod.
    pub selector: Option<WorkloadSelector>,
}

/// The watcher tasks; dropping this aborts them.
pub(crate) struct Informers {
    _tasks: JoinSet<()>,
}

/// Starts one watcher per kind, all sending to `tx`.
pub(crate) fn start(client: &Client, tx: mpsc::Sender<Update>) -> Informers {
    let mut tasks = JoinSet::new();
    let config = watcher::Config::default;
    forward(
        &mut tasks,
        Api::<PriorityClass>::all(client.clone()),
        config(),
        tx.clone(),
        |e| Update::PriorityClass(Box::new(e)),
    );
    forward(
        &mut tasks,
        Api::<Namespace>::all(client.clone()),
        config(),
        tx.clone(),
        |e| Update::Namespace(Box::new(e)),
    );
    forward(
        &mut tasks,
        Api::<Node>::all(client.clone()),
        config(),
        tx.clone(),
        |e| Update::Node(Box::new(e)),
    );
    forward(
        &mut tasks,
        Api::<Pod>::all(client.clone()),
        config(),
        tx.clone(),
        |e| Update::Pod(Box::new(e)),
    );
    forward(
        &mut tasks,
        Api::<Service>::all(client.clone()),
        config(),
        tx.clone(),
        |e| Update::Workload("Service", map_event(e, |s: Service| service_workload(&s))),
    );
    forward(
        &mut tasks,
        Api::<ReplicaSet>::all(client.clone()),
        config(),
        tx.clone(),
        |e| {
            Update::Workload(
                "ReplicaSet",
                map_event(e, |r: ReplicaSet| {
                    let selector = r.spec.as_ref().map(|s| &s.selector);
                    workload("ReplicaSet", &r, selector)
                }),
            )
        },
    );
    forward(
        &mut tasks,
        Api::<PodDisruptionBudget>::all(client.clone()),
        config(),
        tx.clone(),
        |e| Update::DisruptionBudget(map_event(e, |b: PodDisruptionBudget| disruption_budget(&b))),
    );
    forward(
        &mut tasks,
        Api::<StatefulSet>::all(client.clone()),
        config(),
        tx,
        |e| {
            Update::Workload(
                "StatefulSet",
                map_event(e, |s: StatefulSet| {
                    let selector = s.spec.as_ref().map(|s| &s.selector);
                    workload("StatefulSet", &s, selector)
                }),
            )
        },
    );
    Informers { _tasks: tasks }
}

/// `namespace/name` and the budget; a selector that does not compile selects nothing.
fn disruption_budget(b: &PodDisruptionBudget) -> (String, DisruptionBudget) {
    let namespace = b.metadata.namespace.clone().unwrap_or_default();
    let key = format!(
        "{namespace}/{}",
        b.metadata.name.as_deref().unwrap_or_default()
    );
    let selector = b.spec.as_ref().and_then(|s| s.selector.as_ref());
    let selector = match selector {
        Some(s) => LabelSelector::from_api(Some(s)).unwrap_or_else(|_| LabelSelector::nothing()),
        None => LabelSelector::nothing(),
    };
    let allowed = b.status.as_ref().map_or(0, |s| s.disruptions_allowed);
    let budget = DisruptionBudget {
        namespace,
        selector,
        disruptions_allowed: i64::from(allowed),
    };
    (key, budget)
}

fn forward<K, F>(
    tasks: &mut JoinSet<()>,
    api: Api<K>,
    config: watcher::Config,
    tx: mpsc::Sender<Update>,
    wrap: F,
) where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    K::DynamicType: Default,
    F: Fn(Event<K>) -> Update + Send + 'static,
{
    tasks.spawn(async move {
        let kind = K::kind(&K::DynamicType::default()).into_owned();
        let mut events = watcher::watcher(api, config).default_backoff().boxed();
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => {
                    if tx.send(wrap(event)).await.is_err() {
                        return;
                    }
                }
                Err(error) => tracing::warn!(%error, %kind, "watch failed; retrying"),
            }
        }
    });
}

fn workload<K: Resource>(
    kind: &str,
    object: &K,
    selector: Option<&metav1::LabelSelector>,
) -> Workload {
    let meta = object.meta();
    let namespace = meta.namespace.clone().unwrap_or_default();
    let key = format!(
        "{kind}/{namespace}/{}",
        meta.name.as_deref().unwrap_or_default()
    );
    let selector = selector
        .and_then(|s| LabelSelector::from_api(Some(s)).ok())
        .filter(|s| !s.is_everything())
        .map(|selector| WorkloadSelector {
            namespace,
            selector,
        });
    Workload { key, selector }
}

fn service_workload(service: &Service) -> Workload {
    let selector = service
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .filter(|s| !s.is_empty())
        .map(|labels| metav1::LabelSelector {
            match_labels: Some(labels.clone()),
            match_expressions: None,
        });
    workload("Service", service, selector.as_ref())
}

/// Applies `f` to the object(s) of a watcher event.
fn map_event<A, B>(event: Event<A>, f: impl Fn(A) -> B) -> Event<B> {
    match event {
        Event::Apply(a) => Event::Apply(f(a)),
        Event::Delete(a) => Event::Delete(f(a)),
        Event::Init => Event::Init,
        Event::InitApply(a) => Event::InitApply(f(a)),
        Event::InitDone => Event::InitDone,
    }
}
