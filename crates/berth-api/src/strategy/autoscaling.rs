//! HorizontalPodAutoscalers, served at autoscaling/v1 and autoscaling/v2
//! (decoded by the object's own apiVersion).

use k8s_openapi::api::{autoscaling::v1, autoscaling::v2};
use serde_json::{Value, json};

use super::decode::{TypeMismatch, round_trip};
use super::kind::{Generation, KindStrategy};
use crate::resource::Scope::Namespaced;
use crate::validation::{ErrorList, FieldError};
use crate::wire::{default_at, list_at, object_at, str_at};

pub(super) static HORIZONTAL_POD_AUTOSCALER: KindStrategy = KindStrategy {
    status: true,
    generation: Generation::Spec,
    round_trip: Some(round_trip_by_version),
    default: default_hpa,
    validate: validate_hpa,
    ..KindStrategy::base("HorizontalPodAutoscaler", Namespaced)
};

fn is_v1(obj: &Value) -> bool {
    obj.get("apiVersion").and_then(Value::as_str) == Some(V1)
}

const V1: &str = "autoscaling/v1";

fn round_trip_by_version(obj: &Value, api_version: &str) -> Result<Value, TypeMismatch> {
    if api_version == V1 {
        round_trip::<v1::HorizontalPodAutoscaler>(obj)
    } else {
        round_trip::<v2::HorizontalPodAutoscaler>(obj)
    }
}

fn default_hpa(obj: &mut Value) {
    default_at(obj, &["spec", "minReplicas"], json!(1));
    if is_v1(obj) {
        return;
    }
    if list_at(obj, &["spec", "metrics"]).is_empty() {
        let cpu = json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]);
        object_at(obj, &["spec"]).insert("metrics".into(), cpu);
    }
    if obj.pointer("/spec/behavior").is_some_and(Value::is_object) {
        default_scaling_rules(
            obj,
            "scaleUp",
            0,
            json!([{"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]),
        );
        default_scaling_rules(
            obj,
            "scaleDown",
            300,
            json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]),
        );
    }
}

fn default_scaling_rules(obj: &mut Value, direction: &str, window: i64, policies: Value) {
    default_at(
        obj,
        &["spec", "behavior", direction, "stabilizationWindowSeconds"],
        json!(window),
    );
    default_at(
        obj,
        &["spec", "behavior", direction, "selectPolicy"],
        json!("Max"),
    );
    default_at(obj, &["spec", "behavior", direction, "policies"], policies);
}

fn validate_hpa(obj: &Value) -> ErrorList {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let mut errs = ErrorList::new();
    for field in ["kind", "name"] {
        if str_at(spec, &["scaleTargetRef", field]).is_empty() {
            errs.push(FieldError::required(
                &format!("spec.scaleTargetRef.{field}"),
                "",
            ));
        }
    }
    let min = spec.get("minReplicas").and_then(Value::as_i64).unwrap_or(1);
    let max = spec.get("maxReplicas").and_then(Value::as_i64).unwrap_or(0);
    if min < 1 {
        errs.push(FieldError::invalid(
            "spec.minReplicas",
            min,
            "must be greater than or equal to 1",
        ));
    }
    if max < 1 {
        errs.push(FieldError::invalid(
            "spec.maxReplicas",
            max,
            "must be greater than 0",
        ));
    } else if max < min {
        errs.push(FieldError::invalid(
            "spec.maxReplicas",
            max,
            "must be greater than or equal to `minReplicas`",
        ));
    }
    if let Some(target) = spec
        .get("targetCPUUtilizationPercentage")
        .and_then(Value::as_i64)
        .filter(|t| *t < 1)
    {
        errs.push(FieldError::invalid(
            "spec.targetCPUUtilizationPercentage",
            target,
            "must be greater than or equal to 1",
        ));
    }
    errs
}
