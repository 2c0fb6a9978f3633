//! Berth's pod scheduler, after upstream kube-scheduler.
//!
//! Two layers, and an explainer on top of the core:
//! - The pure core (no I/O): a [`snapshot::Snapshot`] of nodes and their
//!   pods with incremental aggregates (per-topology-domain pod counts
//!   included), the plugin [`framework`] (PreFilter,
//!   Filter, PostFilter, PreScore, Score, Reserve, Permit, Bind), the
//!   upstream default [`plugins`], and the [`queue::SchedulingQueue`]
//!   (activeQ, backoffQ, unschedulable pool) driven by an injected clock.
//! - The [`service`], which talks to the API: kube-runtime watchers feed one
//!   scheduling loop that owns the snapshot and the queue; decisions are
//!   assumed in the snapshot, then bound through `pods/binding` in tasks of
//!   their own; failures become `FailedScheduling` Events and the
//!   `PodScheduled=False` condition; leader election goes through the
//!   `kube-system/kube-scheduler` Lease (`berth-lease`).
//! - [`explain`] (pure): the same plugins run on every node, keeping each node's
//!   verdict and scores (`berth why pod`).
//!
//! Preemption is the DefaultPreemption PostFilter plugin (minimal victims,
//! PodDisruptionBudgets honoured where possible); the service deletes the
//! victims and sets `nominatedNodeName`.
//!
//! Not yet: volume plugins, waiting Permit plugins, `/metrics` (counters
//! exist in [`service::SchedulerStats`]), reserving nominated pods' room.
//!
//! A cycle reads `&Snapshot` without locks: the loop applies watch events to
//! the snapshot between cycles and accounts each decision ("assumes" the pod)
//! before the next one.

pub mod error;
pub mod explain;
pub mod framework;
pub mod node_info;
pub mod node_selector;
pub mod plugins;
pub mod pod_info;
pub mod quantity;
pub mod queue;
pub mod resource;
pub mod selector;
pub mod service;
pub mod snapshot;
pub mod toleration;

#[cfg(test)]
mod testing;

pub use error::SchedulerError;
pub use service::{SchedulerOptions, ServiceError, run};
