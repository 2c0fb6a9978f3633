//! The garbage collector, as upstream's `pkg/controller/garbagecollector`:
//! it watches the metadata of every listable kind (found through
//! discovery, rediscovered every 30 s for new CRDs), keeps the ownership
//! [`graph`], and deletes dependents whose owners are gone (Background),
//! finalizes owners deleted in the Foreground once their blocking
//! dependents are gone, and strips ownerReferences before finalizing owners
//! deleted with the Orphan policy ([`attempt`]).

mod attempt;
pub mod graph;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::discovery::{Discovery, Scope, verbs};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::sync::{mpsc, watch};

use graph::{Graph, Node, ObjectId, Work};

/// A kind the collector can read and delete: its API and scope.
#[derive(Clone, Debug)]
pub struct Kind {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// Kinds by (apiVersion, kind), every served version.
type Kinds = HashMap<(String, String), Kind>;

/// State shared by the watchers and the workers.
pub struct Collector {
    client: Client,
    graph: Mutex<Graph>,
    kinds: Mutex<Kinds>,
    queue: mpsc::UnboundedSender<Work>,
    pending: Mutex<HashSet<Work>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Collector {
    fn enqueue(&self, work: Vec<Work>) {
        let mut pending = lock(&self.pending);
        for w in work {
            if pending.insert(w.clone()) {
                let _ = self.queue.send(w);
            }
        }
    }

    /// The kind named by an ownerReference or object.
    pub fn kind(&self, api_version: &str, kind: &str) -> Option<Kind> {
        lock(&self.kinds)
            .get(&(api_version.to_string(), kind.to_string()))
            .cloned()
    }
}

/// Runs the collector until the process ends.
pub async fn run(client: Client, workers: u16) {
    let (tx, rx) = mpsc::unbounded_channel();
    let collector = Arc::new(Collector {
        client: client.clone(),
        graph: Mutex::default(),
        kinds: Mutex::default(),
        queue: tx,
        pending: Mutex::default(),
    });
    let (synced_tx, synced_rx) = watch::channel(false);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    for _ in 0..workers.max(1) {
        tokio::spawn(worker(collector.clone(), rx.clone(), synced_rx.clone()));
    }
    let mut watched: HashSet<(String, String)> = HashSet::new();
    let mut synced_tx = Some(synced_tx);
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tick.tick().await;
        match discover(&client).await {
            Ok((kinds, to_watch)) => {
                *lock(&collector.kinds) = kinds;
                let new: Vec<ApiResource> = to_watch
                    .into_iter()
                    .filter(|ar| watched.insert((ar.api_version.clone(), ar.kind.clone())))
                    .collect();
                let remaining = Arc::new(AtomicUsize::new(new.len()));
                let signal = synced_tx.take();
                let signal = Arc::new(Mutex::new(signal));
                for ar in new {
                    let c = collector.clone();
                    let (remaining, signal) = (remaining.clone(), signal.clone());
                    tokio::spawn(watch_kind(c, ar, move |c: &Collector| {
                        if remaining.fetch_sub(1, Ordering::SeqCst) == 1
                            && let Some(tx) = lock(&signal).take()
                        {
                            let work = lock(&c.graph).mark_synced();
                            c.enqueue(work);
                            let _ = tx.send(true);
                            tracing::info!("garbage collector synced");
                        }
                    }));
                }
            }
            Err(e) => tracing::warn!(error = %e, "garbage collector discovery failed"),
        }
    }
}

/// Every served kind, and the preferred version of each listable,
/// watchable, deletable kind (events excepted, as upstream).
async fn discover(client: &Client) -> Result<(Kinds, Vec<ApiResource>), kube::Error> {
    let discovery = Discovery::new(client.clone()).run().await?;
    let mut kinds = Kinds::new();
    let mut to_watch = Vec::new();
    for group in discovery.groups() {
        for version in group.versions() {
            for (ar, caps) in group.versioned_resources(version) {
                let namespaced = caps.scope == Scope::Namespaced;
                kinds.insert(
                    (ar.api_version.clone(), ar.kind.clone()),
                    Kind {
                        resource: ar,
                        namespaced,
                    },
                );
            }
        }
        for (ar, caps) in group.recommended_resources() {
            let ok = [verbs::LIST, verbs::WATCH, verbs::DELETE]
                .iter()
                .all(|v| caps.supports_operation(v));
            if ok && ar.plural != "events" {
                to_watch.push(ar);
            }
        }
    }
    Ok((kinds, to_watch))
}

async fn watch_kind(c: Arc<Collector>, ar: ApiResource, on_first_sync: impl Fn(&Collector) + Send) {
    let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(c.client.clone(), &ar);
    let mut events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut known: HashSet<String> = HashSet::new();
    let mut relisting: Option<HashSet<String>> = None;
    let mut first = true;
    let id = |m: &kube::api::ObjectMeta| ObjectId {
        api_version: ar.api_version.clone(),
        kind: ar.kind.clone(),
        namespace: m.namespace.clone(),
        name: m.name.clone().unwrap_or_default(),
        uid: m.uid.clone().unwrap_or_default(),
    };
    while let Some(event) = events.next().await {
        let work = match event {
            Ok(Event::Init) => {
                relisting = Some(HashSet::new());
                Vec::new()
            }
            Ok(Event::InitApply(o)) => {
                let uid = o.metadata.uid.clone().unwrap_or_default();
                relisting.get_or_insert_with(HashSet::new).insert(uid);
                lock(&c.graph).apply(Node::new(id(&o.metadata), &o.metadata))
            }
            Ok(Event::InitDone) => {
                let seen = relisting.take().unwrap_or_default();
                let mut g = lock(&c.graph);
                let work = known
                    .difference(&seen)
                    .flat_map(|uid| g.delete(uid))
                    .collect();
                known = seen;
                drop(g);
                if std::mem::take(&mut first) {
                    on_first_sync(&c);
                }
                work
            }
            Ok(Event::Apply(o)) => {
                known.insert(o.metadata.uid.clone().unwrap_or_default());
                lock(&c.graph).apply(Node::new(id(&o.metadata), &o.metadata))
            }
            Ok(Event::Delete(o)) => {
                let uid = o.metadata.uid.clone().unwrap_or_default();
                known.remove(&uid);
                lock(&c.graph).delete(&uid)
            }
            Err(e) => {
                tracing::debug!(kind = %ar.kind, error = %e, "garbage collector watch failed; retrying");
                Vec::new()
            }
        };
        c.enqueue(work);
    }
}

async fn worker(
    c: Arc<Collector>,
    rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Work>>>,
    mut synced: watch::Receiver<bool>,
) {
    if synced.wait_for(|s| *s).await.is_err() {
        return;
    }
    loop {
        let Some(work) = rx.lock().await.recv().await else {
            return;
        };
        lock(&c.pending).remove(&work);
        if let Err(e) = attempt::process(&c, &work).await {
            tracing::debug!(?work, error = %e, "garbage collection failed; retrying");
            let c = c.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                c.enqueue(vec![work]);
            });
        }
    }
}
