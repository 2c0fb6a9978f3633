//! Checks of a CustomResourceDefinition, as upstream's apiextensions validation.

use std::collections::HashSet;

use serde_json::Value;

use super::structural::validate_structural;
use crate::validation::{
    ErrorList, FieldError, child, dns1035_label, dns1123_label, dns1123_subdomain, index,
};
use crate::wire::{list_at, str_at};

const SCOPES: &[&str] = &["Cluster", "Namespaced"];

pub(super) fn validate(crd: &Value) -> ErrorList {
    let spec = crd.get("spec").unwrap_or(&Value::Null);
    let mut errs = ErrorList::new();
    let name = str_at(crd, &["metadata", "name"]);
    let plural = str_at(spec, &["names", "plural"]);
    let group = str_at(spec, &["group"]);
    if name != format!("{plural}.{group}") {
        errs.push(FieldError::invalid(
            "metadata.name",
            name,
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    errs.extend(validate_group(group));
    let scope = str_at(spec, &["scope"]);
    if scope.is_empty() {
        errs.push(FieldError::required("spec.scope", ""));
    } else if !SCOPES.contains(&scope) {
        errs.push(FieldError::not_supported("spec.scope", scope, SCOPES));
    }
    errs.extend(validate_names(
        spec.get("names").unwrap_or(&Value::Null),
        "spec.names",
    ));
    errs.extend(validate_versions(list_at(spec, &["versions"])));
    errs
}

fn validate_group(group: &str) -> ErrorList {
    if group.is_empty() {
        return vec![FieldError::required("spec.group", "")];
    }
    let mut errs: ErrorList = dns1123_subdomain(group)
        .iter()
        .map(|m| FieldError::invalid("spec.group", group, m))
        .collect();
    if group.split('.').count() < 2 {
        errs.push(FieldError::invalid(
            "spec.group",
            group,
            "should be a domain with at least one dot",
        ));
    }
    errs
}

fn validate_names(names: &Value, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for field in ["plural", "singular"] {
        let value = str_at(names, &[field]);
        let at = child(path, field);
        if value.is_empty() && field == "plural" {
            errs.push(FieldError::required(&at, ""));
        } else if !value.is_empty() {
            errs.extend(
                dns1123_label(value)
                    .iter()
                    .map(|m| FieldError::invalid(&at, value, m)),
            );
        }
    }
    for field in ["kind", "listKind"] {
        let value = str_at(names, &[field]);
        let at = child(path, field);
        if value.is_empty() {
            errs.push(FieldError::required(&at, ""));
            continue;
        }
        for message in dns1035_label(&value.to_lowercase()) {
            errs.push(FieldError::invalid(
                &at,
                value,
                &format!("may have mixed case, but should otherwise match: {message}"),
            ));
        }
    }
    if !str_at(names, &["kind"]).is_empty()
        && str_at(names, &["kind"]) == str_at(names, &["listKind"])
    {
        errs.push(FieldError::invalid(
            &child(path, "listKind"),
            str_at(names, &["listKind"]),
            "kind and listKind may not be the same",
        ));
    }
    for list in ["shortNames", "categories"] {
        for (i, item) in list_at(names, &[list]).iter().enumerate() {
            let value = item.as_str().unwrap_or_default();
            let at = index(&child(path, list), i);
            errs.extend(
                dns1123_label(value)
                    .iter()
                    .map(|m| FieldError::invalid(&at, value, m)),
            );
        }
    }
    errs
}

fn validate_versions(versions: &[Value]) -> ErrorList {
    let mut errs = ErrorList::new();
    if versions.is_empty() {
        errs.push(FieldError::required(
            "spec.versions",
            "must have at least one version",
        ));
        return errs;
    }
    let storage = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count();
    if storage != 1 {
        errs.push(FieldError::invalid(
            "spec.versions",
            Value::from(storage),
            "must have exactly one version marked as storage version",
        ));
    }
    if !versions
        .iter()
        .any(|v| v.get("served").and_then(Value::as_bool) == Some(true))
    {
        errs.push(FieldError::invalid(
            "spec.versions",
            Value::from(0),
            "must have at least one version marked as served",
        ));
    }
    let mut names = HashSet::new();
    for (i, version) in versions.iter().enumerate() {
        let at = index("spec.versions", i);
        let name = str_at(version, &["name"]);
        if name.is_empty() {
            errs.push(FieldError::required(&child(&at, "name"), ""));
        } else {
            errs.extend(
                dns1035_label(name)
                    .iter()
                    .map(|m| FieldError::invalid(&child(&at, "name"), name, m)),
            );
        }
        if !names.insert(name) {
            errs.push(FieldError::invalid(
                "spec.versions",
                name,
                "must contain unique version names",
            ));
        }
        let schema_path = child(&at, "schema.openAPIV3Schema");
        match version
            .pointer("/schema/openAPIV3Schema")
            .filter(|s| !s.is_null())
        {
            None => errs.push(FieldError::required(&schema_path, "schemas are required")),
            Some(schema) => errs.extend(validate_structural(schema, &schema_path)),
        }
    }
    errs
}
