//! Dropping what a structural schema does not declare.

use serde_json::Value;

use crate::validation::{child, index};

const OBJECT_HEADER: [&str; 3] = ["apiVersion", "kind", "metadata"];

fn preserves(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
}

pub(super) fn prune_root(schema: &Value, obj: &mut Value, dropped: &mut Vec<String>) {
    prune_object(schema, obj, "", true, dropped);
}

fn prune_value(schema: &Value, value: &mut Value, path: &str, dropped: &mut Vec<String>) {
    match value {
        Value::Object(_) => {
            let embedded = schema
                .get("x-kubernetes-embedded-resource")
                .and_then(Value::as_bool)
                == Some(true);
            prune_object(schema, value, path, embedded, dropped);
        }
        Value::Array(items) => {
            let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) else {
                return;
            };
            for (i, item) in items.iter_mut().enumerate() {
                prune_value(item_schema, item, &index(path, i), dropped);
            }
        }
        _ => {}
    }
}

/// Keeps declared properties (and, for the root and embedded resources,
/// apiVersion, kind and metadata); recurses into what it keeps.
fn prune_object(
    schema: &Value,
    value: &mut Value,
    path: &str,
    header: bool,
    dropped: &mut Vec<String>,
) {
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema
        .get("additionalProperties")
        .filter(|a| a.is_object() || a.as_bool() == Some(true));
    let keep_unknown = preserves(schema) || additional.is_some();
    let Some(map) = value.as_object_mut() else {
        return;
    };
    let names: Vec<String> = map.keys().cloned().collect();
    for name in names {
        if header && OBJECT_HEADER.contains(&name.as_str()) {
            continue;
        }
        let at = child(path, &name);
        let field_schema = properties
            .and_then(|p| p.get(&name))
            .or(additional.filter(|a| a.is_object()));
        match (field_schema, map.get_mut(&name)) {
            (Some(field_schema), Some(field)) => prune_value(field_schema, field, &at, dropped),
            (None, Some(_)) if !keep_unknown => {
                map.remove(&name);
                dropped.push(at);
            }
            _ => {}
        }
    }
}
