//! The failed-daemon-pod backoff of upstream's DaemonSet controller
//! (client-go's `flowcontrol.Backoff`, 1 s doubling to 15 min): a node whose
//! daemon pod keeps failing gets its pod deleted and recreated ever more
//! slowly, instead of in a hot loop.
//!
//! Invariant: per key, `delay` is the wait after `at` before the next
//! deletion; an entry idle for twice the cap starts over.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Upstream's failedPodsBackoff initial delay.
pub const INITIAL: Duration = Duration::from_secs(1);
/// Upstream's failedPodsBackoff cap.
pub const MAX: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy)]
struct Entry {
    delay: Duration,
    at: Instant,
}

/// Backoff per `uid/observedGeneration/node` key.
#[derive(Debug, Default)]
pub struct Backoff {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Backoff {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `IsInBackOffSinceUpdate`: the remaining wait, if `key` must still wait.
    pub fn waiting(&self, key: &str, now: Instant) -> Option<Duration> {
        let e = *self.lock().get(key)?;
        let since = now.saturating_duration_since(e.at);
        (since < e.delay).then(|| e.delay - since)
    }

    /// `Next`: records a deletion now and doubles the next wait.
    pub fn next(&self, key: &str, now: Instant) {
        let mut entries = self.lock();
        if entries.len() > 10_000 {
            entries.retain(|_, e| now.saturating_duration_since(e.at) <= 2 * MAX);
        }
        let delay = match entries.get(key) {
            Some(e) if now.saturating_duration_since(e.at) <= 2 * MAX => (e.delay * 2).min(MAX),
            _ => INITIAL,
        };
        entries.insert(key.to_string(), Entry { delay, at: now });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletions_of_failed_pods_back_off_doubling() {
        let b = Backoff::default();
        let t0 = Instant::now();
        assert_eq!(
            b.waiting("k", t0),
            None,
            "the first failure is handled at once"
        );
        b.next("k", t0);
        assert_eq!(
            b.waiting("k", t0 + Duration::from_millis(400)),
            Some(Duration::from_millis(600))
        );
        assert_eq!(b.waiting("k", t0 + INITIAL), None);
        b.next("k", t0 + INITIAL);
        assert_eq!(b.waiting("k", t0 + INITIAL), Some(2 * INITIAL));
        let later = t0 + 3 * MAX;
        b.next("k", later);
        assert_eq!(
            b.waiting("k", later),
            Some(INITIAL),
            "long idle: starts over"
        );
    }
}
