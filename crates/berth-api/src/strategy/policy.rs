//! policy/v1 PodDisruptionBudgets.

use k8s_openapi::api::policy::v1 as policy;
use serde_json::Value;

use super::apps::int_or_percent;
use super::kind::{Generation, KindStrategy};
use crate::resource::Scope::Namespaced;
use crate::validation::{ErrorList, FieldError, validate_label_selector};
use crate::wire::str_at;

const EVICTION_POLICIES: &[&str] = &["AlwaysAllow", "IfHealthyBudget"];

pub(super) static POD_DISRUPTION_BUDGET: KindStrategy = KindStrategy {
    status: true,
    generation: Generation::Spec,
    validate: validate_pdb,
    ..KindStrategy::typed::<policy::PodDisruptionBudget>("PodDisruptionBudget", Namespaced)
};

fn validate_pdb(obj: &Value) -> ErrorList {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let mut errs = ErrorList::new();
    let min = spec.get("minAvailable").filter(|v| !v.is_null());
    let max = spec.get("maxUnavailable").filter(|v| !v.is_null());
    if min.is_some() && max.is_some() {
        errs.push(FieldError::invalid(
            "spec",
            spec.clone(),
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for (field, value) in [("minAvailable", min), ("maxUnavailable", max)] {
        let Some(value) = value else { continue };
        let at = format!("spec.{field}");
        match int_or_percent(value) {
            None => errs.push(FieldError::invalid(
                &at,
                value.clone(),
                "must be an integer or percentage (e.g '5%')",
            )),
            Some((n, _)) if n < 0 => errs.push(FieldError::invalid(
                &at,
                value.clone(),
                "must be greater than or equal to 0",
            )),
            Some((n, true)) if n > 100 => errs.push(FieldError::invalid(
                &at,
                value.clone(),
                "must not be greater than 100%",
            )),
            Some(_) => {}
        }
    }
    if let Some(selector) = spec.get("selector").filter(|s| !s.is_null()) {
        errs.extend(validate_label_selector(selector, "spec.selector"));
    }
    let policy = str_at(spec, &["unhealthyPodEvictionPolicy"]);
    if !policy.is_empty() && !EVICTION_POLICIES.contains(&policy) {
        errs.push(FieldError::not_supported(
            "spec.unhealthyPodEvictionPolicy",
            policy,
            EVICTION_POLICIES,
        ));
    }
    errs
}
