//! Pods and PodTemplates.

mod container;
mod defaults;
mod validation;

use k8s_openapi::api::core::v1 as core;
use serde_json::{Value, json};

use super::kind::{Generation, KindStrategy};
use crate::quantity::parse_quantity;
use crate::resource::Scope::Namespaced;
use crate::validation::ErrorList;
use crate::wire::{as_object, display, list_at};

pub(crate) use container::{validate_port_number, validate_protocol};
pub(crate) use defaults::default_pod_template;
pub use validation::POD_UPDATE_FORBIDDEN;
pub(crate) use validation::{
    validate_pod_spec, validate_pod_template, validate_template_restart_policy,
};

pub(super) static POD: KindStrategy = KindStrategy {
    status: true,
    generation: Generation::Spec,
    default: defaults::default_pod,
    prepare_create: prepare_pod_create,
    validate: validate_pod,
    validate_update: validation::validate_pod_spec_update,
    fields: &[
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ],
    field_value: pod_field,
    ..KindStrategy::typed::<core::Pod>("Pod", Namespaced)
};

pub(super) static POD_TEMPLATE: KindStrategy = KindStrategy {
    default: default_template_object,
    validate: validate_template_object,
    ..KindStrategy::typed::<core::PodTemplate>("PodTemplate", Namespaced)
};

fn validate_pod(obj: &Value) -> ErrorList {
    validate_pod_spec(obj.get("spec").unwrap_or(&Value::Null), "spec")
}

fn default_template_object(obj: &mut Value) {
    if let Some(template) = obj.get_mut("template") {
        default_pod_template(template);
    }
}

fn validate_template_object(obj: &Value) -> ErrorList {
    validate_pod_template(obj.get("template").unwrap_or(&Value::Null), "template")
}

/// A new Pod is Pending, with its QoS class worked out.
fn prepare_pod_create(obj: &mut Value) {
    let qos = qos_class(obj.get("spec").unwrap_or(&Value::Null));
    as_object(obj).insert(
        "status".into(),
        json!({"phase": "Pending", "qosClass": qos}),
    );
}

/// Guaranteed when every container limits cpu and memory with requests
/// equal to limits; BestEffort when nothing is requested or limited;
/// Burstable otherwise.
pub fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = list_at(spec, &["containers"])
        .iter()
        .chain(list_at(spec, &["initContainers"]))
        .collect();
    let compute = ["cpu", "memory"];
    let amount = |c: &Value, list: &str, resource: &str| -> Option<f64> {
        let q = c.pointer(&format!("/resources/{list}/{resource}"))?;
        parse_quantity(&display(q)).filter(|v| *v > 0.0)
    };
    let any_set = containers.iter().any(|c| {
        compute
            .iter()
            .any(|r| amount(c, "requests", r).is_some() || amount(c, "limits", r).is_some())
    });
    if !any_set {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        compute.iter().all(|r| {
            let limit = amount(c, "limits", r);
            let request = amount(c, "requests", r).or(limit);
            limit.is_some() && request == limit
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn pod_field(obj: &Value, field: &str) -> Option<String> {
    match field {
        "spec.hostNetwork" => {
            let host = obj
                .pointer("/spec/hostNetwork")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            Some(host.to_string())
        }
        "status.podIP" => {
            let ip = obj
                .pointer("/status/podIPs/0/ip")
                .or_else(|| obj.pointer("/status/podIP"));
            ip.map(display)
        }
        _ => {
            let pointer = format!("/{}", field.replace('.', "/"));
            obj.pointer(&pointer).map(display)
        }
    }
}

#[cfg(test)]
mod tests;
