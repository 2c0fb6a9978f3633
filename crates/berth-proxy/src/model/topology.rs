//! Which endpoints a service port forwards to, with upstream's rules:
//! ready endpoints only; serving-but-terminating endpoints only while no
//! ready one exists (so connections drain instead of failing); node-local
//! endpoints for the `Local` traffic policies. Topology hints are not read.

use super::{Endpoint, ServicePort, Target};

/// The endpoints of one service port, split by traffic policy.
/// Invariant: both lists are sorted and hold no duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Categorized {
    /// Used by the `Cluster` policies (empty when no policy is `Cluster`).
    pub cluster: Vec<Target>,
    /// Used by the `Local` policies (empty when no policy is `Local`).
    pub local: Vec<Target>,
    /// Some endpoint anywhere can serve; when false, traffic is rejected.
    pub has_any: bool,
}

/// Splits `endpoints` for `port` on the node named `node_name`.
pub fn categorize(endpoints: &[Endpoint], port: &ServicePort, node_name: &str) -> Categorized {
    let mut out = Categorized::default();
    if port.uses_cluster_endpoints() {
        out.cluster = pick(endpoints, |_| true);
        out.has_any = !out.cluster.is_empty();
    }
    if port.uses_local_endpoints() {
        out.has_any |= endpoints.iter().any(|e| e.ready || drains(e));
        out.local = pick(endpoints, |e| e.is_local(node_name));
    }
    out
}

/// Ready endpoints among those `keep` accepts, or failing that the serving
/// terminating ones.
fn pick(endpoints: &[Endpoint], keep: impl Fn(&Endpoint) -> bool) -> Vec<Target> {
    let ready: Vec<Target> = endpoints
        .iter()
        .filter(|e| keep(e) && e.ready)
        .map(Endpoint::target)
        .collect();
    if !ready.is_empty() {
        return ready;
    }
    endpoints
        .iter()
        .filter(|e| keep(e) && drains(e))
        .map(Endpoint::target)
        .collect()
}

/// A terminating endpoint that still serves: used only as a last resort.
fn drains(e: &Endpoint) -> bool {
    e.serving && e.terminating
}
