//! Object metadata, labels, annotations, owner references, finalizers and
//! label selectors, as upstream's `apimachinery/pkg/api/validation`.

use serde_json::{Map, Value};

use super::names::{dns1123_label, label_value, qualified_name};
use super::{ErrorList, FIELD_IMMUTABLE, FieldError, TOTAL_ANNOTATION_SIZE_LIMIT, child, index};

/// Checks an object name (or, with `prefix`, a `generateName`); returns the
/// messages for every problem.
pub type NameValidator = fn(&str, bool) -> Vec<String>;

fn str_at<'a>(meta: &'a Value, field: &str) -> &'a str {
    meta.get(field).and_then(Value::as_str).unwrap_or_default()
}

/// Every problem with `metadata` (at `path`) of an object being created:
/// name or generateName, namespace presence by scope, labels, annotations,
/// owner references and finalizers.
pub fn validate_object_meta(
    meta: &Value,
    namespaced: bool,
    name_fn: NameValidator,
    path: &str,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let name = str_at(meta, "name");
    let generate_name = str_at(meta, "generateName");
    if !generate_name.is_empty() {
        let at = child(path, "generateName");
        errs.extend(
            name_fn(generate_name, true)
                .iter()
                .map(|m| FieldError::invalid(&at, generate_name, m)),
        );
    }
    if name.is_empty() {
        if generate_name.is_empty() {
            errs.push(FieldError::required(
                &child(path, "name"),
                "name or generateName is required",
            ));
        }
    } else {
        let at = child(path, "name");
        errs.extend(
            name_fn(name, false)
                .iter()
                .map(|m| FieldError::invalid(&at, name, m)),
        );
    }
    errs.extend(validate_namespace_field(meta, namespaced, path));
    if let Some(generation) = meta
        .get("generation")
        .and_then(Value::as_i64)
        .filter(|g| *g < 0)
    {
        errs.push(FieldError::invalid(
            &child(path, "generation"),
            generation,
            "must be greater than or equal to 0",
        ));
    }
    errs.extend(validate_labels(
        meta.get("labels").unwrap_or(&Value::Null),
        &child(path, "labels"),
    ));
    errs.extend(validate_annotations(
        meta.get("annotations").unwrap_or(&Value::Null),
        &child(path, "annotations"),
    ));
    errs.extend(validate_owner_references(
        meta.get("ownerReferences").unwrap_or(&Value::Null),
        &child(path, "ownerReferences"),
    ));
    errs.extend(validate_finalizers(
        meta.get("finalizers").unwrap_or(&Value::Null),
        &child(path, "finalizers"),
    ));
    errs
}

fn validate_namespace_field(meta: &Value, namespaced: bool, path: &str) -> ErrorList {
    let namespace = str_at(meta, "namespace");
    let at = child(path, "namespace");
    match (namespaced, namespace.is_empty()) {
        (true, true) => vec![FieldError::required(&at, "")],
        (true, false) => dns1123_label(namespace)
            .iter()
            .map(|m| FieldError::invalid(&at, namespace, m))
            .collect(),
        (false, false) => vec![FieldError::forbidden(&at, "not allowed on this type")],
        (false, true) => Vec::new(),
    }
}

/// Every problem with `metadata` of an update: the new metadata as for a
/// create, plus name, namespace, uid and creationTimestamp unchanged.
pub fn validate_object_meta_update(
    new: &Value,
    old: &Value,
    namespaced: bool,
    name_fn: NameValidator,
    path: &str,
) -> ErrorList {
    let mut errs = validate_object_meta(new, namespaced, name_fn, path);
    for field in ["name", "namespace", "uid", "creationTimestamp"] {
        let (new_value, old_value) = (new.get(field), old.get(field));
        if !same_scalar(new_value, old_value) {
            let shown = new_value.cloned().unwrap_or(Value::String(String::new()));
            errs.push(FieldError::invalid(
                &child(path, field),
                shown,
                FIELD_IMMUTABLE,
            ));
        }
    }
    errs
}

/// Equal, counting an absent field, `null` and `""` as the same.
fn same_scalar(a: Option<&Value>, b: Option<&Value>) -> bool {
    let blank = |v: Option<&Value>| match v {
        None | Some(Value::Null) => Value::String(String::new()),
        Some(v) => v.clone(),
    };
    blank(a) == blank(b)
}

fn entries(map: &Value) -> impl Iterator<Item = (&String, &Value)> {
    map.as_object().into_iter().flat_map(Map::iter)
}

