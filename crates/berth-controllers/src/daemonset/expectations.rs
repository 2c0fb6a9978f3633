//! Creations and deletions a DaemonSet sync waits to see, as upstream's
//! `SetExpectations(key, adds, dels)`: both kinds can be pending at once
//! (one sync may create on one node and delete on another), so each kind
//! is tracked by its own [`crate::expectations::Expectations`].

use crate::expectations::Expectations as Tracker;

/// Pending creations and deletions per DaemonSet key.
#[derive(Debug, Default)]
pub struct Expectations {
    creations: Tracker,
    deletions: Tracker,
}

impl Expectations {
    /// True when every expected change was observed (or expired).
    pub fn satisfied(&self, key: &str) -> bool {
        self.creations.satisfied(key) && self.deletions.satisfied(key)
    }

    /// Records `adds` creations and the deletion of `uids`, about to be issued.
    pub fn expect(&self, key: &str, adds: usize, uids: impl IntoIterator<Item = String>) {
        self.creations.expect_creations(key, adds);
        self.deletions.expect_deletions(key, uids);
    }

    /// A creation was seen, or will never happen.
    pub fn creation_observed(&self, key: &str) {
        self.creations.creation_observed(key);
    }

    /// The deletion of `uid` was seen, or will never happen.
    pub fn deletion_observed(&self, key: &str, uid: &str) {
        self.deletions.deletion_observed(key, uid);
    }

    /// Forgets the key (the DaemonSet was deleted).
    pub fn forget(&self, key: &str) {
        self.creations.forget(key);
        self.deletions.forget(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creations_and_deletions_are_awaited_together() {
        let e = Expectations::default();
        e.expect("ns/d", 1, ["u".to_string()]);
        e.creation_observed("ns/d");
        assert!(!e.satisfied("ns/d"), "the deletion is still pending");
        e.deletion_observed("ns/d", "u");
        assert!(e.satisfied("ns/d"));
    }
}
