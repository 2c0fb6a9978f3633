//! Namespaces: DNS-label names, the `kubernetes` finalizer, phase Active,
//! and the `kubernetes.io/metadata.name` label.

use k8s_openapi::api::core::v1 as core;
use serde_json::{Value, json};

use super::kind::KindStrategy;
use crate::resource::Scope::Cluster;
use crate::validation::{ErrorList, FieldError, index, name_is_dns_label, qualified_name};
use crate::wire::{as_object, default_at, list_at, object_at, str_at};

/// The label every namespace carries with its own name.
pub const METADATA_NAME_LABEL: &str = "kubernetes.io/metadata.name";
const KUBERNETES_FINALIZER: &str = "kubernetes";

pub(super) static NAMESPACE: KindStrategy = KindStrategy {
    name: name_is_dns_label,
    status: true,
    default: default_namespace,
    prepare_create: prepare_namespace_create,
    prepare_update: keep_finalizers,
    validate: validate_namespace,
    fields: &["status.phase"],
    field_value: phase,
    ..KindStrategy::typed::<core::Namespace>("Namespace", Cluster)
};

fn default_namespace(obj: &mut Value) {
    default_at(obj, &["status", "phase"], json!("Active"));
    label_with_name(obj);
}

fn label_with_name(obj: &mut Value) {
    let name = str_at(obj, &["metadata", "name"]).to_string();
    if !name.is_empty() {
        object_at(obj, &["metadata", "labels"])
            .insert(METADATA_NAME_LABEL.into(), Value::String(name));
    }
}

fn prepare_namespace_create(obj: &mut Value) {
    as_object(obj).insert("status".into(), json!({"phase": "Active"}));
    let finalizers = object_at(obj, &["spec"])
        .entry("finalizers")
        .or_insert(json!([]));
    if !finalizers.is_array() {
        *finalizers = json!([]);
    }
    let missing = |list: &&mut Vec<Value>| !list.iter().any(|f| f == KUBERNETES_FINALIZER);
    if let Some(list) = finalizers.as_array_mut().filter(missing) {
        list.push(json!(KUBERNETES_FINALIZER));
    }
    label_with_name(obj);
}

/// `spec.finalizers` changes only through `/finalize`.
fn keep_finalizers(new: &mut Value, old: &Value) {
    let spec = object_at(new, &["spec"]);
    match old.pointer("/spec/finalizers") {
        Some(finalizers) => spec.insert("finalizers".into(), finalizers.clone()),
        None => spec.remove("finalizers"),
    };
}

fn validate_namespace(obj: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, finalizer) in list_at(obj, &["spec", "finalizers"]).iter().enumerate() {
        let name = finalizer.as_str().unwrap_or_default();
        let at = index("spec.finalizers", i);
        errs.extend(
            qualified_name(name)
                .iter()
                .map(|m| FieldError::invalid(&at, name, m)),
        );
        if !name.contains('/') && name != KUBERNETES_FINALIZER {
            errs.push(FieldError::invalid(
                &at,
                name,
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
    errs
}

fn phase(obj: &Value, field: &str) -> Option<String> {
    (field == "status.phase").then(|| str_at(obj, &["status", "phase"]).to_string())
}
