//! Applying schema `default`s to absent fields.

use serde_json::Value;

fn nullable(schema: &Value) -> bool {
    schema.get("nullable").and_then(Value::as_bool) == Some(true)
}

pub(super) fn apply(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, field_schema) in properties {
                    let Some(default) = field_schema.get("default") else {
                        continue;
                    };
                    let absent = match map.get(name) {
                        None => true,
                        Some(Value::Null) => !nullable(field_schema),
                        Some(_) => false,
                    };
                    if absent {
                        map.insert(name.clone(), default.clone());
                    }
                }
                for (name, field) in map.iter_mut() {
                    if let Some(field_schema) = properties.get(name) {
                        apply(field_schema, field);
                    }
                }
            } else if let Some(value_schema) =
                schema.get("additionalProperties").filter(|a| a.is_object())
            {
                for field in map.values_mut() {
                    apply(value_schema, field);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) {
                for item in items {
                    apply(item_schema, item);
                }
            }
        }
        _ => {}
    }
}
