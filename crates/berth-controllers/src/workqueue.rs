//! A controller's work queue and its run loop: object references go in
//! (from informer handlers or anyone), kube-runtime's applier deduplicates
//! them, runs the reconciler with bounded concurrency, and requeues after
//! the [`Action`] the reconciler returned or the error policy chose.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc;
use kube::runtime::controller::{self, Action};
use kube::runtime::reflector::ObjectRef;

use crate::Error;
use crate::informer::{Primary, Watched};

/// Sends object references to one controller. Cheap to clone.
pub struct Queue<K: Watched> {
    tx: mpsc::UnboundedSender<ObjectRef<K>>,
}

impl<K: Watched> Clone for Queue<K> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

impl<K: Watched> Queue<K> {
    /// Asks for `obj_ref` to be reconciled (again).
    pub fn add(&self, obj_ref: ObjectRef<K>) {
        let _ = self.tx.unbounded_send(obj_ref);
    }

    /// Asks for the object with this namespace and name to be reconciled.
    pub fn add_named(&self, namespace: Option<&str>, name: &str) {
        let r = ObjectRef::new(name);
        self.add(match namespace {
            Some(ns) => r.within(ns),
            None => r,
        });
    }
}

/// The receiving half, consumed by [`run`].
pub struct Receiver<K: Watched>(mpsc::UnboundedReceiver<ObjectRef<K>>);

/// A new queue.
pub fn queue<K: Watched>() -> (Queue<K>, Receiver<K>) {
    let (tx, rx) = mpsc::unbounded();
    (Queue { tx }, Receiver(rx))
}

/// Runs `reconcile` for every queued reference whose object is in `store`,
/// at most `concurrency` at a time (never two for the same object), until
/// the queue closes. Every object in the store is reconciled once at start.
pub async fn run<K, C, F, Fut>(
    name: &'static str,
    primary: Primary<K>,
    queue: (Queue<K>, Receiver<K>),
    reconcile: F,
    ctx: Arc<C>,
    concurrency: u16,
) where
    K: Watched,
    C: Send + Sync + 'static,
    F: Fn(Arc<K>, Arc<C>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Action, Error>> + Send + 'static,
{
    let (tx, Receiver(rx)) = queue;
    let Primary { store, mut ready } = primary;
    if ready.wait_for(|r| *r).await.is_err() {
        return;
    }
    for obj in store.state() {
        tx.add(ObjectRef::from_obj(&*obj));
    }
    drop(tx);
    let config = controller::Config::default().concurrency(concurrency);
    let results = controller::applier(
        move |obj, ctx| Box::pin(reconcile(obj, ctx)),
        move |obj: Arc<K>, err: &Error, _ctx| error_policy(name, &*obj, err),
        ctx,
        store,
        rx.map(Ok::<_, Infallible>),
        config,
    );
    results
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(controller = name, error = %e, "applier");
            }
        })
        .await;
}

fn error_policy<K: Watched>(controller: &str, obj: &K, err: &Error) -> Action {
    let object = ObjectRef::from_obj(obj);
    if err.is_conflict() {
        tracing::debug!(controller, %object, error = %err, "conflict; retrying");
        return Action::requeue(Duration::from_millis(100));
    }
    tracing::warn!(controller, %object, error = %err, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(2))
}
