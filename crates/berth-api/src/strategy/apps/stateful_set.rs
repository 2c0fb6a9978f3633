//! StatefulSet validation beyond counts, selector and template: the
//! rolling update's `maxUnavailable`, `rollingUpdate` only with
//! RollingUpdate, `ordinals.start` and the PVC retention policy, with
//! upstream's field paths and messages.

use serde_json::{Value, json};

use super::int_or_percent;
use crate::validation::{ErrorList, FieldError};
use crate::wire::{at, list_at, str_at};

const PERCENT_FORMAT: &str = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

/// The errors of `spec.updateStrategy`, `spec.ordinals` and
/// `spec.persistentVolumeClaimRetentionPolicy`.
pub(super) fn validate(spec: &Value) -> ErrorList {
    let mut errs = validate_update_strategy(spec);
    if let Some(start) = at(spec, &["ordinals", "start"]).and_then(Value::as_i64)
        && start < 0
    {
        errs.push(FieldError::invalid(
            "spec.ordinals.start",
            start,
            "must be greater than or equal to 0",
        ));
    }
    for field in ["whenDeleted", "whenScaled"] {
        let value = str_at(spec, &["persistentVolumeClaimRetentionPolicy", field]);
        if !value.is_empty() && !["Retain", "Delete"].contains(&value) {
            errs.push(FieldError::not_supported(
                &format!("spec.persistentVolumeClaimRetentionPolicy.{field}"),
                value,
                &["Retain", "Delete"],
            ));
        }
    }
    errs
}

/// The spec with one volume per `volumeClaimTemplates` entry in the pod
/// template, as the controller adds them: the template's volumeMounts may
/// name a claim template.
pub(super) fn with_claim_volumes(spec: &Value) -> Value {
    let mut spec = spec.clone();
    let names: Vec<String> = list_at(&spec, &["volumeClaimTemplates"])
        .iter()
        .map(|t| str_at(t, &["metadata", "name"]).to_string())
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        return spec;
    }
    let Some(volumes) = ensure_volumes(&mut spec) else {
        return spec;
    };
    volumes.retain(|v| {
        !names
            .iter()
            .any(|n| v.get("name").and_then(Value::as_str) == Some(n))
    });
    for name in names {
        volumes.push(json!({"name": name, "persistentVolumeClaim": {"claimName": name}}));
    }
    spec
}

fn ensure_volumes(spec: &mut Value) -> Option<&mut Vec<Value>> {
    let pod = spec.get_mut("template")?.get_mut("spec")?.as_object_mut()?;
    let volumes = pod.entry("volumes").or_insert_with(|| json!([]));
    if !volumes.is_array() {
        *volumes = json!([]);
    }
    volumes.as_array_mut()
}

fn validate_update_strategy(spec: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    let rolling = at(spec, &["updateStrategy", "rollingUpdate"]).filter(|r| !r.is_null());
    let Some(rolling) = rolling else {
        return errs;
    };
    if str_at(spec, &["updateStrategy", "type"]) == "OnDelete" {
        errs.push(FieldError::invalid(
            "spec.updateStrategy.rollingUpdate",
            rolling.clone(),
            "only allowed for updateStrategy 'RollingUpdate'",
        ));
    }
    let Some(value) = rolling.get("maxUnavailable").filter(|v| !v.is_null()) else {
        return errs;
    };
    let path = "spec.updateStrategy.rollingUpdate.maxUnavailable";
    match int_or_percent(value) {
        None => errs.push(FieldError::invalid(path, value.clone(), PERCENT_FORMAT)),
        Some((n, _)) if n < 0 => errs.push(FieldError::invalid(
            path,
            value.clone(),
            "must be greater than or equal to 0",
        )),
        Some((0, _)) => errs.push(FieldError::invalid(path, value.clone(), "cannot be 0")),
        Some((n, true)) if n > 100 => errs.push(FieldError::invalid(
            path,
            value.clone(),
            "must not be greater than 100%",
        )),
        Some(_) => {}
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(spec: Value) -> Vec<String> {
        validate(&spec).into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn volume_mounts_may_name_a_claim_template() {
        let mut set = json!({"spec": {"replicas": 1, "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}},
                "spec": {"restartPolicy": "Always", "containers": [{"name": "c", "image": "i",
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}}}});
        let errors = |set: &Value| -> Vec<String> {
            super::super::validate_stateful_set(set)
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(
            errors(&set),
            ["spec.template.spec.containers[0].volumeMounts[0].name"]
        );
        set["spec"]["volumeClaimTemplates"] = json!([{"metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"]}}]);
        assert_eq!(errors(&set), Vec::<String>::new());
    }

    #[test]
    fn stateful_set_update_strategy_ordinals_and_retention_are_checked() {
        assert!(
            fields(json!({"updateStrategy": {"type": "RollingUpdate",
            "rollingUpdate": {"partition": 1, "maxUnavailable": "50%"}}}))
            .is_empty()
        );
        assert_eq!(
            fields(json!({"updateStrategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0}}})),
            ["spec.updateStrategy.rollingUpdate.maxUnavailable"]
        );
        assert_eq!(
            fields(json!({"updateStrategy": {"type": "OnDelete", "rollingUpdate": {}}})),
            ["spec.updateStrategy.rollingUpdate"]
        );
        assert_eq!(
            fields(json!({"ordinals": {"start": -1},
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Keep"}})),
            [
                "spec.ordinals.start",
                "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"
            ]
        );
    }
}
