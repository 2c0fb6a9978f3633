//! The cache's data: current items, recent events, and the live broadcast.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use parking_lot::RwLock;
use tokio::sync::{broadcast, watch};

use crate::{Event, EventKind, KeyValue, ListOptions, ListResult, Revision};

/// The cached copy of the backend.
///
/// Invariants:
/// - `items` is the backend's state at `revision` (live keys only);
/// - `events` holds, in revision order, every event with a revision in
///   `(window_start, revision]`, and nothing else;
/// - every event applied after a receiver subscribed to `live` is sent to it:
///   `apply` sends while holding the write lock, so a reader holding the
///   read lock sees ring and broadcast agree;
/// - `live` is replaced on reset and on close, which ends every receiver.
pub(super) struct CacheState {
    items: BTreeMap<String, KeyValue>,
    events: VecDeque<Arc<Event>>,
    window_start: Revision,
    revision: Revision,
    live: broadcast::Sender<Arc<Event>>,
    closed: bool,
}

/// A new watcher's starting point.
pub(super) struct Subscription {
    /// Matching events already in the ring, in order.
    pub replay: VecDeque<Arc<Event>>,
    pub live: broadcast::Receiver<Arc<Event>>,
    /// Live events at or below this revision are covered by `replay`.
    pub seen: Revision,
}

/// Why a watcher cannot be served from the cache.
pub(super) enum Unservable {
    /// The events after the requested revision are no longer in the ring.
    TooOld,
    /// The cache was dropped.
    Closed,
}

/// State shared by the cache handle, its sync task and its watchers.
pub(super) struct Shared {
    state: RwLock<CacheState>,
    /// The cache's revision, for waiters that want it to reach a target.
    revision: watch::Sender<Revision>,
    event_capacity: usize,
    broadcast_capacity: usize,
}

impl Shared {
    pub fn new(event_capacity: usize, broadcast_capacity: usize) -> Self {
        let broadcast_capacity = broadcast_capacity.max(1);
        let state = CacheState {
            items: BTreeMap::new(),
            events: VecDeque::new(),
            window_start: 0,
            revision: 0,
            live: broadcast::channel(broadcast_capacity).0,
            closed: false,
        };
        Shared {
            state: RwLock::new(state),
            revision: watch::channel(0).0,
            event_capacity: event_capacity.max(1),
            broadcast_capacity,
        }
    }

    pub fn revision(&self) -> Revision {
        self.state.read().revision
    }

    pub fn watch_revision(&self) -> watch::Receiver<Revision> {
        self.revision.subscribe()
    }

    /// Replaces everything with a fresh list. Ends every current watcher:
    /// the events between the old revision and the list's are unknown.
    pub fn reset(&self, list: ListResult) {
        let mut state = self.state.write();
        state.items = list
            .items
            .into_iter()
            .map(|kv| (kv.key.clone(), kv))
            .collect();
        state.events.clear();
        state.window_start = list.revision;
        state.revision = list.revision;
        state.live = broadcast::channel(self.broadcast_capacity).0;
        drop(state);
        self.revision.send_replace(list.revision);
    }

    /// Applies events in revision order; events at or below the cache's
    /// revision are duplicates and ignored.
    pub fn apply(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let mut state = self.state.write();
        for event in events {
            if event.revision() <= state.revision {
                continue;
            }
            match event.kind {
                EventKind::Create | EventKind::Update => {
                    state.items.insert(event.kv.key.clone(), event.kv.clone());
                }
                EventKind::Delete => {
                    state.items.remove(&event.kv.key);
                }
            }
            state.revision = event.revision();
            let event = Arc::new(event);
            state.events.push_back(Arc::clone(&event));
            if state.events.len() > self.event_capacity
                && let Some(evicted) = state.events.pop_front()
            {
                state.window_start = evicted.revision();
            }
            // No receivers is fine: nobody is watching.
            let _ = state.live.send(event);
        }
        let revision = state.revision;
        drop(state);
        self.revision.send_if_modified(|current| {
            let changed = *current != revision;
            *current = revision;
            changed
        });
    }

    /// Ends every watcher for good.
    pub fn close(&self) {
        let mut state = self.state.write();
        state.closed = true;
        state.live = broadcast::channel(1).0;
    }

    /// Lists from the cache when it is at `revision` (any revision when
    /// `None`); `None` when it is not.
    pub fn list(&self, prefix: &str, opts: &ListOptions) -> Option<ListResult> {
        let state = self.state.read();
        if opts.revision.is_some_and(|r| r != state.revision) {
            return None;
        }
        let lower = match opts.start_after.as_deref() {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        let mut matching = state
            .items
            .range::<str, _>((lower, Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(_, kv)| kv);
        let limit = opts.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let items: Vec<KeyValue> = matching.by_ref().take(limit).cloned().collect();
        Some(ListResult {
            items,
            revision: state.revision,
            remaining: matching.count(),
        })
    }

    /// Starts (or resumes) a watcher that has seen everything up to `after`.
    pub fn subscribe(&self, prefix: &str, after: Revision) -> Result<Subscription, Unservable> {
        let state = self.state.read();
        if state.closed {
            return Err(Unservable::Closed);
        }
        if after < state.window_start {
            return Err(Unservable::TooOld);
        }
        let first = state.events.partition_point(|e| e.revision() <= after);
        let replay = state
            .events
            .range(first..)
            .filter(|e| e.kv.key.starts_with(prefix))
            .cloned()
            .collect();
        Ok(Subscription {
            replay,
            live: state.live.subscribe(),
            seen: after.max(state.revision),
        })
    }
}
