//! Shared informers: one watch per resource kind, a reflector store that
//! every controller reads, and change notifications fanned out to the
//! controllers' work queues.
//!
//! Invariant: a handler runs only after the store reflects the change it is
//! told about, so a reconcile it triggers never reads an older world. During
//! a relist (watch restarted, e.g. after `410 Gone`) nothing is announced
//! until the new list is complete; then every object whose resourceVersion
//! changed is announced as applied and every object that vanished as deleted.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::serde::de::DeserializeOwned;
use kube::Api;
use kube::Resource;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use tokio::sync::watch;

/// What happened to one object.
pub enum Change<'a, K> {
    /// Created or updated; `old` is the previous state when one was known.
    Applied { old: Option<Arc<K>>, new: &'a K },
    /// Deleted; the last state seen.
    Deleted(&'a K),
}

impl<K> Change<'_, K> {
    /// The object as it is now (or was last seen, when deleted).
    pub fn object(&self) -> &K {
        match self {
            Self::Applied { new, .. } => new,
            Self::Deleted(obj) => obj,
        }
    }
}

type Handler<K> = Box<dyn Fn(&Change<'_, K>) + Send + Sync>;

/// The kinds the informer handles: typed k8s-openapi resources.
pub trait Watched:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
}
impl<K> Watched for K where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
}

/// An informer's store with its readiness: the first complete list.
///
/// (kube-runtime's `Store::wait_until_ready` wakes only one of several
/// concurrent waiters, so controllers sharing a store wait on this.)
pub struct Primary<K: Watched> {
    pub store: Store<K>,
    pub ready: watch::Receiver<bool>,
}

/// One watch of one kind, its store and its change handlers.
pub struct Informer<K: Watched> {
    api: Api<K>,
    config: watcher::Config,
    writer: reflector::store::Writer<K>,
    reader: Store<K>,
    handlers: Vec<Handler<K>>,
    ready: watch::Sender<bool>,
    transform: Option<fn(&mut K)>,
}

impl<K: Watched> Informer<K> {
    pub fn new(api: Api<K>, config: watcher::Config) -> Self {
        let writer = reflector::store::Writer::default();
        let reader = writer.as_reader();
        Self {
            api,
            config,
            writer,
            reader,
            handlers: Vec::new(),
            ready: watch::channel(false).0,
            transform: None,
        }
    }

    /// The store, readable by anyone; ready after the first list.
    pub fn store(&self) -> Store<K> {
        self.reader.clone()
    }

    /// Drops what no controller reads before objects are stored (memory).
    pub fn with_transform(mut self, transform: fn(&mut K)) -> Self {
        self.transform = Some(transform);
        self
    }

    /// The store and a receiver that turns true once it is ready.
    pub fn primary(&self) -> Primary<K> {
        Primary {
            store: self.store(),
            ready: self.ready.subscribe(),
        }
    }

    /// Registers a handler; call before [`Informer::run`].
    pub fn on_change(&mut self, handler: impl Fn(&Change<'_, K>) + Send + Sync + 'static) {
        self.handlers.push(Box::new(handler));
    }

    /// Watches until the process ends, restarting the watch with backoff.
    pub async fn run(mut self) {
        let mut stream = watcher::watcher(self.api.clone(), self.config.clone())
            .default_backoff()
            .boxed();
        let mut before_relist: Option<HashMap<ObjectRef<K>, Arc<K>>> = None;
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => {
                    let event = match self.transform {
                        Some(t) => event.modify(t),
                        None => event,
                    };
                    self.apply(event, &mut before_relist);
                }
                Err(e) => {
                    tracing::warn!(kind = %K::kind(&()), error = %e, "watch failed; retrying")
                }
            }
        }
    }

    fn apply(&mut self, event: Event<K>, before: &mut Option<HashMap<ObjectRef<K>, Arc<K>>>) {
        match &event {
            Event::Init => {
                let state = self.reader.state();
                *before = Some(
                    state
                        .into_iter()
                        .map(|o| (ObjectRef::from_obj(&*o), o))
                        .collect(),
                );
                self.writer.apply_watcher_event(&event);
            }
            Event::InitApply(_) => self.writer.apply_watcher_event(&event),
            Event::InitDone => {
                self.writer.apply_watcher_event(&event);
                let old = before.take().unwrap_or_default();
                self.announce_relist(old);
                self.ready.send_replace(true);
            }
            Event::Apply(obj) => {
                let old = self.reader.get(&ObjectRef::from_obj(obj));
                self.writer.apply_watcher_event(&event);
                self.notify(&Change::Applied { old, new: obj });
            }
            Event::Delete(obj) => {
                self.writer.apply_watcher_event(&event);
                self.notify(&Change::Deleted(obj));
            }
        }
    }

    fn announce_relist(&self, mut old: HashMap<ObjectRef<K>, Arc<K>>) {
        for obj in self.reader.state() {
            let previous = old.remove(&ObjectRef::from_obj(&*obj));
            let unchanged = previous
                .as_ref()
                .is_some_and(|p| p.meta().resource_version == obj.meta().resource_version);
            if !unchanged {
                self.notify(&Change::Applied {
                    old: previous,
                    new: &obj,
                });
            }
        }
        for gone in old.values() {
            self.notify(&Change::Deleted(gone));
        }
    }

    fn notify(&self, change: &Change<'_, K>) {
        for handler in &self.handlers {
            handler(change);
        }
    }
}
