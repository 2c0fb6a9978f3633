//! Services: defaults, port and type rules, and keeping allocated values
//! (clusterIP, nodePorts) across updates that omit them.

use std::collections::HashSet;

use k8s_openapi::api::core::v1 as core;
use serde_json::{Value, json};

use super::kind::KindStrategy;
use super::pod::{validate_port_number, validate_protocol};
use crate::resource::Scope::Namespaced;
use crate::validation::{
    ErrorList, FIELD_IMMUTABLE, FieldError, child, dns1123_label, dns1123_subdomain, index,
    name_is_dns1035_label, port_name, validate_labels,
};
use crate::wire::{as_object, default_at, default_key, list_at, list_at_mut, object_at, str_at};

const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const AFFINITIES: &[&str] = &["ClientIP", "None"];
const TRAFFIC_POLICIES: &[&str] = &["Cluster", "Local"];
const FAMILY_POLICIES: &[&str] = &["PreferDualStack", "RequireDualStack", "SingleStack"];

pub(super) static SERVICE: KindStrategy = KindStrategy {
    name: name_is_dns1035_label,
    status: true,
    default: default_service,
    prepare_update: keep_allocated_values,
    validate: validate_service,
    validate_update: validate_service_update,
    fields: &["spec.clusterIP", "spec.type"],
    field_value: service_field,
    ..KindStrategy::typed::<core::Service>("Service", Namespaced)
};

fn service_type(obj: &Value) -> &str {
    match str_at(obj, &["spec", "type"]) {
        "" => "ClusterIP",
        other => other,
    }
}

fn uses_node_ports(kind: &str) -> bool {
    kind == "NodePort" || kind == "LoadBalancer"
}

