//! apps/v1: Deployments, ReplicaSets, StatefulSets, DaemonSets, ControllerRevisions.

use k8s_openapi::api::apps::v1 as apps;
use serde_json::{Value, json};

use super::kind::{Generation, KindStrategy};
use super::pod::default_pod_template;
use super::workload::{
    non_negative, selector_unchanged, status_replicas, validate_selector_and_template,
};
use crate::resource::Scope::Namespaced;
use crate::validation::{ErrorList, FieldError};
use crate::wire::{default_at, object_at, str_at};

pub(super) static DEPLOYMENT: KindStrategy = KindStrategy {
    status: true,
    generation: Generation::SpecAndAnnotations,
    default: default_deployment,
    validate: validate_deployment,
    validate_update: selector_unchanged,
    ..KindStrategy::typed::<apps::Deployment>("Deployment", Namespaced)
};

pub(super) static REPLICA_SET: KindStrategy = KindStrategy {
    status: true,
    generation: Generation::Spec,
    default: default_replica_set,
    validate: validate_replica_set,
    validate_update: selector_unchanged,
    fields: &["status.replicas"],
    field_value: status_replicas,
    ..KindStrategy::typed::<apps::ReplicaSet>("ReplicaSet", Namespaced)
};

pub(super) static STATEFUL_SET: KindStrategy = KindStrategy {
    status: true,
    generation: Generation::Spec,
    default: default_stateful_set,
    validate: validate_stateful_set,
    validate_update: validate_stateful_set_update,
    ..KindStrategy::typed::<apps::StatefulSet>("StatefulSet", Namespaced)
};

pub(super) static DAEMON_SET: KindStrategy = KindStrategy {
    status: true,
    generation: Generation::Spec,
    default: default_daemon_set,
    prepare_create: prepare_daemon_set_create,
    prepare_update: prepare_daemon_set_update,
    validate: validate_daemon_set,
    validate_update: selector_unchanged,
    ..KindStrategy::typed::<apps::DaemonSet>("DaemonSet", Namespaced)
};

pub(super) static CONTROLLER_REVISION: KindStrategy = KindStrategy {
    validate: validate_controller_revision,
    validate_update: validate_controller_revision_update,
    ..KindStrategy::typed::<apps::ControllerRevision>("ControllerRevision", Namespaced)
};

/// Defaults every workload's pod template gets.
pub(crate) fn default_spec_template(obj: &mut Value) {
    let spec = object_at(obj, &["spec"]);
    let template = spec.entry("template").or_insert(json!({}));
    default_pod_template(template);
}

fn default_deployment(obj: &mut Value) {
    default_at(obj, &["spec", "replicas"], json!(1));
    default_at(obj, &["spec", "strategy", "type"], json!("RollingUpdate"));
    if str_at(obj, &["spec", "strategy", "type"]) == "RollingUpdate" {
        default_at(
            obj,
            &["spec", "strategy", "rollingUpdate", "maxUnavailable"],
            json!("25%"),
        );
        default_at(
            obj,
            &["spec", "strategy", "rollingUpdate", "maxSurge"],
            json!("25%"),
        );
    }
    default_at(obj, &["spec", "revisionHistoryLimit"], json!(10));
    default_at(obj, &["spec", "progressDeadlineSeconds"], json!(600));
    default_spec_template(obj);
}

fn default_replica_set(obj: &mut Value) {
    default_at(obj, &["spec", "replicas"], json!(1));
    default_spec_template(obj);
}

fn default_stateful_set(obj: &mut Value) {
    default_at(obj, &["spec", "replicas"], json!(1));
    default_at(obj, &["spec", "podManagementPolicy"], json!("OrderedReady"));
    default_at(
        obj,
        &["spec", "updateStrategy", "type"],
        json!("RollingUpdate"),
    );
    if str_at(obj, &["spec", "updateStrategy", "type"]) == "RollingUpdate" {
        default_at(
            obj,
            &["spec", "updateStrategy", "rollingUpdate", "partition"],
            json!(0),
        );
    }
    default_at(obj, &["spec", "revisionHistoryLimit"], json!(10));
    default_at(
        obj,
        &[
            "spec",
            "persistentVolumeClaimRetentionPolicy",
            "whenDeleted",
        ],
        json!("Retain"),
    );
    default_at(
        obj,
        &["spec", "persistentVolumeClaimRetentionPolicy", "whenScaled"],
        json!("Retain"),
    );
    if let Some(claims) = obj
        .pointer_mut("/spec/volumeClaimTemplates")
        .and_then(Value::as_array_mut)
    {
        for claim in claims {
            default_at(claim, &["spec", "volumeMode"], json!("Filesystem"));
            default_at(claim, &["status", "phase"], json!("Pending"));
        }
    }
    default_spec_template(obj);
}

