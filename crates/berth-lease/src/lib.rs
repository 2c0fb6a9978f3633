//! Leader election through a `coordination.k8s.io/v1` Lease, as upstream's
//! client-go leaderelection does it.
//!
//! It is: [`acquire`], which waits until this process holds the Lease and
//! then keeps renewing it in the background, and [`Leadership`], which says
//! when leadership was lost (a renewal failed for longer than the renew
//! deadline) and releases the Lease on shutdown so a successor takes over at
//! once.
//!
//! It is not: fencing. A leader that loses its Lease must stop its work
//! itself (watch [`Leadership::lost`]).
//!
//! Lease states, for one candidate:
//! - Follower: the Lease is held by another identity and was renewed less
//!   than `leaseDurationSeconds` ago; retry every `retry_period`.
//! - Acquiring: the Lease is absent, expired, or ours: write it with our
//!   identity (compare-and-swap on resourceVersion); on conflict, Follower.
//! - Leader: renew every `retry_period`; if no renewal succeeds within
//!   `renew_deadline`, leadership is lost.

use std::time::Duration;

/// Where and how to elect.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// Unique per candidate process (e.g. hostname + random suffix).
    pub identity: String,
    /// How long a Lease stays valid after its last renewal (upstream 15 s).
    pub lease_duration: Duration,
    /// How long a leader keeps trying to renew before giving up (upstream 10 s).
    pub renew_deadline: Duration,
    /// How often candidates retry and leaders renew (upstream 2 s).
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// Upstream's defaults (15 s / 10 s / 2 s) for a Lease in `kube-system`.
    pub fn new(name: &str, identity: &str) -> Self {
        Self {
            namespace: "kube-system".into(),
            name: name.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("lease {namespace}/{name}: {source}")]
    Api {
        namespace: String,
        name: String,
        source: kube::Error,
    },
}

mod election;

pub use election::{Leadership, acquire};
