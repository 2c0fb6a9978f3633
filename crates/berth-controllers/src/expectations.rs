//! Controller expectations, as upstream's `UIDTrackingControllerExpectations`:
//! a controller that created or deleted pods waits until its informer has
//! seen every one of those changes before it counts pods again, so a slow
//! watch never makes it create (or delete) twice.
//!
//! Invariant: for a key, `adds` is the number of creations not yet observed
//! and `deleting` the UIDs whose deletion is not yet observed. A key with
//! nothing pending, or whose expectations are older than [`EXPECTATION_TTL`]
//! (a lost watch event must not wedge the controller), is satisfied.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// After this long, unmet expectations are given up (upstream: 5 minutes).
pub const EXPECTATION_TTL: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Expectation {
    adds: i64,
    deleting: HashSet<String>,
    set_at: Instant,
}

/// Expectations of every controller object, keyed by `namespace/name`.
#[derive(Debug, Default)]
pub struct Expectations {
    inner: Mutex<HashMap<String, Expectation>>,
}

impl Expectations {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Expectation>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// True when the controller may count pods and act again.
    pub fn satisfied(&self, key: &str) -> bool {
        match self.lock().get(key) {
            None => true,
            Some(e) => {
                (e.adds <= 0 && e.deleting.is_empty()) || e.set_at.elapsed() > EXPECTATION_TTL
            }
        }
    }

    /// Records that `count` creations are about to be issued.
    pub fn expect_creations(&self, key: &str, count: usize) {
        self.lock().insert(
            key.to_string(),
            Expectation {
                adds: count as i64,
                deleting: HashSet::new(),
                set_at: Instant::now(),
            },
        );
    }

    /// Records that these pods are about to be deleted.
    pub fn expect_deletions(&self, key: &str, uids: impl IntoIterator<Item = String>) {
        self.lock().insert(
            key.to_string(),
            Expectation {
                adds: 0,
                deleting: uids.into_iter().collect(),
                set_at: Instant::now(),
            },
        );
    }

    /// A creation was seen in the watch, or will never happen (it failed).
    pub fn creation_observed(&self, key: &str) {
        if let Some(e) = self.lock().get_mut(key) {
            e.adds -= 1;
        }
    }

    /// The deletion of `uid` was seen, or will never happen.
    pub fn deletion_observed(&self, key: &str, uid: &str) {
        if let Some(e) = self.lock().get_mut(key) {
            e.deleting.remove(uid);
        }
    }

    /// Forgets the key (its owner was deleted).
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_are_satisfied_only_after_every_change_is_observed() {
        let e = Expectations::default();
        assert!(e.satisfied("ns/rs"), "no expectations: satisfied");
        e.expect_creations("ns/rs", 2);
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs"), "one creation still pending");
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"));
        e.expect_deletions("ns/rs", ["a".to_string(), "b".to_string()]);
        e.deletion_observed("ns/rs", "a");
        e.deletion_observed("ns/rs", "a");
        assert!(!e.satisfied("ns/rs"), "b not yet observed");
        e.deletion_observed("ns/rs", "b");
        assert!(e.satisfied("ns/rs"));
    }
}
