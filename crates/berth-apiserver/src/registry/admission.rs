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
            resolve_priority(ctx, obj).await?;
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

/// Upstream's built-in classes, honoured even when no object exists.
const SYSTEM_PRIORITY_CLASSES: [(&str, i64); 2] = [
    ("system-cluster-critical", 2_000_000_000),
    ("system-node-critical", 2_000_001_000),
];

/// Priority admission: `spec.priority` and `spec.preemptionPolicy` from the
/// named PriorityClass, or the globalDefault one when none is named (0 when
/// there is none). An unknown class, or a priority or policy that differs
/// from the class's, is refused (403) as upstream does.
async fn resolve_priority(ctx: &Ctx<'_>, pod: &mut Value) -> ApiResult<()> {
    let name = object::get_str(pod, &["metadata", "name"]).unwrap_or("");
    let forbidden = |message: String| ApiError::Forbidden {
        target: ctx.target(name),
        message,
    };
    let class_name = object::get_str(pod, &["spec", "priorityClassName"]).unwrap_or("");
    let class = priority_class(ctx, class_name).await?;
    if class.is_none() && !class_name.is_empty() {
        let message = format!("no PriorityClass with name {class_name} was found");
        return Err(forbidden(message));
    }
    let value = class.as_ref().and_then(|c| c.get("value"));
    let value = value.and_then(Value::as_i64).unwrap_or(0);
    let policy = class
        .as_ref()
        .and_then(|c| object::get_str(c, &["preemptionPolicy"]));
    let policy = policy.unwrap_or("PreemptLowerPriority");
    if let Some(given) = object::get(pod, &["spec", "priority"]).and_then(Value::as_i64)
        && given != value
    {
        return Err(forbidden(format!(
            "the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {value} from the given PriorityClass name"
        )));
    }
    if let Some(given) = object::get_str(pod, &["spec", "preemptionPolicy"])
        && given != policy
    {
        return Err(forbidden(format!(
            "the string value of PreemptionPolicy ({given}) must not be provided in pod spec; priority admission controller computed {policy} from the given PriorityClass name"
        )));
    }
    let spec = json!({"priority": value, "preemptionPolicy": policy});
    let class_name = class
        .as_ref()
        .and_then(|c| object::get_str(c, &["metadata", "name"]));
    let class_name = class_name.map(str::to_owned);
    object::set(pod, &["spec", "priority"], spec["priority"].clone());
    object::set(
        pod,
        &["spec", "preemptionPolicy"],
        spec["preemptionPolicy"].clone(),
    );
    if let Some(class_name) = class_name {
        object::set_str(pod, &["spec", "priorityClassName"], &class_name);
    }
    Ok(())
}

/// The named PriorityClass (built-in system classes included), or the
/// globalDefault one when `name` is empty.
async fn priority_class(ctx: &Ctx<'_>, name: &str) -> ApiResult<Option<Value>> {
    const PREFIX: &str = "/scheduling.k8s.io/priorityclasses/";
    let target = Target::new("scheduling.k8s.io", "priorityclasses", name);
    let store_error = |e| ApiError::from_store(e, &target);
    if name.is_empty() {
        let list = ctx.state.store.list(PREFIX, Default::default()).await;
        let default = list.map_err(store_error)?.items.into_iter().find_map(|kv| {
            let class: Value = serde_json::from_slice(&kv.value).ok()?;
            (class.get("globalDefault").and_then(Value::as_bool) == Some(true)).then_some(class)
        });
        return Ok(default);
    }
    let kv = ctx.state.store.get(&format!("{PREFIX}{name}")).await;
    if let Some(kv) = kv.map_err(store_error)? {
        return Ok(Some(serde_json::from_slice(&kv.value)?));
    }
    let system = SYSTEM_PRIORITY_CLASSES.iter().find(|(n, _)| *n == name);
    Ok(system.map(|(n, value)| json!({"metadata": {"name": n}, "value": value})))
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
