//! Berth's service proxy: Services and EndpointSlices become one nftables
//! table per node and IP family, with the semantics of upstream
//! kube-proxy's nftables mode (ClusterIP, NodePort, ClientIP affinity,
//! `Local` traffic policies, hairpin masquerade, rejects for Services
//! without endpoints).
//!
//! Layers, bottom up: [`model`] (pure: API objects → one plan per service
//! port), [`ruleset`] (pure: plan → chains, sets, map elements and
//! transaction text), [`sync`] (full then incremental transactions against
//! a [`RuleBackend`]), and [`proxy`] (kube-rs watchers and the debounced
//! sync loop). [`diagnostics`] explains one Service for `berth why service`.
//!
//! Where the table differs from upstream's: an endpoint gets its own chain
//! only when its Service uses ClientIP affinity (the chain updates the
//! affinity set). Otherwise the service chain DNATs directly through
//! `numgen random mod N map { i : addr . port }`, and hairpin masquerade is
//! one rule over a table-wide `hairpin` set. Every nft commit re-validates
//! every chain reachable from the base chains, so 10,000 endpoint chains
//! cost ~1 s per full sync and ~50 ms CPU per endpoint change on this
//! kernel; without them a change costs a few ms.
//!
//! It is not: a userspace proxy, LoadBalancer/externalIPs handling, or
//! topology-aware routing (topology hints are ignored).

pub mod backend;
pub mod cidr;
pub mod diagnostics;
pub mod error;
pub mod model;
pub mod proxy;
pub mod ruleset;
pub mod sync;

#[cfg(test)]
mod fixtures;

pub use backend::{BackendError, FakeBackend, NftBackend, RuleBackend};
pub use error::ProxyError;
pub use proxy::{ProxyOptions, cleanup, run};
