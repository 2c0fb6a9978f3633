//! Admission: what upstream's built-in admission plugins do that users see.
//! NamespaceLifecycle (no creates in missing or terminating namespaces),
//! Service address and node-port allocation, and the Pod defaults of
//! ServiceAccount, Priority and DefaultTolerationSeconds.

use std::net::Ipv4Addr;

use berth_api::{FieldError, FieldErrorType};
use serde_json::{Value, json};

use super::Ctx;
use crate::allocator::{AllocError, Reservation, ServiceAllocator};
use crate::error::{ApiError, ApiResult, Target};
use crate::object;

/// Refuses a create in a namespace that does not exist or is terminating.
pub async fn namespace_lifecycle(ctx: &Ctx<'_>, name: &str) -> ApiResult<()> {
    let Some(ns) = ctx.namespace() else {
        return Ok(());
    };
    match ctx.state.namespace_phase(ns).await? {
        None => Err(ApiError::NotFound(Target::new("", "namespaces", ns))),
        Some(phase) if phase == "Terminating" => Err(ApiError::Forbidden {
            target: ctx.target(name),
            message: format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ),
        }),
        Some(_) => Ok(()),
    }
}

/// Per-kind admission on create. The reservation holds allocated addresses
/// until the object is stored.
pub async fn on_create(ctx: &Ctx<'_>, obj: &mut Value, dry_run: bool) -> ApiResult<Reservation> {
    let info = &ctx.res.info;
    match (info.group.as_str(), info.kind.as_str()) {
        ("", "Service") => Ok(allocate_service(&ctx.state.services, obj, None, dry_run)),
        ("", "Pod") => {
            default_pod(obj);
            Ok(Reservation::empty())
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            let mut finalizers = object::finalizers(obj);
            if !finalizers
                .iter()
                .any(|f| f == crate::custom::CLEANUP_FINALIZER)
            {
                finalizers.push(crate::custom::CLEANUP_FINALIZER.to_string());
                object::set(obj, &["metadata", "finalizers"], json!(finalizers));
            }
            Ok(Reservation::empty())
        }
        _ => Ok(Reservation::empty()),
    }
}

/// Per-kind admission on update.
pub fn on_update(ctx: &Ctx<'_>, obj: &mut Value, old: &Value, dry_run: bool) -> Reservation {
    let info = &ctx.res.info;
    match (info.group.as_str(), info.kind.as_str()) {
        ("", "Service") => allocate_service(&ctx.state.services, obj, Some(old), dry_run),
        _ => Reservation::empty(),
    }
}

/// Frees what an updated object no longer holds (a Service's addresses
/// and node ports that the update dropped).
pub fn after_update(ctx: &Ctx<'_>, old: &Value, new: &Value) {
    if !(ctx.res.info.group.is_empty() && ctx.res.info.kind == "Service") {
        return;
    }
    let (old_ips, old_ports) = service_holdings(old);
    let (new_ips, new_ports) = service_holdings(new);
    let gone_ips: Vec<_> = old_ips
        .into_iter()
        .filter(|i| !new_ips.contains(i))
        .collect();
    let gone_ports: Vec<_> = old_ports
        .into_iter()
        .filter(|p| !new_ports.contains(p))
        .collect();
    ctx.state.services.release(&gone_ips, &gone_ports);
}

/// Frees what a deleted object held.
pub fn on_delete(ctx: &Ctx<'_>, obj: &Value) {
    if ctx.res.info.group.is_empty() && ctx.res.info.kind == "Service" {
        let (ips, ports) = service_holdings(obj);
        ctx.state.services.release(&ips, &ports);
    }
}

/// The cluster IPs and node ports a Service holds.
pub fn service_holdings(svc: &Value) -> (Vec<Ipv4Addr>, Vec<u16>) {
    let ips = object::get(svc, &["spec", "clusterIPs"])
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str()?.parse().ok()).collect())
        .unwrap_or_default();
    let ports = object::get(svc, &["spec", "ports"])
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| p.get("nodePort")?.as_u64())
                .filter_map(|p| u16::try_from(p).ok())
                .collect()
        })
        .unwrap_or_default();
    (ips, ports)
}

fn alloc_error(
    field: &str,
    value: Value,
    err: AllocError,
    a: &ServiceAllocator,
    what: &str,
) -> FieldError {
    let detail = match err {
        AllocError::AlreadyAllocated => {
            "provided {what} is already allocated".replace("{what}", what)
        }
        AllocError::Full => format!("range is full: no {what} left to allocate"),
        AllocError::NotInRange if what == "port" => format!(
            "provided port is not in the valid range. The range of valid ports is {}-{}",
            a.node_ports.0, a.node_ports.1
        ),
        AllocError::NotInRange => format!(
            "provided IP is not in the valid range. The range of valid IPs is {}",
            a.service_range
        ),
    };
    FieldError {
        kind: FieldErrorType::Invalid,
        field: field.into(),
        value: Some(value),
        detail,
    }
}

