//! Events, in the core group (v1) and in events.k8s.io/v1.

use k8s_openapi::api::{core::v1 as core, events::v1 as events};
use serde_json::Value;

use super::kind::KindStrategy;
use crate::resource::Scope::Namespaced;
use crate::validation::{ErrorList, FieldError};
use crate::wire::{display, str_at};

const EVENT_TYPES: &[&str] = &["Normal", "Warning"];

/// Field-selector paths of events (both groups select on the core names).
const EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

pub(super) static CORE_EVENT: KindStrategy = KindStrategy {
    validate: validate_core_event,
    fields: EVENT_FIELDS,
    field_value: core_event_field,
    ..KindStrategy::typed::<core::Event>("Event", Namespaced)
};

/// Field-selector paths of events.k8s.io/v1 events (upstream maps them
/// onto the core names).
const EVENTS_API_FIELDS: &[&str] = &[
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reason",
    "reportingController",
    "type",
];

pub(super) static EVENT: KindStrategy = KindStrategy {
    validate: validate_event,
    fields: EVENTS_API_FIELDS,
    field_value: event_field,
    ..KindStrategy::typed::<events::Event>("Event", Namespaced)
};

fn validate_core_event(obj: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    let involved = str_at(obj, &["involvedObject", "namespace"]);
    let namespace = str_at(obj, &["metadata", "namespace"]);
    if !involved.is_empty() && involved != namespace {
        errs.push(FieldError::invalid(
            "involvedObject.namespace",
            involved,
            "does not match event.namespace",
        ));
    }
    errs
}

fn validate_event(obj: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    for field in [
        "eventTime",
        "reportingController",
        "reportingInstance",
        "action",
        "reason",
    ] {
        if obj
            .get(field)
            .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
        {
            errs.push(FieldError::required(field, ""));
        }
    }
    let kind = str_at(obj, &["type"]);
    if !EVENT_TYPES.contains(&kind) {
        errs.push(FieldError::not_supported("type", kind, EVENT_TYPES));
    }
    let regarding = str_at(obj, &["regarding", "namespace"]);
    let namespace = str_at(obj, &["metadata", "namespace"]);
    if !regarding.is_empty() && regarding != namespace {
        errs.push(FieldError::invalid(
            "regarding.namespace",
            regarding,
            "does not match event.namespace",
        ));
    }
    errs
}

fn pointer_string(obj: &Value, pointer: &str) -> Option<String> {
    Some(obj.pointer(pointer).map(display).unwrap_or_default())
}

fn core_event_field(obj: &Value, field: &str) -> Option<String> {
    match field {
        "source" => pointer_string(obj, "/source/component"),
        "reportingComponent" => pointer_string(obj, "/reportingComponent"),
        other => pointer_string(obj, &format!("/{}", other.replace('.', "/"))),
    }
}

fn event_field(obj: &Value, field: &str) -> Option<String> {
    pointer_string(obj, &format!("/{}", field.replace('.', "/")))
}
