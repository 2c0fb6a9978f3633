//! Pod spec and pod template checks, and what a Pod update may change.

use std::collections::HashSet;

use serde_json::Value;

use super::container::validate_containers;
use crate::validation::{
    ErrorList, FieldError, child, dns1123_label, dns1123_subdomain, index, validate_annotations,
    validate_labels,
};
use crate::wire::{as_object, list_at, str_at};

const RESTART_POLICIES: &[&str] = &["Always", "OnFailure", "Never"];
const DNS_POLICIES: &[&str] = &["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];
const TOLERATION_OPERATORS: &[&str] = &["Equal", "Exists"];
const TAINT_EFFECTS: &[&str] = &["NoExecute", "NoSchedule", "PreferNoSchedule"];

/// Upstream's words when a Pod update touches a field it may not.
pub const POD_UPDATE_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// Every problem with a pod spec at `path`.
pub(crate) fn validate_pod_spec(spec: &Value, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let (volumes, volume_errs) =
        validate_volumes(list_at(spec, &["volumes"]), &child(path, "volumes"));
    errs.extend(volume_errs);
    let containers = list_at(spec, &["containers"]);
    if containers.is_empty() {
        errs.push(FieldError::required(&child(path, "containers"), ""));
    }
    let mut names = HashSet::new();
    errs.extend(validate_containers(
        containers,
        &child(path, "containers"),
        &volumes,
        &mut names,
    ));
    let init = list_at(spec, &["initContainers"]);
    errs.extend(validate_containers(
        init,
        &child(path, "initContainers"),
        &volumes,
        &mut names,
    ));
    errs.extend(one_of(spec, "restartPolicy", RESTART_POLICIES, path));
    errs.extend(one_of(spec, "dnsPolicy", DNS_POLICIES, path));
    let out_of_range = |d: &&Value| {
        !d.is_null()
            && !d
                .as_i64()
                .is_some_and(|d| (1..=i64::from(i32::MAX)).contains(&d))
    };
    if let Some(deadline) = spec.get("activeDeadlineSeconds").filter(out_of_range) {
        let at = child(path, "activeDeadlineSeconds");
        errs.push(FieldError::invalid(
            &at,
            deadline.clone(),
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    errs.extend(validate_labels(
        spec.get("nodeSelector").unwrap_or(&Value::Null),
        &child(path, "nodeSelector"),
    ));
    for (field, check) in [
        (
            "serviceAccountName",
            dns1123_subdomain as fn(&str) -> Vec<String>,
        ),
        ("nodeName", dns1123_subdomain),
        ("hostname", dns1123_label),
        ("subdomain", dns1123_label),
    ] {
        let value = str_at(spec, &[field]);
        if !value.is_empty() {
            errs.extend(
                check(value)
                    .iter()
                    .map(|m| FieldError::invalid(&child(path, field), value, m)),
            );
        }
    }
    errs.extend(validate_tolerations(
        list_at(spec, &["tolerations"]),
        &child(path, "tolerations"),
    ));
    errs
}

/// A field that, when set, must be one of `allowed`.
fn one_of(obj: &Value, field: &str, allowed: &[&str], path: &str) -> ErrorList {
    let value = str_at(obj, &[field]);
    if value.is_empty() || allowed.contains(&value) {
        return Vec::new();
    }
    vec![FieldError::not_supported(
        &child(path, field),
        value,
        allowed,
    )]
}

fn validate_volumes<'a>(volumes: &'a [Value], path: &str) -> (HashSet<&'a str>, ErrorList) {
    let mut names = HashSet::new();
    let mut errs = ErrorList::new();
    for (i, volume) in volumes.iter().enumerate() {
        let at = child(&index(path, i), "name");
        let name = str_at(volume, &["name"]);
        if name.is_empty() {
            errs.push(FieldError::required(&at, ""));
            continue;
        }
        errs.extend(
            dns1123_label(name)
                .iter()
                .map(|m| FieldError::invalid(&at, name, m)),
        );
        if !names.insert(name) {
            errs.push(FieldError::duplicate(&at, name));
        }
    }
    (names, errs)
}

fn validate_tolerations(tolerations: &[Value], path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, toleration) in tolerations.iter().enumerate() {
        let at = index(path, i);
        errs.extend(one_of(toleration, "operator", TOLERATION_OPERATORS, &at));
        errs.extend(one_of(toleration, "effect", TAINT_EFFECTS, &at));
        let operator = str_at(toleration, &["operator"]);
        if operator == "Exists" && !str_at(toleration, &["value"]).is_empty() {
            let value = str_at(toleration, &["value"]);
            errs.push(FieldError::invalid(
                &child(&at, "operator"),
                value,
                "value must be empty when `operator` is 'Exists'",
            ));
        }
        if str_at(toleration, &["key"]).is_empty() && operator != "Exists" {
            errs.push(FieldError::invalid(&child(&at, "operator"), operator, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""));
        }
    }
    errs
}

/// A pod template at `path`: its labels, annotations and spec.
pub(crate) fn validate_pod_template(template: &Value, path: &str) -> ErrorList {
    let meta = template.get("metadata").unwrap_or(&Value::Null);
    let meta_path = child(path, "metadata");
    let mut errs = validate_labels(
        meta.get("labels").unwrap_or(&Value::Null),
        &child(&meta_path, "labels"),
    );
    errs.extend(validate_annotations(
        meta.get("annotations").unwrap_or(&Value::Null),
        &child(&meta_path, "annotations"),
    ));
    errs.extend(validate_pod_spec(
        template.get("spec").unwrap_or(&Value::Null),
        &child(path, "spec"),
    ));
    errs
}

/// A template's restartPolicy must be one of `allowed` (Always for
/// controllers that keep pods running).
pub(crate) fn validate_template_restart_policy(
    template: &Value,
    path: &str,
    allowed: &[&str],
) -> ErrorList {
    let policy = str_at(template, &["spec", "restartPolicy"]);
    if allowed.contains(&policy) {
        return Vec::new();
    }
    vec![FieldError::not_supported(
        &child(path, "spec.restartPolicy"),
        policy,
        allowed,
    )]
}

/// A Pod update may change only images, activeDeadlineSeconds (set or
/// shortened), tolerations (added) and a negative grace period.
pub(crate) fn validate_pod_spec_update(new: &Value, old: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    let (Some(new_spec), Some(old_spec)) = (new.get("spec"), old.get("spec")) else {
        return errs;
    };
    let deadline = |spec: &Value| spec.get("activeDeadlineSeconds").and_then(Value::as_i64);
    if let (Some(new_deadline), Some(old_deadline)) = (deadline(new_spec), deadline(old_spec)) {
        errs.extend((new_deadline > old_deadline).then(|| {
            FieldError::invalid(
                "spec.activeDeadlineSeconds",
                new_deadline,
                "must be less than or equal to previous value",
            )
        }));
    }
    if mutable_fields_masked(new_spec, old_spec) != *old_spec {
        errs.push(FieldError::forbidden("spec", POD_UPDATE_FORBIDDEN));
    }
    errs
}

/// `new` with every field a Pod update may change set back to `old`'s.
fn mutable_fields_masked(new: &Value, old: &Value) -> Value {
    let mut masked = new.clone();
    for list in ["containers", "initContainers"] {
        let old_list = list_at(old, &[list]);
        if let Some(items) = masked.get_mut(list).and_then(Value::as_array_mut) {
            for (item, old_item) in items.iter_mut().zip(old_list) {
                if let Some(image) = old_item.get("image") {
                    as_object(item).insert("image".into(), image.clone());
                }
            }
        }
    }
    let map = as_object(&mut masked);
    restore(map, old, "activeDeadlineSeconds");
    let old_tolerations = list_at(old, &["tolerations"]);
    let new_tolerations = list_at(new, &["tolerations"]);
    if new_tolerations.starts_with(old_tolerations) {
        restore(map, old, "tolerations");
    }
    if old
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|g| g < 0)
    {
        restore(map, old, "terminationGracePeriodSeconds");
    }
    masked
}

fn restore(map: &mut serde_json::Map<String, Value>, old: &Value, field: &str) {
    match old.get(field) {
        Some(value) => map.insert(field.to_string(), value.clone()),
        None => map.remove(field),
    };
}
