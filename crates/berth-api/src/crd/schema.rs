//! Validating a value against a structural schema, with upstream's words.

use serde_json::Value;

use crate::validation::{ErrorList, FieldError, child, index};

/// The JSON type name upstream reports for a value.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool) == Some(true)
}

/// `value` has the schema's type (`number` admits integers; int-or-string
/// admits both).
fn type_matches(schema: &Value, value: &Value) -> bool {
    if flag(schema, "x-kubernetes-int-or-string") {
        return matches!(type_name(value), "integer" | "string");
    }
    match schema.get("type").and_then(Value::as_str) {
        None | Some("") => true,
        Some("number") => value.is_number(),
        Some(expected) => type_name(value) == expected,
    }
}

/// Shown in messages: `spec.replicas`, or `body` at the root.
fn shown(path: &str) -> &str {
    if path.is_empty() { "body" } else { path }
}

pub(super) fn validate(schema: &Value, value: &Value, path: &str, errs: &mut ErrorList) {
    if value.is_null() {
        if !flag(schema, "nullable") && schema.get("type").is_some() {
            let expected = schema
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let detail = format!(
                "{} in body must be of type {expected}: \"null\"",
                shown(path)
            );
            errs.push(FieldError::type_invalid(path, "null", &detail));
        }
        return;
    }
    if !type_matches(schema, value) {
        let expected = schema
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("integer or string");
        let actual = type_name(value);
        let detail = format!(
            "{} in body must be of type {expected}: \"{actual}\"",
            shown(path)
        );
        errs.push(FieldError::type_invalid(path, actual, &detail));
        return;
    }
    validate_enum(schema, value, path, errs);
    match value {
        Value::Number(n) => {
            validate_number(schema, n.as_f64().unwrap_or_default(), value, path, errs)
        }
        Value::String(s) => validate_string(schema, s, path, errs),
        Value::Array(items) => validate_array(schema, items, path, errs),
        Value::Object(_) => validate_object(schema, value, path, errs),
        _ => {}
    }
}

fn validate_enum(schema: &Value, value: &Value, path: &str, errs: &mut ErrorList) {
    let Some(allowed) = schema.get("enum").and_then(Value::as_array) else {
        return;
    };
    if allowed.contains(value) {
        return;
    }
    let supported: Vec<String> = allowed.iter().map(crate::wire::display).collect();
    let supported: Vec<&str> = supported.iter().map(String::as_str).collect();
    errs.push(FieldError::not_supported(path, value.clone(), &supported));
}

fn number(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

fn validate_number(schema: &Value, n: f64, value: &Value, path: &str, errs: &mut ErrorList) {
    let at = shown(path);
    if let Some(min) = number(schema, "minimum") {
        let exclusive = flag(schema, "exclusiveMinimum");
        if n < min || (exclusive && n == min) {
            let relation = if exclusive {
                "greater than"
            } else {
                "greater than or equal to"
            };
            errs.push(FieldError::invalid(
                path,
                value.clone(),
                &format!("{at} in body should be {relation} {}", trim(min)),
            ));
        }
    }
    if let Some(max) = number(schema, "maximum") {
        let exclusive = flag(schema, "exclusiveMaximum");
        if n > max || (exclusive && n == max) {
            let relation = if exclusive {
                "less than"
            } else {
                "less than or equal to"
            };
            errs.push(FieldError::invalid(
                path,
                value.clone(),
                &format!("{at} in body should be {relation} {}", trim(max)),
            ));
        }
    }
    let off_step = |s: &f64| *s > 0.0 && (n / *s).fract() != 0.0;
    if let Some(step) = number(schema, "multipleOf").filter(off_step) {
        errs.push(FieldError::invalid(
            path,
            value.clone(),
            &format!("{at} in body should be a multiple of {}", trim(step)),
        ));
    }
}

/// 1.0 prints as 1, as Go's `%v` of a float64 does.
fn trim(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn validate_string(schema: &Value, s: &str, path: &str, errs: &mut ErrorList) {
    let length = s.chars().count();
    if let Some(min) = schema
        .get("minLength")
        .and_then(Value::as_u64)
        .filter(|m| (length as u64) < *m)
    {
        errs.push(FieldError::invalid(
            path,
            s,
            &format!(
                "{} in body should be at least {min} chars long",
                shown(path)
            ),
        ));
    }
    if let Some(max) = schema
        .get("maxLength")
        .and_then(Value::as_u64)
        .filter(|m| (length as u64) > *m)
    {
        errs.push(FieldError::too_long(path, max as usize));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        match regex::Regex::new(pattern) {
            Ok(re) if !re.is_match(s) => {
                errs.push(FieldError::invalid(
                    path,
                    s,
                    &format!("{} in body should match '{pattern}'", shown(path)),
                ));
            }
            _ => {}
        }
    }
}

fn validate_array(schema: &Value, items: &[Value], path: &str, errs: &mut ErrorList) {
    if let Some(min) = schema
        .get("minItems")
        .and_then(Value::as_u64)
        .filter(|m| (items.len() as u64) < *m)
    {
        let detail = format!("{} in body should have at least {min} items", shown(path));
        errs.push(FieldError::invalid(path, items.len(), &detail));
    }
    if let Some(max) = schema
        .get("maxItems")
        .and_then(Value::as_u64)
        .filter(|m| (items.len() as u64) > *m)
    {
        errs.push(FieldError::too_many(path, items.len(), max as usize));
    }
    if let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) {
        for (i, item) in items.iter().enumerate() {
            validate(item_schema, item, &index(path, i), errs);
        }
    }
}

fn validate_object(schema: &Value, value: &Value, path: &str, errs: &mut ErrorList) {
    let Some(map) = value.as_object() else {
        return;
    };
    for name in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !map.contains_key(name) {
            errs.push(FieldError::required(&child(path, name), ""));
        }
    }
    if flag(schema, "x-kubernetes-embedded-resource") {
        for name in ["apiVersion", "kind"] {
            if map
                .get(name)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                errs.push(FieldError::required(
                    &child(path, name),
                    "must not be empty",
                ));
            }
        }
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    for (name, field) in map {
        let at = child(path, name);
        match (properties.and_then(|p| p.get(name)), additional) {
            (Some(field_schema), _) => validate(field_schema, field, &at, errs),
            (None, Some(value_schema)) => validate(value_schema, field, &at, errs),
            (None, None) => {}
        }
    }
    validate_property_counts(schema, map.len(), path, errs);
}

fn validate_property_counts(schema: &Value, count: usize, path: &str, errs: &mut ErrorList) {
    if let Some(min) = schema
        .get("minProperties")
        .and_then(Value::as_u64)
        .filter(|m| (count as u64) < *m)
    {
        let detail = format!(
            "{} in body should have at least {min} properties",
            shown(path)
        );
        errs.push(FieldError::invalid(path, count, &detail));
    }
    if let Some(max) = schema
        .get("maxProperties")
        .and_then(Value::as_u64)
        .filter(|m| (count as u64) > *m)
    {
        errs.push(FieldError::too_many(path, count, max as usize));
    }
}