fn default_daemon_set(obj: &mut Value) {
    default_at(
        obj,
        &["spec", "updateStrategy", "type"],
        json!("RollingUpdate"),
    );
    if str_at(obj, &["spec", "updateStrategy", "type"]) == "RollingUpdate" {
        default_at(
            obj,
            &["spec", "updateStrategy", "rollingUpdate", "maxUnavailable"],
            json!(1),
        );
        default_at(
            obj,
            &["spec", "updateStrategy", "rollingUpdate", "maxSurge"],
            json!(0),
        );
    }
    default_at(obj, &["spec", "revisionHistoryLimit"], json!(10));
    default_spec_template(obj);
}

/// Where apps/v1 carries a DaemonSet's template generation (upstream's
/// internal `spec.templateGeneration`).
const TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

fn template_generation(obj: &Value) -> i64 {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(TEMPLATE_GENERATION))
        .and_then(Value::as_str)
        .and_then(|g| g.parse().ok())
        .unwrap_or(0)
}

fn set_template_generation(obj: &mut Value, generation: i64) {
    let annotations = object_at(obj, &["metadata", "annotations"]);
    annotations.insert(TEMPLATE_GENERATION.into(), json!(generation.to_string()));
}

/// A new DaemonSet's template generation is at least 1.
fn prepare_daemon_set_create(obj: &mut Value) {
    let generation = template_generation(obj).max(1);
    set_template_generation(obj, generation);
}

/// The template generation is the server's: kept, and raised by one when
/// the pod template changes.
fn prepare_daemon_set_update(new: &mut Value, old: &Value) {
    let mut generation = template_generation(old);
    if new.pointer("/spec/template") != old.pointer("/spec/template") {
        generation += 1;
    }
    if generation > 0 {
        set_template_generation(new, generation);
    } else if let Some(a) = new
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove(TEMPLATE_GENERATION);
    }
}

fn spec(obj: &Value) -> &Value {
    obj.get("spec").unwrap_or(&Value::Null)
}

fn validate_counts(spec: &Value, fields: &[&str]) -> ErrorList {
    fields.iter().flat_map(|f| non_negative(spec, f)).collect()
}

fn validate_deployment(obj: &Value) -> ErrorList {
    let spec = spec(obj);
    let mut errs = validate_counts(
        spec,
        &[
            "replicas",
            "minReadySeconds",
            "revisionHistoryLimit",
            "progressDeadlineSeconds",
        ],
    );
    errs.extend(validate_selector_and_template(spec, "deployment"));
    errs.extend(validate_deployment_strategy(
        spec.get("strategy").unwrap_or(&Value::Null),
    ));
    let deadline = spec.get("progressDeadlineSeconds").and_then(Value::as_i64);
    let min_ready = spec
        .get("minReadySeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if let Some(deadline) = deadline.filter(|d| *d <= min_ready) {
        errs.push(FieldError::invalid(
            "spec.progressDeadlineSeconds",
            deadline,
            "must be greater than minReadySeconds",
        ));
    }
    errs
}

fn validate_deployment_strategy(strategy: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    let kind = str_at(strategy, &["type"]);
    let rolling = strategy.get("rollingUpdate").filter(|r| !r.is_null());
    match (kind, rolling) {
        ("Recreate", Some(_)) => errs.push(FieldError::forbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
        )),
        ("RollingUpdate", Some(rolling)) => errs.extend(validate_rolling_update(
            rolling,
            "spec.strategy.rollingUpdate",
        )),
        ("RollingUpdate" | "Recreate" | "", _) => {}
        (other, _) => errs.push(FieldError::not_supported(
            "spec.strategy.type",
            other,
            &["Recreate", "RollingUpdate"],
        )),
    }
    errs
}

/// maxUnavailable and maxSurge: non-negative, percentages ≤ 100%, not both 0.
fn validate_rolling_update(rolling: &Value, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut zero = Vec::new();
    for field in ["maxUnavailable", "maxSurge"] {
        let Some(value) = rolling.get(field).filter(|v| !v.is_null()) else {
            zero.push(true);
            continue;
        };
        let at = format!("{path}.{field}");
        match int_or_percent(value) {
            None => errs.push(FieldError::invalid(&at, value.clone(), "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")),
            Some((n, _)) if n < 0 => errs.push(FieldError::invalid(&at, value.clone(), "must be greater than or equal to 0")),
            Some((n, true)) if n > 100 && field == "maxUnavailable" => {
                errs.push(FieldError::invalid(&at, value.clone(), "must not be greater than 100%"));
            }
            Some((n, _)) => zero.push(n == 0),
        }
    }
    if zero == [true, true] {
        let shown = rolling.get("maxUnavailable").cloned().unwrap_or(json!(0));
        errs.push(FieldError::invalid(
            &format!("{path}.maxUnavailable"),
            shown,
            "may not be 0 when `maxSurge` is 0",
        ));
    }
    errs
}

