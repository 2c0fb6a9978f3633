//! The structural-schema basics upstream requires of a CRD's schema: a type
//! everywhere (unless int-or-string or preserving unknown fields), an
//! object at the root, items for arrays, known types only.

use serde_json::Value;

use crate::validation::{ErrorList, FieldError, child, key};

const TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];

pub(super) fn validate_structural(schema: &Value, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let kind = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind != "object" {
        if kind.is_empty() {
            errs.push(FieldError::required(
                &child(path, "type"),
                "must not be empty at the root",
            ));
        } else {
            errs.push(FieldError::invalid(
                &child(path, "type"),
                kind,
                "must be object at the root",
            ));
        }
    }
    check_node(schema, path, &mut errs);
    errs
}

fn flag(schema: &Value, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool) == Some(true)
}

fn check_node(schema: &Value, path: &str, errs: &mut ErrorList) {
    let kind = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !kind.is_empty() && !TYPES.contains(&kind) {
        errs.push(FieldError::not_supported(&child(path, "type"), kind, TYPES));
    }
    if kind == "array" && schema.get("items").is_none_or(Value::is_null) {
        errs.push(FieldError::required(
            &child(path, "items"),
            "must be specified",
        ));
    }
    if schema.get("properties").is_some()
        && schema
            .get("additionalProperties")
            .is_some_and(Value::is_object)
    {
        errs.push(FieldError::forbidden(
            &child(path, "additionalProperties"),
            "additionalProperties and properties are mutual exclusive",
        ));
    }
    for (name, field) in schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let at = key(&child(path, "properties"), name);
        check_typed(
            field,
            &at,
            "must not be empty for specified object fields",
            errs,
        );
        check_node(field, &at, errs);
    }
    if let Some(items) = schema.get("items").filter(|i| i.is_object()) {
        let at = child(path, "items");
        check_typed(
            items,
            &at,
            "must not be empty for specified array items",
            errs,
        );
        check_node(items, &at, errs);
    }
    if let Some(values) = schema.get("additionalProperties").filter(|a| a.is_object()) {
        let at = child(path, "additionalProperties");
        check_typed(
            values,
            &at,
            "must not be empty for specified object fields",
            errs,
        );
        check_node(values, &at, errs);
    }
}

fn check_typed(schema: &Value, path: &str, detail: &str, errs: &mut ErrorList) {
    let typed = schema
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty());
    if !typed
        && !flag(schema, "x-kubernetes-int-or-string")
        && !flag(schema, "x-kubernetes-preserve-unknown-fields")
    {
        errs.push(FieldError::required(&child(path, "type"), detail));
    }
}
