//! Berth's knowledge of Kubernetes resources, without any I/O.
//!
//! It is: the registry of built-in resource types (group, version, kind,
//! plural, scope, verbs, short names, categories, subresources), label and
//! field selectors, validation that reports every bad field with its path,
//! defaulting as upstream does it, the per-resource [`Strategy`] that the
//! API server's generic registry calls, and structural-schema checks for
//! custom resources.
//!
//! It is not: storage, HTTP, or anything that allocates cluster state
//! (ClusterIPs, NodePorts): those need the store and live in the API server.
//!
//! Objects are handled as `serde_json::Value`s in their wire form; typed
//! `k8s-openapi` structs are used to check and canonicalize them.

pub mod crd;
pub mod quantity;
pub mod resource;
pub mod selector;
pub mod strategy;
pub mod validation;
mod wire;

pub use resource::{ResourceInfo, Scope, Subresource};
pub use selector::{FieldSelector, LabelSelector, SelectorError};
pub use strategy::{Strategy, custom_resource_strategy, strategy_for};
pub use validation::{ErrorList, FieldError, FieldErrorType};
