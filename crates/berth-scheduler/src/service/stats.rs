//! Counters of the scheduling loop, readable while it runs (benchmarks,
//! tests, later `/metrics`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Monotonic counters. Invariant: `scheduled + unschedulable + errors` is
/// the number of finished scheduling cycles.
#[derive(Debug, Default)]
pub struct SchedulerStats {
    /// True once every watched kind was listed and scheduling began.
    pub caches_synced: AtomicBool,
    /// Cycles that found a node (the pod was assumed).
    pub scheduled: AtomicU64,
    /// Cycles that found no node.
    pub unschedulable: AtomicU64,
    /// Cycles that failed with an internal error.
    pub errors: AtomicU64,
    /// Bindings the API accepted.
    pub bound: AtomicU64,
    /// Bindings the API rejected.
    pub bind_failures: AtomicU64,
    /// Nanoseconds spent inside scheduling cycles (decisions, not I/O).
    pub cycle_nanos: AtomicU64,
    /// Failed cycles where preemption nominated a node.
    pub preemption_attempts: AtomicU64,
    /// Pods chosen as preemption victims.
    pub preemption_victims: AtomicU64,
}

impl SchedulerStats {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// True once scheduling began.
    pub fn is_synced(&self) -> bool {
        self.caches_synced.load(Ordering::Relaxed)
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
