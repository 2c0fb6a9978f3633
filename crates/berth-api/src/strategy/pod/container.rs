//! Container checks: names, images, ports, env, resources, volume mounts.

use std::collections::HashSet;

use serde_json::Value;

use crate::quantity::{QUANTITY_FORMAT_ERROR, parse_quantity};
use crate::validation::{
    ErrorList, FieldError, child, dns1123_label, env_var_name, index, key, port_name,
};
use crate::wire::{list_at, str_at};

const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
pub(crate) const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";

/// Checks one list of containers (`containers` or `initContainers`),
/// recording names in `names` to catch duplicates across lists.
pub(super) fn validate_containers(
    list: &[Value],
    path: &str,
    volumes: &HashSet<&str>,
    names: &mut HashSet<String>,
) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, container) in list.iter().enumerate() {
        let at = index(path, i);
        let name = str_at(container, &["name"]);
        if !name.is_empty() && !names.insert(name.to_string()) {
            errs.push(FieldError::duplicate(&child(&at, "name"), name));
        }
        errs.extend(validate_container(container, &at, volumes));
    }
    errs
}

fn validate_container(container: &Value, path: &str, volumes: &HashSet<&str>) -> ErrorList {
    let mut errs = ErrorList::new();
    let name = str_at(container, &["name"]);
    let name_path = child(path, "name");
    if name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else {
        errs.extend(
            dns1123_label(name)
                .iter()
                .map(|m| FieldError::invalid(&name_path, name, m)),
        );
    }
    if str_at(container, &["image"]).trim().is_empty() {
        errs.push(FieldError::required(&child(path, "image"), ""));
    }
    let policy = str_at(container, &["imagePullPolicy"]);
    if !policy.is_empty() && !PULL_POLICIES.contains(&policy) {
        errs.push(FieldError::not_supported(
            &child(path, "imagePullPolicy"),
            policy,
            PULL_POLICIES,
        ));
    }
    errs.extend(validate_ports(
        list_at(container, &["ports"]),
        &child(path, "ports"),
    ));
    errs.extend(validate_env(
        list_at(container, &["env"]),
        &child(path, "env"),
    ));
    errs.extend(validate_resources(
        container.get("resources"),
        &child(path, "resources"),
    ));
    errs.extend(validate_volume_mounts(
        list_at(container, &["volumeMounts"]),
        &child(path, "volumeMounts"),
        volumes,
    ));
    errs
}

/// A port number field: 1..=65535.
pub(crate) fn validate_port_number(port: &Value, path: &str) -> ErrorList {
    match port.as_i64() {
        Some(p) if (1..=65535).contains(&p) => Vec::new(),
        _ => vec![FieldError::invalid(path, port.clone(), PORT_RANGE)],
    }
}

/// A protocol field: required, one of SCTP, TCP, UDP.
pub(crate) fn validate_protocol(protocol: &str, path: &str) -> ErrorList {
    if protocol.is_empty() {
        vec![FieldError::required(path, "")]
    } else if !PROTOCOLS.contains(&protocol) {
        vec![FieldError::not_supported(path, protocol, PROTOCOLS)]
    } else {
        Vec::new()
    }
}

fn validate_ports(ports: &[Value], path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut names = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let at = index(path, i);
        let name = str_at(port, &["name"]);
        if !name.is_empty() {
            errs.extend(
                port_name(name)
                    .iter()
                    .map(|m| FieldError::invalid(&child(&at, "name"), name, m)),
            );
            if !names.insert(name) {
                errs.push(FieldError::duplicate(&child(&at, "name"), name));
            }
        }
        match port.get("containerPort") {
            None | Some(Value::Null) => {
                errs.push(FieldError::required(&child(&at, "containerPort"), ""))
            }
            Some(p) if p.as_i64() == Some(0) => {
                errs.push(FieldError::required(&child(&at, "containerPort"), ""))
            }
            Some(p) => errs.extend(validate_port_number(p, &child(&at, "containerPort"))),
        }
        if let Some(host_port) = port
            .get("hostPort")
            .filter(|p| p.as_i64().is_some_and(|p| p != 0))
        {
            errs.extend(validate_port_number(host_port, &child(&at, "hostPort")));
        }
        errs.extend(validate_protocol(
            str_at(port, &["protocol"]),
            &child(&at, "protocol"),
        ));
    }
    errs
}

fn validate_env(env: &[Value], path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, var) in env.iter().enumerate() {
        let at = child(&index(path, i), "name");
        let name = str_at(var, &["name"]);
        if name.is_empty() {
            errs.push(FieldError::required(&at, ""));
        } else {
            errs.extend(
                env_var_name(name)
                    .iter()
                    .map(|m| FieldError::invalid(&at, name, m)),
            );
        }
    }
    errs
}

/// Quantities well formed and not negative; each request at most its limit.
pub(super) fn validate_resources(resources: Option<&Value>, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(resources) = resources else {
        return errs;
    };
    let limits = resources.get("limits").and_then(Value::as_object);
    let requests = resources.get("requests").and_then(Value::as_object);
    for (list, name) in [(limits, "limits"), (requests, "requests")] {
        for (resource, quantity) in list.into_iter().flatten() {
            errs.extend(validate_quantity(
                quantity,
                &key(&child(path, name), resource),
            ));
        }
    }
    for (resource, request) in requests.into_iter().flatten() {
        let limit = limits.and_then(|l| l.get(resource));
        let (Some(req), Some(lim)) = (request_value(request), limit.and_then(request_value)) else {
            continue;
        };
        if req > lim {
            let shown = limit.map(crate::wire::display).unwrap_or_default();
            let detail = format!("must be less than or equal to {resource} limit of {shown}");
            errs.push(FieldError::invalid(
                &key(&child(path, "requests"), resource),
                crate::wire::display(request),
                &detail,
            ));
        }
    }
    errs
}

fn request_value(quantity: &Value) -> Option<f64> {
    match quantity {
        Value::String(s) => parse_quantity(s),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

fn validate_quantity(quantity: &Value, path: &str) -> ErrorList {
    match request_value(quantity) {
        None => vec![FieldError::invalid(
            path,
            quantity.clone(),
            QUANTITY_FORMAT_ERROR,
        )],
        Some(v) if v < 0.0 => vec![FieldError::invalid(
            path,
            quantity.clone(),
            "must be greater than or equal to 0",
        )],
        Some(_) => Vec::new(),
    }
}

fn validate_volume_mounts(mounts: &[Value], path: &str, volumes: &HashSet<&str>) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, mount) in mounts.iter().enumerate() {
        let at = index(path, i);
        let name = str_at(mount, &["name"]);
        if name.is_empty() {
            errs.push(FieldError::required(&child(&at, "name"), ""));
        } else if !volumes.contains(name) {
            errs.push(FieldError::not_found(&child(&at, "name"), name));
        }
        if str_at(mount, &["mountPath"]).is_empty() {
            errs.push(FieldError::required(&child(&at, "mountPath"), ""));
        }
    }
    errs
}
