//! The scheduling queue, after upstream's `PriorityQueue`: a pure data
//! structure driven by an injected [`Clock`].
//!
//! A pending pod is in exactly one of:
//! - **activeQ**: ready, ordered by priority (highest first), then by the
//!   time it entered the queue (earliest first);
//! - **backoffQ**: failed recently, ordered by backoff expiry; the backoff is
//!   1 s doubled per attempt up to 10 s;
//! - **unschedulable pool**: rejected by plugins; it leaves when a cluster
//!   event one of those plugins registered for happens, or after 5 minutes.
//!
//! A popped pod is *in flight* until it is handed back
//! ([`SchedulingQueue::add_unschedulable_if_not_present`]) or finished
//! ([`SchedulingQueue::done`]). If a cluster event arrives while it is in
//! flight, a failure sends it to backoffQ instead of the pool, so the event
//! is not missed. The owner calls the two `flush_*` methods periodically
//! (upstream: every second and every 30 seconds).

mod clock;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use clock::{Clock, FakeClock, SystemClock};

use crate::framework::ClusterEvent;
use crate::pod_info::PodInfo;

/// Timing of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// Backoff after the first failed attempt.
    pub initial_backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
    /// Longest stay in the unschedulable pool without a relevant event.
    pub max_in_unschedulable_pool: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            max_in_unschedulable_pool: Duration::from_secs(5 * 60),
        }
    }
}

