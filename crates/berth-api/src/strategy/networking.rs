//! networking.k8s.io/v1: Ingresses, IngressClasses, NetworkPolicies.

use k8s_openapi::api::networking::v1 as networking;
use serde_json::{Value, json};

use super::kind::{Generation, KindStrategy};
use super::pod::validate_port_number;
use crate::resource::Scope::{Cluster, Namespaced};
use crate::validation::{
    ErrorList, FieldError, child, dns1123_subdomain, index, validate_label_selector,
};
use crate::wire::{default_at, list_at, list_at_mut, str_at};

const PATH_TYPES: &[&str] = &["Exact", "ImplementationSpecific", "Prefix"];
const POLICY_TYPES: &[&str] = &["Egress", "Ingress"];

pub(super) static INGRESS: KindStrategy = KindStrategy {
    status: true,
    generation: Generation::Spec,
    validate: validate_ingress,
    ..KindStrategy::typed::<networking::Ingress>("Ingress", Namespaced)
};

pub(super) static INGRESS_CLASS: KindStrategy = KindStrategy {
    validate: validate_ingress_class,
    ..KindStrategy::typed::<networking::IngressClass>("IngressClass", Cluster)
};

pub(super) static NETWORK_POLICY: KindStrategy = KindStrategy {
    generation: Generation::Spec,
    default: default_network_policy,
    validate: validate_network_policy,
    ..KindStrategy::typed::<networking::NetworkPolicy>("NetworkPolicy", Namespaced)
};

fn validate_ingress(obj: &Value) -> ErrorList {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let mut errs = ErrorList::new();
    let rules = list_at(spec, &["rules"]);
    let default_backend = spec.get("defaultBackend").filter(|b| !b.is_null());
    if rules.is_empty() && default_backend.is_none() {
        errs.push(FieldError::invalid(
            "spec",
            Value::String(String::new()),
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(backend) = default_backend {
        errs.extend(validate_backend(backend, "spec.defaultBackend"));
    }
    for (i, rule) in rules.iter().enumerate() {
        errs.extend(validate_rule(rule, &index("spec.rules", i)));
    }
    errs
}

fn validate_rule(rule: &Value, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let host = str_at(rule, &["host"]);
    if !host.is_empty() {
        let checked = host.strip_prefix("*.").unwrap_or(host);
        errs.extend(
            dns1123_subdomain(checked)
                .iter()
                .map(|m| FieldError::invalid(&child(path, "host"), host, m)),
        );
    }
    let Some(http) = rule.get("http").filter(|h| !h.is_null()) else {
        return errs;
    };
    let paths = list_at(http, &["paths"]);
    let paths_path = child(path, "http.paths");
    if paths.is_empty() {
        errs.push(FieldError::required(&paths_path, ""));
    }
    for (i, entry) in paths.iter().enumerate() {
        let at = index(&paths_path, i);
        let path_type = str_at(entry, &["pathType"]);
        let value = str_at(entry, &["path"]);
        if path_type.is_empty() {
            errs.push(FieldError::required(
                &child(&at, "pathType"),
                "pathType must be specified",
            ));
        } else if !PATH_TYPES.contains(&path_type) {
            errs.push(FieldError::not_supported(
                &child(&at, "pathType"),
                path_type,
                PATH_TYPES,
            ));
        } else if path_type != "ImplementationSpecific" && !value.starts_with('/') {
            errs.push(FieldError::invalid(
                &child(&at, "path"),
                value,
                "must be an absolute path",
            ));
        }
        errs.extend(validate_backend(
            entry.get("backend").unwrap_or(&Value::Null),
            &child(&at, "backend"),
        ));
    }
    errs
}

fn validate_backend(backend: &Value, path: &str) -> ErrorList {
    let service = backend.get("service").filter(|s| !s.is_null());
    let resource = backend.get("resource").filter(|r| !r.is_null());
    match (service, resource) {
        (Some(_), Some(_)) => vec![FieldError::invalid(
            path,
            Value::String(String::new()),
            "cannot set both resource and service backends",
        )],
        (None, None) => vec![FieldError::invalid(
            path,
            Value::String(String::new()),
            "resource or service backend is required",
        )],
        (Some(service), None) => validate_service_backend(service, &child(path, "service")),
        (None, Some(_)) => Vec::new(),
    }
}

fn validate_service_backend(service: &Value, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    if str_at(service, &["name"]).is_empty() {
        errs.push(FieldError::required(&child(path, "name"), ""));
    }
    let name = str_at(service, &["port", "name"]);
    let number = service.pointer("/port/number").filter(|n| !n.is_null());
    match (name.is_empty(), number) {
        (false, Some(_)) => errs.push(FieldError::invalid(
            &child(path, "port"),
            Value::String(name.into()),
            "cannot set both port name & port number",
        )),
        (true, None) => errs.push(FieldError::invalid(
            &child(path, "port"),
            Value::String(String::new()),
            "port name or number is required",
        )),
        (true, Some(number)) => {
            errs.extend(validate_port_number(number, &child(path, "port.number")))
        }
        (false, None) => {}
    }
    errs
}

fn validate_ingress_class(obj: &Value) -> ErrorList {
    let controller = str_at(obj, &["spec", "controller"]);
    if controller.is_empty() {
        return vec![FieldError::required("spec.controller", "")];
    }
    Vec::new()
}

/// Ingress always; Egress too when egress rules are given.
fn default_network_policy(obj: &mut Value) {
    let egress = !list_at(obj, &["spec", "egress"]).is_empty();
    let types = if egress {
        json!(["Ingress", "Egress"])
    } else {
        json!(["Ingress"])
    };
    default_at(obj, &["spec", "policyTypes"], types);
    for direction in ["ingress", "egress"] {
        for rule in list_at_mut(obj, &["spec", direction]).into_iter().flatten() {
            for port in list_at_mut(rule, &["ports"]).into_iter().flatten() {
                default_at(port, &["protocol"], json!("TCP"));
            }
        }
    }
}

fn validate_network_policy(obj: &Value) -> ErrorList {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let mut errs = validate_label_selector(
        spec.get("podSelector").unwrap_or(&Value::Null),
        "spec.podSelector",
    );
    for (i, kind) in list_at(spec, &["policyTypes"]).iter().enumerate() {
        let kind = kind.as_str().unwrap_or_default();
        if !POLICY_TYPES.contains(&kind) {
            errs.push(FieldError::not_supported(
                &index("spec.policyTypes", i),
                kind,
                POLICY_TYPES,
            ));
        }
    }
    errs
}
