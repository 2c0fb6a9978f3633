//! What every kind does before a create, an update and a status update:
//! status kept apart from spec writes, `metadata.generation` tracking.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Map, Value};

use super::decode::{TypeMismatch, round_trip};
use super::kind::Generation;
use crate::validation::child;
use crate::wire::{as_object, object_at};

/// Top-level keys that are not the object's desired state.
const NOT_SPEC: [&str; 4] = ["apiVersion", "kind", "metadata", "status"];

/// Metadata keys a status writer may change besides the status itself.
const STATUS_WRITER_METADATA: [&str; 6] = [
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "resourceVersion",
    "managedFields",
];

/// The round trip of an object of an unknown kind: only `metadata` has a
/// known shape.
pub(crate) fn metadata_round_trip(obj: &Value, _api_version: &str) -> Result<Value, TypeMismatch> {
    let mut out = obj.clone();
    if let Some(meta) = obj.get("metadata") {
        let canonical = round_trip::<ObjectMeta>(meta).map_err(|m| TypeMismatch {
            path: child("metadata", &m.path),
            message: m.message,
        })?;
        as_object(&mut out).insert("metadata".to_string(), canonical);
    }
    Ok(out)
}

pub(crate) fn prepare_create(obj: &mut Value, has_status: bool, generation: Generation) {
    if has_status {
        as_object(obj).insert("status".to_string(), Value::Object(Map::new()));
    }
    if generation != Generation::Untracked {
        object_at(obj, &["metadata"]).insert("generation".to_string(), Value::from(1));
    }
}

pub(crate) fn prepare_update(
    new: &mut Value,
    old: &Value,
    has_status: bool,
    generation: Generation,
) {
    if has_status {
        let map = as_object(new);
        match old.get("status") {
            Some(status) => map.insert("status".to_string(), status.clone()),
            None => map.remove("status"),
        };
    }
    if generation == Generation::Untracked {
        return;
    }
    let old_generation = old
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let annotations_changed = generation == Generation::SpecAndAnnotations
        && new.pointer("/metadata/annotations") != old.pointer("/metadata/annotations");
    let bump = spec_changed(new, old) || annotations_changed;
    let generation = old_generation + i64::from(bump);
    object_at(new, &["metadata"]).insert("generation".to_string(), Value::from(generation));
}

/// Whether anything besides metadata and status differs.
pub(crate) fn spec_changed(new: &Value, old: &Value) -> bool {
    let spec = |v: &Value| -> Map<String, Value> {
        v.as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| !NOT_SPEC.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    spec(new) != spec(old)
}

/// Through `/status`: `old` with `new`'s status and the metadata a status
/// writer may change.
pub(crate) fn prepare_status_update(new: &mut Value, old: &Value) {
    let mut merged = old.clone();
    let status = new.get("status").cloned();
    let out = as_object(&mut merged);
    match status {
        Some(status) => out.insert("status".to_string(), status),
        None => out.remove("status"),
    };
    let new_meta = new.get("metadata").cloned().unwrap_or(Value::Null);
    let meta = object_at(&mut merged, &["metadata"]);
    for key in STATUS_WRITER_METADATA {
        match new_meta.get(key) {
            Some(value) => meta.insert(key.to_string(), value.clone()),
            None => meta.remove(key),
        };
    }
    *new = merged;
}