/// A pod waiting in the queue, with its scheduling history.
#[derive(Debug, Clone)]
pub struct QueuedPodInfo {
    /// The pod.
    pub pod: Arc<PodInfo>,
    /// When it entered the queue, or last failed.
    pub timestamp: Instant,
    /// When it was first popped.
    pub initial_attempt_timestamp: Option<Instant>,
    /// How many times it was popped.
    pub attempts: u32,
    /// Plugins that rejected it in its last attempt.
    pub unschedulable_plugins: BTreeSet<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ActiveKey(Reverse<i32>, Instant, u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Location {
    Active(ActiveKey),
    Backoff((Instant, u64)),
    Unschedulable,
}

#[derive(Debug)]
struct Entry {
    info: QueuedPodInfo,
    location: Location,
}

/// The scheduling queue. Invariant: every key in `entries` is indexed by
/// exactly the structure its `location` names (`active`, `backoff` or
/// `unschedulable`), and no key is both queued
/// and in flight unless it was re-added by an update while in flight.
pub struct SchedulingQueue<C: Clock> {
    clock: C,
    config: QueueConfig,
    entries: HashMap<String, Entry>,
    active: BTreeMap<ActiveKey, String>,
    backoff: BTreeMap<(Instant, u64), String>,
    unschedulable: HashSet<String>,
    in_flight: HashSet<String>,
    registrations: HashMap<&'static str, Vec<ClusterEvent>>,
    scheduling_cycle: u64,
    move_request_cycle: Option<u64>,
    seq: u64,
}

impl<C: Clock> SchedulingQueue<C> {
    /// An empty queue; `registrations` are each plugin's cluster events
    /// (see [`crate::framework::Profile::events_to_register`]).
    pub fn new(
        clock: C,
        config: QueueConfig,
        registrations: Vec<(&'static str, Vec<ClusterEvent>)>,
    ) -> Self {
        Self {
            clock,
            config,
            entries: HashMap::new(),
            active: BTreeMap::new(),
            backoff: BTreeMap::new(),
            unschedulable: HashSet::new(),
            in_flight: HashSet::new(),
            registrations: registrations.into_iter().collect(),
            scheduling_cycle: 0,
            move_request_cycle: None,
            seq: 0,
        }
    }

    /// Adds a new pending pod to activeQ (or updates it when already queued).
    pub fn add(&mut self, pod: Arc<PodInfo>) {
        if self.entries.contains_key(pod.key()) {
            self.update(pod);
            return;
        }
        let info = QueuedPodInfo {
            pod,
            timestamp: self.clock.now(),
            initial_attempt_timestamp: None,
            attempts: 0,
            unschedulable_plugins: BTreeSet::new(),
        };
        self.push_active(info);
    }

    /// A pending pod changed. A queued pod is updated in place; a pod in the
    /// unschedulable pool is retried (through backoffQ if still backing off);
    /// an unknown or in-flight pod goes to activeQ.
    pub fn update(&mut self, pod: Arc<PodInfo>) {
        let Some(mut entry) = self.take(pod.key()) else {
            self.add(pod);
            return;
        };
        entry.info.pod = pod;
        match entry.location {
            Location::Active(_) => self.push_active(entry.info),
            Location::Backoff(_) => self.push_backoff(entry.info),
            Location::Unschedulable => self.push_active_or_backoff(entry.info),
        }
    }

    /// Forgets a pod (deleted, or bound by someone else).
    pub fn delete(&mut self, key: &str) {
        self.take(key);
        self.in_flight.remove(key);
    }

    /// Takes the next pod from activeQ; it is in flight until handed back.
    pub fn pop(&mut self) -> Option<QueuedPodInfo> {
        let (_, key) = self.active.pop_first()?;
        let mut info = self.entries.remove(&key)?.info;
        info.attempts += 1;
        info.initial_attempt_timestamp
            .get_or_insert(self.clock.now());
        self.scheduling_cycle += 1;
        self.in_flight.insert(key);
        Some(info)
    }

    /// The cycle number of the last pop (pass it back on failure).
    pub fn scheduling_cycle(&self) -> u64 {
        self.scheduling_cycle
    }

    /// The in-flight pod was scheduled (or given up on).
    pub fn done(&mut self, key: &str) {
        self.in_flight.remove(key);
    }

    /// Hands back a pod whose attempt in cycle `pod_scheduling_cycle`
    /// failed. It goes to backoffQ when a cluster event arrived since the
    /// attempt began or when no plugin rejected it (an error); otherwise to
    /// the unschedulable pool. Returns false when the pod was deleted or
    /// re-queued meanwhile.
    pub fn add_unschedulable_if_not_present(
        &mut self,
        mut info: QueuedPodInfo,
        pod_scheduling_cycle: u64,
    ) -> bool {
        let key = info.pod.key().to_owned();
        if !self.in_flight.remove(&key) || self.entries.contains_key(&key) {
            return false;
        }
        info.timestamp = self.clock.now();
        let event_since = self
            .move_request_cycle
            .is_some_and(|cycle| cycle >= pod_scheduling_cycle);
        if event_since || info.unschedulable_plugins.is_empty() {
            self.push_backoff(info);
        } else {
            self.unschedulable.insert(key.clone());
            self.entries.insert(
                key,
                Entry {
                    info,
                    location: Location::Unschedulable,
                },
            );
        }
        true
    }

    /// A cluster event happened: retries unschedulable pods rejected by a
    /// plugin that registered for it.
    pub fn move_all_to_active_or_backoff(&mut self, event: &ClusterEvent) {
        let keys: Vec<String> = self
            .unschedulable_entries()
            .filter(|(_, e)| self.matches_event(&e.info, event))
            .map(|(k, _)| k.to_owned())
            .collect();
        self.move_keys(keys);
        self.move_request_cycle = Some(self.scheduling_cycle);
    }

    /// A pod was bound: retries unschedulable pods whose required affinity
    /// terms select it (namespace selectors are not evaluated here).
    pub fn assigned_pod_added(&mut self, pod: &PodInfo, event: &ClusterEvent) {
        let keys: Vec<String> = self
            .unschedulable_entries()
            .filter(|(_, e)| {
                e.info
                    .pod
                    .required_affinity
                    .iter()
                    .any(|t| t.matches(pod, None))
                    && self.matches_event(&e.info, event)
            })
            .map(|(k, _)| k.to_owned())
            .collect();
        self.move_keys(keys);
        self.move_request_cycle = Some(self.scheduling_cycle);
    }

    /// Moves pods whose backoff has expired to activeQ.
    pub fn flush_backoff_completed(&mut self) {
        let now = self.clock.now();
        while let Some(entry) = self.backoff.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            if let Some(e) = self.entries.remove(&key) {
                self.push_active(e.info);
            }
        }
    }

    /// Retries pods that stayed in the unschedulable pool too long.
    pub fn flush_unschedulable_leftover(&mut self) {
        let now = self.clock.now();
        let limit = self.config.max_in_unschedulable_pool;
        let keys: Vec<String> = self
            .unschedulable_entries()
            .filter(|(_, e)| now.duration_since(e.info.timestamp) > limit)
            .map(|(k, _)| k.to_owned())
            .collect();
        self.move_keys(keys);
    }

    /// When the earliest backoff expires, for the owner's timer.
    pub fn next_backoff_expiry(&self) -> Option<Instant> {
        self.backoff.keys().next().map(|(expiry, _)| *expiry)
    }

    /// Backoff after `attempts` failed attempts: initial × 2^(attempts−1), capped.
    pub fn backoff_duration(&self, attempts: u32) -> Duration {
        let mut duration = self.config.initial_backoff;
        for _ in 1..attempts {
            if duration > self.config.max_backoff.saturating_sub(duration) {
                return self.config.max_backoff;
            }
            duration += duration;
        }
        duration.min(self.config.max_backoff)
    }

    /// `(activeQ, backoffQ, unschedulable pool)` sizes.
    pub fn lengths(&self) -> (usize, usize, usize) {
        (
            self.active.len(),
            self.backoff.len(),
            self.unschedulable.len(),
        )
    }

    /// True when `key` is queued (in any of the three structures).
    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// Entries of the unschedulable pool (indexed separately so that cluster
    /// events cost O(pool), not O(queue)).
    fn unschedulable_entries(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.unschedulable
            .iter()
            .filter_map(|k| self.entries.get(k).map(|e| (k.as_str(), e)))
    }

    fn matches_event(&self, info: &QueuedPodInfo, event: &ClusterEvent) -> bool {
        *event == ClusterEvent::UNSCHEDULABLE_TIMEOUT
            || info.unschedulable_plugins.is_empty()
            || info.unschedulable_plugins.iter().any(|plugin| {
                self.registrations
                    .get(plugin)
                    .is_some_and(|events| events.iter().any(|r| r.covers(event)))
            })
    }

    fn move_keys(&mut self, keys: Vec<String>) {
        for key in keys {
            if let Some(entry) = self.take(&key) {
                self.push_active_or_backoff(entry.info);
            }
        }
    }

    fn take(&mut self, key: &str) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        match entry.location {
            Location::Active(k) => {
                self.active.remove(&k);
            }
            Location::Backoff(k) => {
                self.backoff.remove(&k);
            }
            Location::Unschedulable => {
                self.unschedulable.remove(key);
            }
        }
        Some(entry)
    }

    fn backoff_expiry(&self, info: &QueuedPodInfo) -> Instant {
        info.timestamp + self.backoff_duration(info.attempts)
    }

    fn push_active_or_backoff(&mut self, info: QueuedPodInfo) {
        if info.attempts > 0 && self.backoff_expiry(&info) > self.clock.now() {
            self.push_backoff(info);
        } else {
            self.push_active(info);
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn push_active(&mut self, info: QueuedPodInfo) {
        let key = ActiveKey(
            Reverse(info.pod.priority()),
            info.timestamp,
            self.next_seq(),
        );
        let name = info.pod.key().to_owned();
        self.active.insert(key, name.clone());
        self.entries.insert(
            name,
            Entry {
                info,
                location: Location::Active(key),
            },
        );
    }

    fn push_backoff(&mut self, info: QueuedPodInfo) {
        let key = (self.backoff_expiry(&info), self.next_seq());
        let name = info.pod.key().to_owned();
        self.backoff.insert(key, name.clone());
        self.entries.insert(
            name,
            Entry {
                info,
                location: Location::Backoff(key),
            },
        );
    }
}

#[cfg(test)]
mod tests;
