//! Berth's pod scheduler core, after upstream kube-scheduler.
//!
//! What it is: the pure scheduling logic — a [`snapshot::Snapshot`] of nodes
//! and their pods with incremental aggregates, the plugin [`framework`]
//! (PreFilter, Filter, PostFilter, PreScore, Score, Reserve, Permit, Bind),
//! the upstream default [`plugins`], and the [`queue::SchedulingQueue`]
//! (activeQ, backoffQ, unschedulable pool) driven by an injected clock.
//!
//! What it is not: it performs no I/O. It does not watch the API, bind pods
//! (`pods/binding`), record events, elect a leader or run a loop; those live
//! in the component that wires this crate to kube-rs. It also does not yet
//! implement preemption (DefaultPreemption) or volume plugins.
//!
//! A cycle reads `&Snapshot` without locks: the owner applies watch events to
//! the snapshot between cycles and accounts each decision ("assumes" the pod)
//! before the next one.

pub mod error;
pub mod framework;
pub mod node_info;
pub mod node_selector;
pub mod plugins;
pub mod pod_info;
pub mod quantity;
pub mod queue;
pub mod resource;
pub mod selector;
pub mod snapshot;
pub mod toleration;

#[cfg(test)]
mod testing;

pub use error::SchedulerError;