fn allocate_service(
    a: &ServiceAllocator,
    svc: &mut Value,
    old: Option<&Value>,
    dry_run: bool,
) -> Reservation {
    let mut r = a.reservation();
    let svc_type = object::get_str(svc, &["spec", "type"])
        .unwrap_or("ClusterIP")
        .to_string();
    let (old_ips, old_ports) = old.map(service_holdings).unwrap_or_default();
    if svc_type != "ExternalName" {
        allocate_cluster_ip(a, &mut r, svc, &old_ips);
    }
    if svc_type == "NodePort" || svc_type == "LoadBalancer" {
        allocate_node_ports(a, &mut r, svc, &old_ports);
    } else if let Some(ports) = object::get_mut_array(svc, &["spec", "ports"]) {
        for p in ports.iter_mut() {
            if let Some(m) = p.as_object_mut() {
                m.remove("nodePort");
            }
        }
    }
    if dry_run {
        // Nothing is stored: free what was taken when `r` drops.
        let mut released = Reservation::empty();
        released.errors = std::mem::take(&mut r.errors);
        return released;
    }
    r
}

fn allocate_cluster_ip(
    a: &ServiceAllocator,
    r: &mut Reservation,
    svc: &mut Value,
    old: &[Ipv4Addr],
) {
    let requested = object::get_str(svc, &["spec", "clusterIP"])
        .unwrap_or("")
        .to_string();
    if requested == "None" {
        object::set(svc, &["spec", "clusterIPs"], json!(["None"]));
        return;
    }
    if let Some(old_ip) = old.first()
        && (requested.is_empty() || requested == old_ip.to_string())
    {
        object::set_str(svc, &["spec", "clusterIP"], &old_ip.to_string());
        object::set(svc, &["spec", "clusterIPs"], json!([old_ip.to_string()]));
        return;
    }
    let result = if requested.is_empty() {
        a.next_ip(r)
    } else {
        match requested.parse::<Ipv4Addr>() {
            Ok(ip) => a.take_ip(r, ip).map(|_| ip),
            Err(_) => Err(AllocError::NotInRange),
        }
    };
    match result {
        Ok(ip) => {
            object::set_str(svc, &["spec", "clusterIP"], &ip.to_string());
            object::set(svc, &["spec", "clusterIPs"], json!([ip.to_string()]));
        }
        Err(e) => {
            let mut fe = alloc_error("spec.clusterIPs", json!([requested]), e, a, "IP");
            fe.detail = format!("failed to allocate IP {requested}: {}", fe.detail);
            r.errors.push(fe);
        }
    }
}

fn allocate_node_ports(a: &ServiceAllocator, r: &mut Reservation, svc: &mut Value, old: &[u16]) {
    let mut errors = Vec::new();
    if let Some(ports) = object::get_mut_array(svc, &["spec", "ports"]) {
        for (i, p) in ports.iter_mut().enumerate() {
            // 0 is "unset", as upstream reads it (protobuf clients send it).
            let requested = p
                .get("nodePort")
                .and_then(Value::as_u64)
                .filter(|n| *n != 0);
            let result = match requested {
                Some(n) if old.iter().any(|o| u64::from(*o) == n) => continue,
                Some(n) => match u16::try_from(n) {
                    Ok(port) => a.take_port(r, port).map(|_| port),
                    Err(_) => Err(AllocError::NotInRange),
                },
                None => a.next_port(r),
            };
            match result {
                Ok(port) => p["nodePort"] = json!(port),
                Err(e) => errors.push(alloc_error(
                    &format!("spec.ports[{i}].nodePort"),
                    json!(requested.unwrap_or(0)),
                    e,
                    a,
                    "port",
                )),
            }
        }
    }
    r.errors.extend(errors);
}

/// ServiceAccount, Priority and DefaultTolerationSeconds defaults.
fn default_pod(pod: &mut Value) {
    if object::get_str(pod, &["spec", "serviceAccountName"])
        .unwrap_or("")
        .is_empty()
    {
        object::set_str(pod, &["spec", "serviceAccountName"], "default");
        object::set_str(pod, &["spec", "serviceAccount"], "default");
    }
    if object::get(pod, &["spec", "priority"]).is_none() {
        object::set(pod, &["spec", "priority"], json!(0));
    }
    let mut tolerations = object::get(pod, &["spec", "tolerations"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let tolerated = tolerations.iter().any(|t| {
            let k = t.get("key").and_then(Value::as_str).unwrap_or("");
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            let op = t.get("operator").and_then(Value::as_str).unwrap_or("Equal");
            (k == key || (k.is_empty() && op == "Exists"))
                && (effect.is_empty() || effect == "NoExecute")
        });
        if !tolerated {
            tolerations.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
    object::set(pod, &["spec", "tolerations"], Value::Array(tolerations));
}
