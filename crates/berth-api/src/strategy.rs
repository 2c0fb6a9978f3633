//! Per-resource behaviour that the API server's generic registry calls:
//! decoding to the canonical form, defaulting, create/update preparation,
//! validation, and field-selector values.

mod apiextensions;
mod apps;
mod autoscaling;
mod batch;
mod cluster;
mod config;
mod decode;
mod endpoints;
mod events;
mod kind;
mod lifecycle;
mod namespace;
mod networking;
mod node;
mod pod;
mod policy;
mod rbac;
mod registry;
mod replication;
mod service;
mod storage;
mod workload;

use serde_json::Value;

use crate::validation::ErrorList;

pub use batch::cron::{CronError, CronFields, CronSchedule};
pub use batch::schedule_error as cron_schedule_error;
pub use cluster::HIGHEST_USER_PRIORITY;
pub use config::MAX_DATA_SIZE;
pub use namespace::METADATA_NAME_LABEL;
pub use pod::{POD_UPDATE_FORBIDDEN, qos_class};

/// An object that fits its type's schema, in canonical wire form.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// The object with unknown fields dropped.
    pub object: Value,
    /// Paths of the fields that were dropped, e.g. `spec.replica`
    /// (for `fieldValidation=Strict` errors and `Warn` warnings).
    pub unknown_fields: Vec<String>,
}

/// The object does not fit its type's schema (a wrong JSON type somewhere):
/// a 400 BadRequest upstream. The message names the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// What differs between resources in the generic create/update/delete flow.
/// All methods take and give objects in wire form (`apiVersion`, `kind`,
/// `metadata`, ...). The API server sets uid, timestamps, resourceVersion,
/// namespace and name; the strategy never needs to.
pub trait Strategy: Send + Sync {
    /// Checks `obj` against the typed schema and returns its canonical form.
    fn decode(&self, obj: Value) -> Result<Decoded, DecodeError>;

    /// Fills in defaults as upstream's defaulting does (e.g. a Deployment's
    /// strategy 25%/25%, a Pod's restartPolicy Always).
    fn default(&self, obj: &mut Value);

    /// Before a create: reset what a client may not set (e.g. `status` when
    /// the resource has a status subresource) and set `metadata.generation`
    /// to 1 for resources that track it.
    fn prepare_for_create(&self, obj: &mut Value);

    /// Before an update of the main resource: keep the old `status` when the
    /// resource has a status subresource, and bump `metadata.generation` when
    /// the spec changed.
    fn prepare_for_update(&self, new: &mut Value, old: &Value);

    /// Before an update through `/status`: keep everything of `old` except
    /// `status` (and what upstream also lets a status writer change).
    fn prepare_for_status_update(&self, new: &mut Value, old: &Value);

    /// Every problem with a new object, including its metadata.
    fn validate(&self, obj: &Value) -> ErrorList;

    /// Every problem with an update, including immutable fields changed.
    fn validate_update(&self, new: &Value, old: &Value) -> ErrorList;

    /// Field-selector paths this resource supports besides `metadata.name`
    /// and `metadata.namespace` (e.g. `spec.nodeName`, `status.phase` for pods).
    fn selectable_fields(&self) -> &[&str];

    /// The value of a supported field-selector path (`None` if absent).
    fn field_value(&self, obj: &Value, field: &str) -> Option<String>;
}

/// The strategy of a built-in kind, e.g. `("apps", "Deployment")`; a generic
/// strategy (metadata validation only, no defaulting) for kinds without their own.
pub fn strategy_for(group: &str, kind: &str) -> &'static dyn Strategy {
    registry::builtin(group, kind).unwrap_or(&registry::GENERIC)
}

/// Whether `strategy_for(group, kind)` is a kind-specific strategy rather
/// than the generic one.
pub fn is_builtin_kind(group: &str, kind: &str) -> bool {
    registry::builtin(group, kind).is_some()
}

/// The strategy for objects of a custom resource: metadata checks, the
/// namespace required or forbidden by its scope, `metadata.generation`
/// tracked, and status kept apart when the CRD enables the status subresource.
/// Schema validation, pruning and defaulting are in [`crate::crd`].
pub fn custom_resource_strategy(namespaced: bool, has_status: bool) -> &'static dyn Strategy {
    registry::custom_resource(namespaced, has_status)
}

#[cfg(test)]
mod tests;