fn default_service(obj: &mut Value) {
    default_at(obj, &["spec", "type"], json!("ClusterIP"));
    default_at(obj, &["spec", "sessionAffinity"], json!("None"));
    if str_at(obj, &["spec", "sessionAffinity"]) == "ClientIP" {
        default_at(
            obj,
            &[
                "spec",
                "sessionAffinityConfig",
                "clientIP",
                "timeoutSeconds",
            ],
            json!(10800),
        );
    }
    let kind = service_type(obj).to_string();
    let spec = object_at(obj, &["spec"]);
    if kind != "ExternalName" {
        default_key(spec, "internalTrafficPolicy", json!("Cluster"));
        default_key(spec, "ipFamilyPolicy", json!("SingleStack"));
        default_key(spec, "ipFamilies", json!(["IPv4"]));
    }
    if uses_node_ports(&kind) {
        default_key(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if kind == "LoadBalancer" {
        default_key(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    for port in list_at_mut(obj, &["spec", "ports"]).into_iter().flatten() {
        default_at(port, &["protocol"], json!("TCP"));
        let number = port.get("port").cloned().unwrap_or(Value::Null);
        default_at(port, &["targetPort"], number);
    }
}

/// An update that leaves clusterIP or nodePorts empty keeps the allocated ones.
fn keep_allocated_values(new: &mut Value, old: &Value) {
    let (new_type, old_type) = (service_type(new).to_string(), service_type(old).to_string());
    if new_type != "ExternalName"
        && old_type != "ExternalName"
        && str_at(new, &["spec", "clusterIP"]).is_empty()
    {
        let spec = object_at(new, &["spec"]);
        for field in ["clusterIP", "clusterIPs"] {
            if let Some(value) = old.pointer(&format!("/spec/{field}")) {
                spec.insert(field.into(), value.clone());
            }
        }
    }
    if !(uses_node_ports(&new_type) && uses_node_ports(&old_type)) {
        return;
    }
    let old_ports = list_at(old, &["spec", "ports"]);
    for port in list_at_mut(new, &["spec", "ports"]).into_iter().flatten() {
        if port.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0 {
            continue;
        }
        let same = old_ports.iter().find(|p| {
            p.get("port") == port.get("port") && p.get("protocol") == port.get("protocol")
        });
        if let Some(node_port) = same.and_then(|p| p.get("nodePort")) {
            as_object(port).insert("nodePort".into(), node_port.clone());
        }
    }
}

fn validate_service(obj: &Value) -> ErrorList {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let kind = service_type(obj);
    let mut errs = ErrorList::new();
    if !TYPES.contains(&kind) {
        errs.push(FieldError::not_supported("spec.type", kind, TYPES));
    }
    let headless = str_at(spec, &["clusterIP"]) == "None";
    let ports = list_at(spec, &["ports"]);
    if ports.is_empty() && kind != "ExternalName" && !headless {
        errs.push(FieldError::required("spec.ports", ""));
    }
    errs.extend(validate_ports(ports, kind));
    if kind == "ExternalName" {
        let external = str_at(spec, &["externalName"]);
        if external.is_empty() {
            errs.push(FieldError::required("spec.externalName", ""));
        } else {
            let name = external.strip_suffix('.').unwrap_or(external);
            errs.extend(
                dns1123_subdomain(name)
                    .iter()
                    .map(|m| FieldError::invalid("spec.externalName", external, m)),
            );
        }
    }
    errs.extend(enum_field(spec, "sessionAffinity", AFFINITIES));
    errs.extend(enum_field(spec, "internalTrafficPolicy", TRAFFIC_POLICIES));
    errs.extend(enum_field(spec, "ipFamilyPolicy", FAMILY_POLICIES));
    let external_policy = str_at(spec, &["externalTrafficPolicy"]);
    if !external_policy.is_empty() && !uses_node_ports(kind) {
        errs.push(FieldError::invalid(
            "spec.externalTrafficPolicy",
            external_policy,
            "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
        ));
    } else {
        errs.extend(enum_field(spec, "externalTrafficPolicy", TRAFFIC_POLICIES));
    }
    let cluster_ip = str_at(spec, &["clusterIP"]);
    if !cluster_ip.is_empty()
        && cluster_ip != "None"
        && cluster_ip.parse::<std::net::IpAddr>().is_err()
    {
        errs.push(FieldError::invalid(
            "spec.clusterIPs[0]",
            cluster_ip,
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ));
    }
    errs.extend(validate_labels(
        spec.get("selector").unwrap_or(&Value::Null),
        "spec.selector",
    ));
    errs
}

fn enum_field(spec: &Value, field: &str, allowed: &[&str]) -> ErrorList {
    let value = str_at(spec, &[field]);
    if value.is_empty() || allowed.contains(&value) {
        return Vec::new();
    }
    vec![FieldError::not_supported(
        &format!("spec.{field}"),
        value,
        allowed,
    )]
}

fn validate_ports(ports: &[Value], kind: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut names = HashSet::new();
    let mut keys = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let at = index("spec.ports", i);
        let name = str_at(port, &["name"]);
        if name.is_empty() && ports.len() > 1 {
            errs.push(FieldError::required(&child(&at, "name"), ""));
        } else if !name.is_empty() {
            errs.extend(
                dns1123_label(name)
                    .iter()
                    .map(|m| FieldError::invalid(&child(&at, "name"), name, m)),
            );
            if !names.insert(name) {
                errs.push(FieldError::duplicate(&child(&at, "name"), name));
            }
        }
        let number = port.get("port").cloned().unwrap_or(json!(0));
        errs.extend(validate_port_number(&number, &child(&at, "port")));
        let protocol = str_at(port, &["protocol"]);
        errs.extend(validate_protocol(protocol, &child(&at, "protocol")));
        if !keys.insert((number.as_i64(), protocol)) {
            errs.push(FieldError::duplicate(
                &at,
                json!({"port": number, "protocol": protocol}),
            ));
        }
        errs.extend(validate_target_port(
            port.get("targetPort"),
            &child(&at, "targetPort"),
        ));
        let node_port = port.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
        if node_port != 0 && !uses_node_ports(kind) {
            let detail = format!("may not be used when `type` is '{kind}'");
            errs.push(FieldError::forbidden(&child(&at, "nodePort"), &detail));
        } else if node_port != 0 {
            errs.extend(validate_port_number(
                &json!(node_port),
                &child(&at, "nodePort"),
            ));
        }
    }
    errs
}

fn validate_target_port(target: Option<&Value>, path: &str) -> ErrorList {
    match target {
        Some(Value::String(name)) => port_name(name)
            .iter()
            .map(|m| FieldError::invalid(path, name.as_str(), m))
            .collect(),
        Some(number @ Value::Number(_)) => validate_port_number(number, path),
        _ => Vec::new(),
    }
}

fn validate_service_update(new: &Value, old: &Value) -> ErrorList {
    let (new_type, old_type) = (service_type(new), service_type(old));
    let old_ip = str_at(old, &["spec", "clusterIP"]);
    let new_ip = str_at(new, &["spec", "clusterIP"]);
    let switching = new_type == "ExternalName" || old_type == "ExternalName";
    if switching || old_ip.is_empty() || new_ip == old_ip {
        return Vec::new();
    }
    let ips = new
        .pointer("/spec/clusterIPs")
        .cloned()
        .unwrap_or_else(|| json!([new_ip]));
    vec![
        FieldError::invalid("spec.clusterIPs[0]", ips, "may not change once set"),
        FieldError::invalid("spec.clusterIP", new_ip, FIELD_IMMUTABLE),
    ]
}

fn service_field(obj: &Value, field: &str) -> Option<String> {
    match field {
        "spec.clusterIP" => Some(str_at(obj, &["spec", "clusterIP"]).to_string()),
        "spec.type" => Some(str_at(obj, &["spec", "type"]).to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
