//! What the controllers of pods share: a replica count, a selector that
//! matches the pod template's labels, and the template itself.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use serde_json::Value;

use super::pod::{validate_pod_template, validate_template_restart_policy};
use crate::selector::LabelSelector;
use crate::validation::{ErrorList, FIELD_IMMUTABLE, FieldError, validate_label_selector};

/// Upstream's words for a negative count.
pub(crate) const NON_NEGATIVE: &str = "must be greater than or equal to 0";

/// `spec.<field>`, when set, is ≥ 0.
pub(crate) fn non_negative(spec: &Value, field: &str) -> ErrorList {
    match spec.get(field).and_then(Value::as_i64) {
        Some(v) if v < 0 => vec![FieldError::invalid(
            &format!("spec.{field}"),
            v,
            NON_NEGATIVE,
        )],
        _ => Vec::new(),
    }
}

/// A required selector that is valid, not empty, and matches the
/// template's labels; the template itself with restartPolicy Always.
pub(crate) fn validate_selector_and_template(spec: &Value, kind: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let template = spec.get("template").unwrap_or(&Value::Null);
    // The typed round trip turns an absent selector into `{}`: both are "not given".
    let given = |s: &&Value| s.as_object().is_some_and(|m| !m.is_empty());
    match spec.get("selector").filter(given) {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(selector) => errs.extend(validate_selector_matches(selector, template, kind)),
    }
    errs.extend(validate_pod_template(template, "spec.template"));
    errs.extend(validate_template_restart_policy(
        template,
        "spec.template",
        &["Always"],
    ));
    errs
}

fn validate_selector_matches(selector: &Value, template: &Value, kind: &str) -> ErrorList {
    let mut errs = validate_label_selector(selector, "spec.selector");
    if !errs.is_empty() {
        return errs;
    }
    let parsed = serde_json::from_value::<meta::LabelSelector>(selector.clone())
        .ok()
        .and_then(|s| LabelSelector::from_meta(&s).ok());
    let Some(parsed) = parsed else {
        return errs;
    };
    if parsed.is_empty() {
        errs.push(FieldError::invalid(
            "spec.selector",
            selector.clone(),
            &format!("empty selector is invalid for {kind}"),
        ));
        return errs;
    }
    let labels = template_labels(template);
    if !parsed.matches(&labels) {
        let shown = template
            .pointer("/metadata/labels")
            .cloned()
            .unwrap_or(Value::Null);
        errs.push(FieldError::invalid(
            "spec.template.metadata.labels",
            shown,
            "`selector` does not match template `labels`",
        ));
    }
    errs
}

pub(crate) fn template_labels(template: &Value) -> BTreeMap<String, String> {
    template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), crate::wire::display(v)))
                .collect()
        })
        .unwrap_or_default()
}

/// `spec.selector` may not change.
pub(crate) fn selector_unchanged(new: &Value, old: &Value) -> ErrorList {
    field_unchanged(new, old, "selector")
}

/// `spec.<field>` may not change.
pub(crate) fn field_unchanged(new: &Value, old: &Value, field: &str) -> ErrorList {
    let new_value = new.pointer(&format!("/spec/{field}"));
    let old_value = old.pointer(&format!("/spec/{field}"));
    if new_value == old_value {
        return Vec::new();
    }
    let shown = new_value.cloned().unwrap_or(Value::Null);
    vec![FieldError::invalid(
        &format!("spec.{field}"),
        shown,
        FIELD_IMMUTABLE,
    )]
}

/// `status.replicas` as a field-selector value.
pub(crate) fn status_replicas(obj: &Value, field: &str) -> Option<String> {
    match field {
        "status.replicas" => Some(
            obj.pointer("/status/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .to_string(),
        ),
        _ => None,
    }
}