/// An IntOrString as (number, is a percentage).
pub(crate) fn int_or_percent(value: &Value) -> Option<(i64, bool)> {
    match value {
        Value::Number(n) => n.as_i64().map(|n| (n, false)),
        Value::String(s) => s.strip_suffix('%')?.parse().ok().map(|n| (n, true)),
        _ => None,
    }
}

fn validate_replica_set(obj: &Value) -> ErrorList {
    let spec = spec(obj);
    let mut errs = validate_counts(spec, &["replicas", "minReadySeconds"]);
    errs.extend(validate_selector_and_template(spec, "replicaset"));
    errs
}

fn validate_stateful_set(obj: &Value) -> ErrorList {
    let spec = spec(obj);
    let mut errs = validate_counts(
        spec,
        &["replicas", "minReadySeconds", "revisionHistoryLimit"],
    );
    let with_claims = stateful_set::with_claim_volumes(spec);
    errs.extend(validate_selector_and_template(&with_claims, "statefulset"));
    errs.extend(stateful_set::validate(spec));
    let policy = str_at(spec, &["podManagementPolicy"]);
    if !policy.is_empty() && !["OrderedReady", "Parallel"].contains(&policy) {
        errs.push(FieldError::not_supported(
            "spec.podManagementPolicy",
            policy,
            &["OrderedReady", "Parallel"],
        ));
    }
    let update = str_at(spec, &["updateStrategy", "type"]);
    if !update.is_empty() && !["OnDelete", "RollingUpdate"].contains(&update) {
        errs.push(FieldError::not_supported(
            "spec.updateStrategy.type",
            update,
            &["OnDelete", "RollingUpdate"],
        ));
    }
    errs.extend(non_negative_at(
        spec,
        &["updateStrategy", "rollingUpdate", "partition"],
    ));
    errs
}

fn non_negative_at(spec: &Value, path: &[&str]) -> ErrorList {
    let value = crate::wire::at(spec, path).and_then(Value::as_i64);
    match value {
        Some(v) if v < 0 => vec![FieldError::invalid(
            &format!("spec.{}", path.join(".")),
            v,
            super::workload::NON_NEGATIVE,
        )],
        _ => Vec::new(),
    }
}

/// Only replicas, ordinals, template, updateStrategy, the PVC retention
/// policy and minReadySeconds of a StatefulSet may change.
fn validate_stateful_set_update(new: &Value, old: &Value) -> ErrorList {
    let mutable = [
        "replicas",
        "ordinals",
        "template",
        "updateStrategy",
        "persistentVolumeClaimRetentionPolicy",
        "minReadySeconds",
    ];
    let strip = |obj: &Value| -> serde_json::Map<String, Value> {
        let mut spec = spec(obj).as_object().cloned().unwrap_or_default();
        spec.retain(|k, _| !mutable.contains(&k.as_str()));
        spec
    };
    if strip(new) == strip(old) {
        return Vec::new();
    }
    vec![FieldError::forbidden(
        "spec",
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    )]
}

fn validate_daemon_set(obj: &Value) -> ErrorList {
    let spec = spec(obj);
    let mut errs = validate_counts(spec, &["minReadySeconds", "revisionHistoryLimit"]);
    errs.extend(validate_selector_and_template(spec, "daemonset"));
    let strategy = spec.get("updateStrategy").unwrap_or(&Value::Null);
    match str_at(strategy, &["type"]) {
        "RollingUpdate" => {
            if let Some(rolling) = strategy.get("rollingUpdate").filter(|r| !r.is_null()) {
                errs.extend(validate_rolling_update(
                    rolling,
                    "spec.updateStrategy.rollingUpdate",
                ));
            }
        }
        "OnDelete" | "" => {}
        other => errs.push(FieldError::not_supported(
            "spec.updateStrategy.type",
            other,
            &["OnDelete", "RollingUpdate"],
        )),
    }
    errs
}

fn validate_controller_revision(obj: &Value) -> ErrorList {
    match obj.get("revision").and_then(Value::as_i64) {
        Some(r) if r < 0 => vec![FieldError::invalid(
            "revision",
            r,
            super::workload::NON_NEGATIVE,
        )],
        _ => Vec::new(),
    }
}

fn validate_controller_revision_update(new: &Value, old: &Value) -> ErrorList {
    if new.get("data") == old.get("data") {
        return Vec::new();
    }
    vec![FieldError::invalid(
        "data",
        Value::String("...".into()),
        crate::validation::FIELD_IMMUTABLE,
    )]
}

mod stateful_set;
#[cfg(test)]
mod tests;
