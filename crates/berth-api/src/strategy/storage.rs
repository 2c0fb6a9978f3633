//! PersistentVolumes, PersistentVolumeClaims and StorageClasses.

use k8s_openapi::api::{core::v1 as core, storage::v1 as storage};
use serde_json::{Value, json};

use super::kind::KindStrategy;
use crate::resource::Scope::{Cluster, Namespaced};
use crate::validation::{ErrorList, FIELD_IMMUTABLE, FieldError};
use crate::wire::{as_object, default_at, list_at, str_at};

const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];
const RECLAIM_POLICIES: &[&str] = &["Delete", "Recycle", "Retain"];
const BINDING_MODES: &[&str] = &["Immediate", "WaitForFirstConsumer"];

pub(super) static PERSISTENT_VOLUME: KindStrategy = KindStrategy {
    status: true,
    default: default_persistent_volume,
    prepare_create: pending,
    validate: validate_persistent_volume,
    ..KindStrategy::typed::<core::PersistentVolume>("PersistentVolume", Cluster)
};

pub(super) static PERSISTENT_VOLUME_CLAIM: KindStrategy = KindStrategy {
    status: true,
    default: default_claim,
    prepare_create: pending,
    validate: validate_claim,
    validate_update: validate_claim_update,
    ..KindStrategy::typed::<core::PersistentVolumeClaim>("PersistentVolumeClaim", Namespaced)
};

pub(super) static STORAGE_CLASS: KindStrategy = KindStrategy {
    default: default_storage_class,
    validate: validate_storage_class,
    validate_update: validate_storage_class_update,
    ..KindStrategy::typed::<storage::StorageClass>("StorageClass", Cluster)
};

fn pending(obj: &mut Value) {
    as_object(obj).insert("status".into(), json!({"phase": "Pending"}));
}

fn default_persistent_volume(obj: &mut Value) {
    default_at(
        obj,
        &["spec", "persistentVolumeReclaimPolicy"],
        json!("Retain"),
    );
    default_at(obj, &["spec", "volumeMode"], json!("Filesystem"));
    default_at(obj, &["status", "phase"], json!("Pending"));
}

fn default_claim(obj: &mut Value) {
    default_at(obj, &["spec", "volumeMode"], json!("Filesystem"));
    default_at(obj, &["status", "phase"], json!("Pending"));
}

fn validate_access_modes(spec: &Value, path: &str) -> ErrorList {
    let modes = list_at(spec, &["accessModes"]);
    let mut errs = ErrorList::new();
    if modes.is_empty() {
        errs.push(FieldError::required(&format!("{path}.accessModes"), ""));
    }
    for mode in modes.iter().filter_map(Value::as_str) {
        if !ACCESS_MODES.contains(&mode) {
            errs.push(FieldError::not_supported(
                &format!("{path}.accessModes"),
                mode,
                ACCESS_MODES,
            ));
        }
    }
    errs
}

fn validate_persistent_volume(obj: &Value) -> ErrorList {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let mut errs = validate_access_modes(spec, "spec");
    if spec.pointer("/capacity/storage").is_none() {
        errs.push(FieldError::required("spec.capacity", ""));
    }
    let policy = str_at(spec, &["persistentVolumeReclaimPolicy"]);
    if !policy.is_empty() && !RECLAIM_POLICIES.contains(&policy) {
        errs.push(FieldError::not_supported(
            "spec.persistentVolumeReclaimPolicy",
            policy,
            RECLAIM_POLICIES,
        ));
    }
    errs
}

fn validate_claim(obj: &Value) -> ErrorList {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let mut errs = validate_access_modes(spec, "spec");
    if spec.pointer("/resources/requests/storage").is_none() {
        errs.push(FieldError::required("spec.resources[storage]", ""));
    }
    errs
}

/// A bound claim's spec is immutable except for a larger storage request.
fn validate_claim_update(new: &Value, old: &Value) -> ErrorList {
    let strip = |obj: &Value| {
        let mut spec = obj.get("spec").cloned().unwrap_or(Value::Null);
        if let Some(requests) = spec
            .pointer_mut("/resources/requests")
            .and_then(Value::as_object_mut)
        {
            requests.remove("storage");
        }
        if let Some(map) = spec.as_object_mut() {
            map.remove("volumeAttributesClassName");
            if old
                .pointer("/spec/volumeName")
                .is_none_or(|v| v.as_str() == Some(""))
            {
                map.remove("volumeName");
            }
        }
        spec
    };
    if strip(new) == strip(old) {
        return Vec::new();
    }
    vec![FieldError::forbidden(
        "spec",
        "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
    )]
}

fn default_storage_class(obj: &mut Value) {
    default_at(obj, &["reclaimPolicy"], json!("Delete"));
    default_at(obj, &["volumeBindingMode"], json!("Immediate"));
}

fn validate_storage_class(obj: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    if str_at(obj, &["provisioner"]).is_empty() {
        errs.push(FieldError::required("provisioner", ""));
    }
    for (field, allowed) in [
        ("reclaimPolicy", RECLAIM_POLICIES),
        ("volumeBindingMode", BINDING_MODES),
    ] {
        let value = str_at(obj, &[field]);
        if !value.is_empty() && !allowed.contains(&value) {
            errs.push(FieldError::not_supported(field, value, allowed));
        }
    }
    errs
}

fn validate_storage_class_update(new: &Value, old: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    for field in [
        "parameters",
        "provisioner",
        "reclaimPolicy",
        "volumeBindingMode",
    ] {
        if new.get(field) != old.get(field) {
            let shown = new.get(field).cloned().unwrap_or(Value::Null);
            errs.push(FieldError::invalid(field, shown, FIELD_IMMUTABLE));
        }
    }
    errs
}
