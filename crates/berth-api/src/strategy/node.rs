//! Nodes: allocatable defaults to capacity; podCIDR and providerID are set once.

use k8s_openapi::api::core::v1 as core;
use serde_json::Value;

use super::kind::KindStrategy;
use crate::resource::Scope::Cluster;
use crate::validation::{ErrorList, FieldError, index};
use crate::wire::{list_at, object_at, str_at};

const TAINT_EFFECTS: &[&str] = &["NoExecute", "NoSchedule", "PreferNoSchedule"];

pub(super) static NODE: KindStrategy = KindStrategy {
    status: true,
    default: default_node,
    validate: validate_node,
    validate_update: validate_node_update,
    fields: &["spec.unschedulable"],
    field_value: node_field,
    ..KindStrategy::typed::<core::Node>("Node", Cluster)
};

fn default_node(obj: &mut Value) {
    let capacity = obj
        .pointer("/status/capacity")
        .filter(|c| c.is_object())
        .cloned();
    let has_allocatable = obj
        .pointer("/status/allocatable")
        .is_some_and(|a| !a.is_null());
    if let (Some(capacity), false) = (capacity, has_allocatable) {
        object_at(obj, &["status"]).insert("allocatable".into(), capacity);
    }
}

fn validate_node(obj: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, taint) in list_at(obj, &["spec", "taints"]).iter().enumerate() {
        let at = index("spec.taints", i);
        if str_at(taint, &["key"]).is_empty() {
            errs.push(FieldError::required(&format!("{at}.key"), ""));
        }
        let effect = str_at(taint, &["effect"]);
        if effect.is_empty() {
            errs.push(FieldError::required(&format!("{at}.effect"), ""));
        } else if !TAINT_EFFECTS.contains(&effect) {
            errs.push(FieldError::not_supported(
                &format!("{at}.effect"),
                effect,
                TAINT_EFFECTS,
            ));
        }
    }
    for (i, cidr) in list_at(obj, &["spec", "podCIDRs"]).iter().enumerate() {
        let text = cidr.as_str().unwrap_or_default();
        if !is_cidr(text) {
            errs.push(FieldError::invalid(
                &index("spec.podCIDRs", i),
                text,
                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            ));
        }
    }
    errs
}

fn is_cidr(text: &str) -> bool {
    let Some((ip, bits)) = text.split_once('/') else {
        return false;
    };
    let max = match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => 32,
        Ok(std::net::IpAddr::V6(_)) => 128,
        Err(_) => return false,
    };
    bits.parse::<u8>().is_ok_and(|b| b <= max)
}

fn validate_node_update(new: &Value, old: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    let old_cidrs = list_at(old, &["spec", "podCIDRs"]);
    if !old_cidrs.is_empty() && list_at(new, &["spec", "podCIDRs"]) != old_cidrs {
        errs.push(FieldError::forbidden(
            "spec.podCIDRs",
            "node updates may not change podCIDR except from \"\" to valid",
        ));
    }
    let old_provider = str_at(old, &["spec", "providerID"]);
    if !old_provider.is_empty() && str_at(new, &["spec", "providerID"]) != old_provider {
        errs.push(FieldError::forbidden(
            "spec.providerID",
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    errs
}

fn node_field(obj: &Value, field: &str) -> Option<String> {
    let unschedulable = obj
        .pointer("/spec/unschedulable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    (field == "spec.unschedulable").then(|| unschedulable.to_string())
}
