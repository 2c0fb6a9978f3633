//! Keeping the index current: kube-rs watchers on Services and
//! EndpointSlices cluster-wide feed the [`Catalog`], which publishes a new
//! snapshot after each burst of events (events already waiting are applied
//! first, so a relist publishes once).

use std::sync::Arc;

use futures::{FutureExt, Stream, StreamExt};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};

use crate::catalog::Catalog;
use crate::server::Shared;

/// At most this many waiting events are applied before a snapshot is published.
const BURST: usize = 4096;

enum Change {
    Service(Box<watcher::Event<Service>>),
    Slice(Box<watcher::Event<EndpointSlice>>),
}

/// Relist progress of one kind: objects gathered since `Init`.
struct Relist<K> {
    pending: Option<Vec<K>>,
    listed: bool,
}

impl<K> Relist<K> {
    fn new() -> Self {
        Self {
            pending: None,
            listed: false,
        }
    }
}

/// Watches until the stream ends (it does not: the watchers retry with
/// backoff), publishing into `shared.index`.
pub(crate) async fn maintain(client: Client, mut catalog: Catalog, shared: Arc<Shared>) {
    let slot = &shared.index;
    let mut changes = changes(client);
    let mut services = Relist::new();
    let mut slices = Relist::new();
    while let Some(change) = changes.next().await {
        let mut changed = apply(&mut catalog, change, &mut services, &mut slices);
        for _ in 0..BURST {
            let Some(Some(change)) = changes.next().now_or_never() else {
                break;
            };
            changed |= apply(&mut catalog, change, &mut services, &mut slices);
        }
        let ready = services.listed && slices.listed;
        if changed || (ready && !slot.load().is_ready()) {
            slot.store(Arc::new(catalog.snapshot(ready)));
        }
    }
}

fn changes(client: Client) -> impl Stream<Item = Change> + Unpin {
    let config = watcher::Config::default();
    let services = watcher(Api::<Service>::all(client.clone()), config.clone())
        .default_backoff()
        .filter_map(|e| async move { log_error(e).map(|e| Change::Service(Box::new(e))) });
    let slices = watcher(Api::<EndpointSlice>::all(client), config)
        .default_backoff()
        .filter_map(|e| async move { log_error(e).map(|e| Change::Slice(Box::new(e))) });
    futures::stream::select(services.boxed(), slices.boxed())
}

fn log_error<K>(event: Result<watcher::Event<K>, watcher::Error>) -> Option<watcher::Event<K>> {
    event
        .map_err(|e| tracing::warn!(error = %e, "cluster DNS watch failed; retrying"))
        .ok()
}

/// Applies one event; returns whether the catalog changed.
fn apply(
    catalog: &mut Catalog,
    change: Change,
    services: &mut Relist<Service>,
    slices: &mut Relist<EndpointSlice>,
) -> bool {
    match change {
        Change::Service(event) => step(*event, services, |c| match c {
            Step::Apply(s) => catalog.apply_service(s),
            Step::Delete(s) => catalog.delete_service(&s),
            Step::Replace(all) => catalog.replace_services(all),
        }),
        Change::Slice(event) => step(*event, slices, |c| match c {
            Step::Apply(s) => catalog.apply_slice(s),
            Step::Delete(s) => catalog.delete_slice(&s),
            Step::Replace(all) => catalog.replace_slices(all),
        }),
    }
}

enum Step<K> {
    Apply(K),
    Delete(K),
    Replace(Vec<K>),
}

/// The watcher protocol for one kind: `Init`, `InitApply`…, `InitDone`
/// replace everything at once; `Apply`/`Delete` are single changes.
fn step<K>(
    event: watcher::Event<K>,
    relist: &mut Relist<K>,
    mut commit: impl FnMut(Step<K>),
) -> bool {
    match event {
        watcher::Event::Init => {
            relist.pending = Some(Vec::new());
            false
        }
        watcher::Event::InitApply(object) => {
            relist.pending.get_or_insert_with(Vec::new).push(object);
            false
        }
        watcher::Event::InitDone => {
            commit(Step::Replace(relist.pending.take().unwrap_or_default()));
            relist.listed = true;
            true
        }
        watcher::Event::Apply(object) => {
            commit(Step::Apply(object));
            true
        }
        watcher::Event::Delete(object) => {
            commit(Step::Delete(object));
            true
        }
    }
}