/// Label keys must be qualified names and values valid label values. Errors
/// are reported at the labels' path, as upstream does.
pub fn validate_labels(labels: &Value, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for (key, value) in entries(labels) {
        errs.extend(
            qualified_name(key)
                .iter()
                .map(|m| FieldError::invalid(path, key.as_str(), m)),
        );
        let value = value.as_str().unwrap_or_default();
        errs.extend(
            label_value(value)
                .iter()
                .map(|m| FieldError::invalid(path, value, m)),
        );
    }
    errs
}

/// Annotation keys must be qualified names (checked lowercased) and all
/// keys and values together at most 256 KiB.
pub fn validate_annotations(annotations: &Value, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut total = 0;
    for (key, value) in entries(annotations) {
        let lowered = key.to_lowercase();
        errs.extend(
            qualified_name(&lowered)
                .iter()
                .map(|m| FieldError::invalid(path, key.as_str(), m)),
        );
        total += key.len() + value.as_str().map_or(0, str::len);
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    errs
}

/// Each owner reference names apiVersion, kind, name and uid; at most one
/// is the controller.
pub fn validate_owner_references(refs: &Value, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut controllers = Vec::new();
    for owner in refs.as_array().into_iter().flatten() {
        let api_version = str_at(owner, "apiVersion");
        let version = api_version.rsplit('/').next().unwrap_or_default();
        if version.is_empty() {
            errs.push(FieldError::invalid(
                &child(path, "apiVersion"),
                api_version,
                "version must not be empty",
            ));
        }
        for field in ["kind", "name", "uid"] {
            let value = str_at(owner, field);
            if value.is_empty() {
                errs.push(FieldError::invalid(
                    &child(path, field),
                    value,
                    &format!("{field} must not be empty"),
                ));
            }
        }
        if owner.get("controller").and_then(Value::as_bool) == Some(true) {
            controllers.push(format!(
                "{}/{}",
                str_at(owner, "kind"),
                str_at(owner, "name")
            ));
        }
    }
    if controllers.len() > 1 {
        let detail = format!(
            "Only one reference can have Controller set to true. Found \"true\" in references for {}",
            controllers.join(" and ")
        );
        errs.push(FieldError::invalid(path, Value::from(controllers), &detail));
    }
    errs
}

/// Finalizers are qualified names; `orphan` and `foregroundDeletion`
/// exclude each other.
pub fn validate_finalizers(finalizers: &Value, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let names: Vec<&str> = finalizers
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for name in &names {
        errs.extend(
            qualified_name(name)
                .iter()
                .map(|m| FieldError::invalid(path, *name, m)),
        );
    }
    if names.contains(&"orphan") && names.contains(&"foregroundDeletion") {
        errs.push(FieldError::invalid(
            path,
            Value::from(names.clone()),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    errs
}

/// A structured `metav1.LabelSelector`: matchLabels as labels, and each
/// matchExpression with a valid key, a known operator and values as the
/// operator needs them.
pub fn validate_label_selector(selector: &Value, path: &str) -> ErrorList {
    let mut errs = validate_labels(
        selector.get("matchLabels").unwrap_or(&Value::Null),
        &child(path, "matchLabels"),
    );
    let expressions = selector.get("matchExpressions").and_then(Value::as_array);
    for (i, expr) in expressions.into_iter().flatten().enumerate() {
        errs.extend(validate_requirement(
            expr,
            &index(&child(path, "matchExpressions"), i),
        ));
    }
    errs
}

fn validate_requirement(expr: &Value, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let operator = str_at(expr, "operator");
    let values: Vec<&str> = expr
        .get("values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let values_path = child(path, "values");
    match operator {
        "In" | "NotIn" if values.is_empty() => {
            errs.push(FieldError::required(
                &values_path,
                "must be specified when `operator` is 'In' or 'NotIn'",
            ));
        }
        "Exists" | "DoesNotExist" if !values.is_empty() => {
            errs.push(FieldError::forbidden(
                &values_path,
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ));
        }
        "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
        other => errs.push(FieldError::invalid(
            &child(path, "operator"),
            other,
            "not a valid selector operator",
        )),
    }
    let key = str_at(expr, "key");
    errs.extend(
        qualified_name(key)
            .iter()
            .map(|m| FieldError::invalid(&child(path, "key"), key, m)),
    );
    for (i, value) in values.iter().enumerate() {
        errs.extend(
            label_value(value)
                .iter()
                .map(|m| FieldError::invalid(&index(&values_path, i), *value, m)),
        );
    }
    errs
}
