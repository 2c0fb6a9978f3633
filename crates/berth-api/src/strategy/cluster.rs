//! Small kinds with a rule or two each: Leases, PriorityClasses,
//! LimitRanges, ResourceQuotas, ServiceAccounts.

use k8s_openapi::api::{
    coordination::v1 as coordination, core::v1 as core, scheduling::v1 as scheduling,
};
use serde_json::{Value, json};

use super::kind::KindStrategy;
use crate::resource::Scope::{Cluster, Namespaced};
use crate::validation::{ErrorList, FieldError, index};
use crate::wire::{default_at, list_at, str_at};

/// Largest priority a user-defined PriorityClass may have.
pub const HIGHEST_USER_PRIORITY: i64 = 1_000_000_000;
const PREEMPTION_POLICIES: &[&str] = &["Never", "PreemptLowerPriority"];
const LIMIT_TYPES: &[&str] = &["Container", "PersistentVolumeClaim", "Pod"];

pub(super) static LEASE: KindStrategy = KindStrategy {
    validate: validate_lease,
    ..KindStrategy::typed::<coordination::Lease>("Lease", Namespaced)
};

pub(super) static PRIORITY_CLASS: KindStrategy = KindStrategy {
    default: default_priority_class,
    validate: validate_priority_class,
    validate_update: validate_priority_class_update,
    ..KindStrategy::typed::<scheduling::PriorityClass>("PriorityClass", Cluster)
};

pub(super) static LIMIT_RANGE: KindStrategy = KindStrategy {
    validate: validate_limit_range,
    ..KindStrategy::typed::<core::LimitRange>("LimitRange", Namespaced)
};

pub(super) static RESOURCE_QUOTA: KindStrategy = KindStrategy {
    status: true,
    ..KindStrategy::typed::<core::ResourceQuota>("ResourceQuota", Namespaced)
};

pub(super) static SERVICE_ACCOUNT: KindStrategy =
    KindStrategy::typed::<core::ServiceAccount>("ServiceAccount", Namespaced);

fn validate_lease(obj: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    if let Some(d) = obj
        .pointer("/spec/leaseDurationSeconds")
        .and_then(Value::as_i64)
        .filter(|d| *d <= 0)
    {
        errs.push(FieldError::invalid(
            "spec.leaseDurationSeconds",
            d,
            "must be greater than 0",
        ));
    }
    if let Some(t) = obj
        .pointer("/spec/leaseTransitions")
        .and_then(Value::as_i64)
        .filter(|t| *t < 0)
    {
        errs.push(FieldError::invalid(
            "spec.leaseTransitions",
            t,
            "must be greater than or equal to 0",
        ));
    }
    errs
}

fn default_priority_class(obj: &mut Value) {
    default_at(obj, &["preemptionPolicy"], json!("PreemptLowerPriority"));
}

fn validate_priority_class(obj: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    let name = str_at(obj, &["metadata", "name"]);
    let value = obj.get("value").and_then(Value::as_i64).unwrap_or(0);
    if !name.starts_with("system-") && value > HIGHEST_USER_PRIORITY {
        let detail =
            format!("maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}");
        errs.push(FieldError::forbidden("value", &detail));
    }
    let policy = str_at(obj, &["preemptionPolicy"]);
    if !policy.is_empty() && !PREEMPTION_POLICIES.contains(&policy) {
        errs.push(FieldError::not_supported(
            "preemptionPolicy",
            policy,
            PREEMPTION_POLICIES,
        ));
    }
    errs
}

fn validate_priority_class_update(new: &Value, old: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    if new.get("value") != old.get("value") {
        errs.push(FieldError::forbidden(
            "value",
            "may not be changed in an update.",
        ));
    }
    if new.get("preemptionPolicy") != old.get("preemptionPolicy") {
        let shown = new.get("preemptionPolicy").cloned().unwrap_or(Value::Null);
        errs.push(FieldError::invalid(
            "preemptionPolicy",
            shown,
            crate::validation::FIELD_IMMUTABLE,
        ));
    }
    errs
}

fn validate_limit_range(obj: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, limit) in list_at(obj, &["spec", "limits"]).iter().enumerate() {
        let kind = str_at(limit, &["type"]);
        let at = format!("{}.type", index("spec.limits", i));
        if kind.is_empty() {
            errs.push(FieldError::required(&at, ""));
        } else if !LIMIT_TYPES.contains(&kind) {
            errs.push(FieldError::not_supported(&at, kind, LIMIT_TYPES));
        }
    }
    errs
}
