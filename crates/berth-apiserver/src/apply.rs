//! Server-side apply (`application/apply-patch+yaml`): field ownership
//! tracked per manager in `metadata.managedFields` (FieldsV1), conflicts
//! between managers, and removal of fields a manager stops applying.
//!
//! Invariants:
//! - a manager's Apply entry lists exactly the fields of its last applied
//!   configuration;
//! - a field whose value an apply would change, owned by another manager,
//!   is a conflict unless `force=true`, which moves the field to the applier;
//! - a field the applier owned and no longer applies is removed from the
//!   object unless another manager owns it.

mod fieldset;

use std::collections::BTreeSet;

use serde_json::{Value, json};

pub use fieldset::{FieldPath, field_set, from_fields_v1, get_at, remove_at, to_fields_v1};

use crate::error::{ApiError, Target};
use crate::object;
use crate::patch;

/// One `managedFields` entry, with its field set decoded.
#[derive(Clone, Debug)]
struct Entry {
    raw: Value,
    manager: String,
    apply: bool,
    fields: BTreeSet<FieldPath>,
}

fn entries(obj: &Value) -> Vec<Entry> {
    object::get(obj, &["metadata", "managedFields"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| Entry {
            raw: e.clone(),
            manager: e
                .get("manager")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            apply: e.get("operation").and_then(Value::as_str) == Some("Apply"),
            fields: e.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
        })
        .collect()
}

/// What the applied configuration keeps out of field ownership.
fn strip_unowned(applied: &mut Value) {
    if let Some(meta) = applied.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.retain(|k, _| {
            k == "labels" || k == "annotations" || k == "finalizers" || k == "ownerReferences"
        });
    }
    if let Some(m) = applied.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
        m.remove("status");
    }
}

/// Applies `applied` (the configuration) for `manager` to `live`.
/// Returns the new object, or a 409 naming every conflict.
pub fn apply(
    live: &Value,
    applied: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
    target: &Target,
) -> Result<Value, ApiError> {
    let mut owned_config = applied.clone();
    strip_unowned(&mut owned_config);
    let new_set = field_set(&owned_config);
    let all = entries(live);
    let (mine, others): (Vec<Entry>, Vec<Entry>) = all
        .into_iter()
        .partition(|e| e.manager == manager && e.apply);
    let old_set: BTreeSet<FieldPath> = mine.iter().flat_map(|e| e.fields.iter().cloned()).collect();
    let conflicts = conflicts(live, applied, &new_set, &others);
    if !conflicts.is_empty() && !force {
        return Err(conflict_error(&conflicts, target));
    }
    let mut result = live.clone();
    for path in old_set.difference(&new_set) {
        if !others.iter().any(|o| {
            o.fields
                .iter()
                .any(|f| f.starts_with(path) || path.starts_with(f))
        }) {
            remove_at(&mut result, path);
        }
    }
    let mut config = applied.clone();
    if let Some(m) = config.as_object_mut() {
        m.remove("status");
    }
    let mut merged = patch::merge(result, &config, true);
    let mut managed: Vec<Value> = others
        .into_iter()
        .filter_map(|mut o| {
            if force {
                o.fields.retain(|f| !conflicts.iter().any(|(p, _)| p == f));
                o.raw["fieldsV1"] = to_fields_v1(&o.fields);
            }
            (!o.fields.is_empty()).then_some(o.raw)
        })
        .collect();
    managed.push(json!({
        "manager": manager, "operation": "Apply", "apiVersion": api_version,
        "time": object::now_rfc3339(), "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(&new_set),
    }));
    object::set(
        &mut merged,
        &["metadata", "managedFields"],
        Value::Array(managed),
    );
    Ok(merged)
}

/// (path, manager) for every field another manager owns whose value the
/// applied configuration would change.
fn conflicts(
    live: &Value,
    applied: &Value,
    new_set: &BTreeSet<FieldPath>,
    others: &[Entry],
) -> Vec<(FieldPath, String)> {
    let mut out = Vec::new();
    for path in new_set {
        let (Some(want), Some(have)) = (get_at(applied, path), get_at(live, path)) else {
            continue;
        };
        if want == have || want.is_object() {
            continue;
        }
        for other in others.iter().filter(|o| o.fields.contains(path)) {
            let using = other
                .raw
                .get("apiVersion")
                .and_then(Value::as_str)
                .map(|v| format!(" using {v}"))
                .unwrap_or_default();
            out.push((path.clone(), format!("{}\"{using}", other.manager)));
        }
    }
    out
}

fn conflict_error(conflicts: &[(FieldPath, String)], target: &Target) -> ApiError {
    let list: Vec<String> = conflicts
        .iter()
        .map(|(p, m)| format!("conflict with \"{m}: {}", fieldset::display(p)))
        .collect();
    let n = conflicts.len();
    let plural = if n == 1 { "conflict" } else { "conflicts" };
    ApiError::Conflict {
        target: target.clone(),
        message: format!("Apply failed with {n} {plural}: {}", list.join("\n")),
    }
}

/// A new object's managedFields when created by apply.
pub fn created(obj: &mut Value, manager: &str, api_version: &str) {
    let mut config = obj.clone();
    strip_unowned(&mut config);
    let set = field_set(&config);
    object::set(
        obj,
        &["metadata", "managedFields"],
        json!([{"manager": manager, "operation": "Apply", "apiVersion": api_version,
            "time": object::now_rfc3339(), "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(&set)}]),
    );
}

#[cfg(test)]
mod tests;
