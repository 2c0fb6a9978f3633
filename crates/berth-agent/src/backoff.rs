//! Upstream's restart backoff (`flowcontrol.Backoff` as the kubelet uses it):
//! per key, the first failure restarts at once, then each restart waits 10 s,
//! 20 s, 40 s … capped at 300 s. An entry not updated for twice the cap
//! (10 minutes, i.e. the container ran that long) starts again at 10 s.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// Kubelet's initial container restart backoff.
pub const INITIAL: Duration = Duration::from_secs(10);
/// Kubelet's maximum container restart backoff.
pub const MAX: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
struct Entry {
    backoff: Duration,
    last_update: Instant,
}

/// Invariant: every entry's `backoff` is within `[initial, max]`.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    entries: HashMap<String, Entry>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(INITIAL, MAX)
    }
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            entries: HashMap::new(),
        }
    }

    fn expired(&self, entry: &Entry, at: Instant) -> bool {
        at.saturating_duration_since(entry.last_update) > self.max * 2
    }

    /// Records a restart at `now`: the backoff doubles (or starts at
    /// `initial` when it is new or expired).
    pub fn next(&mut self, key: &str, now: Instant) {
        let fresh = Entry {
            backoff: self.initial,
            last_update: now,
        };
        let entry = match self.entries.get(key) {
            Some(e) if !self.expired(e, now) => Entry {
                backoff: (e.backoff * 2).min(self.max),
                last_update: now,
            },
            _ => fresh,
        };
        self.entries.insert(key.to_string(), entry);
    }

    /// When the backoff that started at `since` (the failure) ends, if that
    /// is still in the future; `None` means "restart now".
    pub fn in_backoff_since(&self, key: &str, since: Instant, now: Instant) -> Option<Instant> {
        let entry = self.entries.get(key)?;
        if self.expired(entry, since) {
            return None;
        }
        let until = since + entry.backoff;
        (now < until).then_some(until)
    }

    /// The current backoff of `key` (for messages: "back-off 20s …").
    pub fn current(&self, key: &str) -> Duration {
        self.entries.get(key).map_or(self.initial, |e| e.backoff)
    }

    pub fn forget(&mut self, key: &str) {
        self.entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn backoff_doubles_from_ten_seconds_and_caps_at_five_minutes() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        assert_eq!(
            b.in_backoff_since("c", t0, t0),
            None,
            "first failure restarts at once"
        );
        let mut seen = vec![];
        for _ in 0..7 {
            b.next("c", t0);
            seen.push(b.current("c").as_secs());
        }
        assert_eq!(seen, vec![10, 20, 40, 80, 160, 300, 300]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_inside_the_backoff_window_waits_until_it_ends() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        b.next("c", t0);
        let failed = t0 + Duration::from_secs(2);
        let until = b.in_backoff_since("c", failed, failed + Duration::from_secs(1));
        assert_eq!(until, Some(failed + INITIAL));
        assert_eq!(b.in_backoff_since("c", failed, failed + INITIAL), None);
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_resets_after_ten_minutes_without_restarts() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            b.next("c", t0);
        }
        let later = t0 + Duration::from_secs(601);
        assert_eq!(b.in_backoff_since("c", later, later), None);
        b.next("c", later);
        assert_eq!(b.current("c"), INITIAL);
    }
}
