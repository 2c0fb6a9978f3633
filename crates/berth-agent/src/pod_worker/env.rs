//! Container environment as upstream builds it: `envFrom` sources first,
//! then `env` entries in order (later wins), each value able to refer to
//! earlier ones with `$(VAR)`. A missing non-optional ConfigMap, Secret or
//! key is a `CreateContainerConfigError` with upstream's message.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Container, EnvVar, EnvVarSource, Pod};

use super::spec::{amount, expand};
use crate::pod_api::{PodApi, PodApiError};

/// Node figures used when a `resourceFieldRef` names an unset limit.
#[derive(Debug, Clone, Copy)]
pub struct NodeAllocatable {
    pub cpu_cores: f64,
    pub memory_bytes: f64,
}

pub struct EnvContext<'a> {
    pub api: &'a dyn PodApi,
    pub pod: &'a Pod,
    pub pod_ip: &'a str,
    pub host_ip: &'a str,
    pub node: NodeAllocatable,
}

type Env = Vec<(String, String)>;

fn set(env: &mut Env, key: &str, value: String) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_string(), value));
}

/// The environment of `c`, or the message of a CreateContainerConfigError.
pub async fn container_env(ctx: &EnvContext<'_>, c: &Container) -> Result<Env, String> {
    let mut env = Env::new();
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let data = if let Some(r) = &from.config_map_ref {
            config_map_data(ctx, &r.name, r.optional.unwrap_or(false)).await?
        } else if let Some(r) = &from.secret_ref {
            secret_data(ctx, &r.name, r.optional.unwrap_or(false)).await?
        } else {
            BTreeMap::new()
        };
        for (k, v) in data {
            set(&mut env, &format!("{prefix}{k}"), v);
        }
    }
    for var in c.env.iter().flatten() {
        if let Some(value) = env_value(ctx, c, var, &env).await? {
            set(&mut env, &var.name, value);
        }
    }
    Ok(env)
}

async fn env_value(
    ctx: &EnvContext<'_>,
    c: &Container,
    var: &EnvVar,
    env: &Env,
) -> Result<Option<String>, String> {
    if let Some(v) = &var.value {
        return Ok(Some(expand(v, env)));
    }
    match &var.value_from {
        Some(from) => value_from(ctx, c, from).await,
        None => Ok(Some(String::new())),
    }
}

async fn value_from(
    ctx: &EnvContext<'_>,
    c: &Container,
    from: &EnvVarSource,
) -> Result<Option<String>, String> {
    let ns = ctx.pod.metadata.namespace.as_deref().unwrap_or("default");
    if let Some(r) = &from.config_map_key_ref {
        let optional = r.optional.unwrap_or(false);
        let data = config_map_data(ctx, &r.name, optional).await?;
        return match data.get(&r.key) {
            Some(v) => Ok(Some(v.clone())),
            None if optional => Ok(None),
            None => Err(format!(
                "couldn't find key {} in ConfigMap {ns}/{}",
                r.key, r.name
            )),
        };
    }
    if let Some(r) = &from.secret_key_ref {
        let optional = r.optional.unwrap_or(false);
        let data = secret_data(ctx, &r.name, optional).await?;
        return match data.get(&r.key) {
            Some(v) => Ok(Some(v.clone())),
            None if optional => Ok(None),
            None => Err(format!(
                "couldn't find key {} in Secret {ns}/{}",
                r.key, r.name
            )),
        };
    }
    if let Some(r) = &from.field_ref {
        return field_value(ctx, &r.field_path).map(Some);
    }
    if let Some(r) = &from.resource_field_ref {
        return Ok(Some(resource_value(
            ctx,
            c,
            &r.resource,
            r.divisor.as_ref().map(|d| d.0.as_str()),
        )));
    }
    Ok(None)
}

async fn config_map_data(
    ctx: &EnvContext<'_>,
    name: &str,
    optional: bool,
) -> Result<BTreeMap<String, String>, String> {
    let ns = ctx.pod.metadata.namespace.as_deref().unwrap_or("default");
    match ctx.api.config_map(ns, name).await {
        Ok(cm) => Ok(cm.data.unwrap_or_default()),
        Err(PodApiError::NotFound { .. }) if optional => Ok(BTreeMap::new()),
        Err(PodApiError::NotFound { .. }) => Err(format!("configmap \"{name}\" not found")),
        Err(e) => Err(e.to_string()),
    }
}

async fn secret_data(
    ctx: &EnvContext<'_>,
    name: &str,
    optional: bool,
) -> Result<BTreeMap<String, String>, String> {
    let ns = ctx.pod.metadata.namespace.as_deref().unwrap_or("default");
    let decode = |b: ByteString| String::from_utf8_lossy(&b.0).into_owned();
    match ctx.api.secret(ns, name).await {
        Ok(s) => Ok(s
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, decode(v)))
            .collect()),
        Err(PodApiError::NotFound { .. }) if optional => Ok(BTreeMap::new()),
        Err(PodApiError::NotFound { .. }) => Err(format!("secret \"{name}\" not found")),
        Err(e) => Err(e.to_string()),
    }
}

/// The downward API fields upstream allows in env.
fn field_value(ctx: &EnvContext<'_>, path: &str) -> Result<String, String> {
    let m = &ctx.pod.metadata;
    let spec = ctx.pod.spec.clone().unwrap_or_default();
    let map_key = |prefix: &str| path.strip_prefix(prefix).and_then(|r| r.strip_suffix("']"));
    let value = match path {
        "metadata.name" => m.name.clone(),
        "metadata.namespace" => m.namespace.clone(),
        "metadata.uid" => m.uid.clone(),
        "spec.nodeName" => spec.node_name.clone(),
        "spec.serviceAccountName" => spec.service_account_name.clone(),
        "status.podIP" | "status.podIPs" => Some(ctx.pod_ip.to_string()),
        "status.hostIP" | "status.hostIPs" => Some(ctx.host_ip.to_string()),
        _ => {
            if let Some(k) = map_key("metadata.labels['") {
                m.labels.as_ref().and_then(|l| l.get(k).cloned())
            } else if let Some(k) = map_key("metadata.annotations['") {
                m.annotations.as_ref().and_then(|a| a.get(k).cloned())
            } else {
                return Err(format!("unsupported fieldPath: {path}"));
            }
        }
    };
    Ok(value.unwrap_or_default())
}

/// `limits.cpu` etc., divided by the divisor and rounded up as upstream.
fn resource_value(
    ctx: &EnvContext<'_>,
    c: &Container,
    resource: &str,
    divisor: Option<&str>,
) -> String {
    let r = c.resources.as_ref();
    let (list, name) = resource.split_once('.').unwrap_or(("limits", resource));
    let fallback = if name == "cpu" {
        ctx.node.cpu_cores
    } else {
        ctx.node.memory_bytes
    };
    let value = match list {
        "limits" => amount(r, "limits", name).unwrap_or(fallback),
        _ => amount(r, "requests", name).unwrap_or(0.0),
    };
    let divisor = divisor
        .and_then(berth_api::quantity::parse_quantity)
        .filter(|d| *d > 0.0)
        .unwrap_or(1.0);
    format!("{}", (value / divisor).ceil() as i64)
}
