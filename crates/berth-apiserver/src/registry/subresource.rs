//! Subresources: `status`, `scale`, `pods/binding`, `pods/eviction` and
//! `namespaces/finalize`.

use berth_api::Subresource;
use serde_json::{Value, json};

use super::delete;
use super::update::{self, Part};
use super::{Ctx, Written};
use crate::error::{ApiError, ApiResult};
use crate::object;
use crate::patch::{self, PatchKind};
use crate::resources::ScalePaths;

fn subresource(ctx: &Ctx<'_>) -> ApiResult<Subresource> {
    let sub = ctx.path.subresource.as_deref().unwrap_or_default();
    let info = &ctx.res.info;
    info.subresources
        .iter()
        .copied()
        .find(|s| s.name() == sub)
        .or_else(|| (info.kind == "Namespace" && sub == "finalize").then_some(Subresource::Status))
        .ok_or_else(|| {
            ApiError::PathNotFound("the server could not find the requested resource".into())
        })
}

/// GET on a subresource.
pub async fn get_subresource(ctx: &Ctx<'_>) -> ApiResult<Vec<u8>> {
    let name = ctx.name()?;
    match subresource(ctx)? {
        Subresource::Status => Ok(ctx.res.wire(&ctx.load(name).await?)),
        Subresource::Scale => {
            let obj = object::decode(&ctx.load(name).await?)?;
            Ok(serde_json::to_vec(&scale_of(&obj, &ctx.res.scale))?)
        }
        _ => Err(ApiError::MethodNotAllowed(String::new())),
    }
}

/// PUT, PATCH or POST on a subresource.
pub async fn write_subresource(
    ctx: &Ctx<'_>,
    method: &http::Method,
    body: &[u8],
    content_type: &str,
) -> ApiResult<Written> {
    let is_finalize = ctx.path.subresource.as_deref() == Some("finalize");
    match (subresource(ctx)?, method.as_str()) {
        (Subresource::Status, "PUT") if is_finalize => {
            finalize_namespace(ctx, parse(body, content_type)?).await
        }
        (Subresource::Status, "PUT") => {
            update::update(ctx, parse(body, content_type)?, Part::Status).await
        }
        (Subresource::Status, "PATCH") => {
            update::patch(ctx, body, content_type, Part::Status).await
        }
        (Subresource::Scale, "PUT") => {
            let scale = parse(body, content_type)?;
            write_scale(ctx, scale).await
        }
        (Subresource::Scale, "PATCH") => {
            let name = ctx.name()?;
            let current = scale_of(&object::decode(&ctx.load(name).await?)?, &ctx.res.scale);
            let kind = PatchKind::from_content_type(content_type)?;
            let patched = patch::apply(kind, &current, body)?;
            write_scale(ctx, patched).await
        }
        (Subresource::Binding, "POST") => bind(ctx, parse(body, content_type)?).await,
        (Subresource::Eviction, "POST") => {
            super::eviction::evict(ctx, parse(body, content_type)?).await
        }
        _ => Err(ApiError::MethodNotAllowed(String::new())),
    }
}

fn parse(body: &[u8], content_type: &str) -> ApiResult<Value> {
    super::parse_body(body, content_type)
}

fn path_of(json_path: &str) -> Vec<&str> {
    json_path
        .trim_start_matches('.')
        .split('.')
        .filter(|s| !s.is_empty())
        .collect()
}

/// The `autoscaling/v1` Scale view of a workload.
fn scale_of(obj: &Value, paths: &ScalePaths) -> Value {
    let meta = |k: &str| {
        object::get(obj, &["metadata", k])
            .cloned()
            .unwrap_or(Value::Null)
    };
    let at = |p: &str| {
        if p.is_empty() {
            None
        } else {
            object::get(obj, &path_of(p))
        }
    };
    let selector = match at(&paths.label_selector) {
        Some(Value::String(s)) => s.clone(),
        Some(sel) => selector_string(sel),
        None => String::new(),
    };
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta("name"), "namespace": meta("namespace"), "uid": meta("uid"),
            "resourceVersion": meta("resourceVersion"), "creationTimestamp": meta("creationTimestamp"),
        },
        "spec": {"replicas": at(&paths.spec_replicas).cloned().unwrap_or(json!(0))},
        "status": {
            "replicas": at(&paths.status_replicas).cloned().unwrap_or(json!(0)),
            "selector": selector,
        },
    })
}

/// A structured label selector in string form (`a=b,c in (d,e)`).
fn selector_string(sel: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        parts.extend(
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))),
        );
    } else if sel.get("matchExpressions").is_none() && sel.is_object() {
        // RC selectors are plain maps.
        if let Some(m) = sel.as_object() {
            parts.extend(
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}"))),
            );
        }
    }
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        parts.push(
            match e.get("operator").and_then(Value::as_str).unwrap_or("") {
                "In" => format!("{key} in ({})", values.join(",")),
                "NotIn" => format!("{key} notin ({})", values.join(",")),
                "Exists" => key.to_string(),
                _ => format!("!{key}"),
            },
        );
    }
    parts.join(",")
}

async fn write_scale(ctx: &Ctx<'_>, scale: Value) -> ApiResult<Written> {
    let name = ctx.name()?.to_string();
    let replicas = object::get(&scale, &["spec", "replicas"])
        .cloned()
        .unwrap_or(json!(0));
    let kv = ctx.load(&name).await?;
    let old = object::decode(&kv)?;
    let mut obj = old.clone();
    if let Some(rv) =
        object::get_str(&scale, &["metadata", "resourceVersion"]).filter(|s| !s.is_empty())
    {
        object::set_str(&mut obj, &["metadata", "resourceVersion"], rv);
    }
    object::set(&mut obj, &path_of(&ctx.res.scale.spec_replicas), replicas);
    let written = update::write(ctx, &name, (&kv, &old), obj, Part::Main, Vec::new()).await?;
    let updated: Value = serde_json::from_slice(&written.body)?;
    Ok(Written {
        status: 200,
        body: serde_json::to_vec(&scale_of(&updated, &ctx.res.scale))?,
        warnings: Vec::new(),
    })
}

async fn bind(ctx: &Ctx<'_>, binding: Value) -> ApiResult<Written> {
    let name = ctx.name()?.to_string();
    let node = object::get_str(&binding, &["target", "name"])
        .unwrap_or("")
        .to_string();
    if node.is_empty() {
        return Err(ApiError::Invalid {
            kind: "Binding".into(),
            target: ctx.target(&name),
            errors: vec![berth_api::FieldError {
                kind: berth_api::FieldErrorType::Required,
                field: "target.name".into(),
                value: None,
                detail: String::new(),
            }],
        });
    }
    let kv = ctx.load(&name).await?;
    let mut pod = object::decode(&kv)?;
    if object::get(&pod, &["metadata", "deletionTimestamp"]).is_some() {
        return Err(ApiError::Conflict {
            target: ctx.target(&name),
            message: "pod is being deleted, cannot be assigned to a host".into(),
        });
    }
    if let Some(current) = object::get_str(&pod, &["spec", "nodeName"]).filter(|n| !n.is_empty()) {
        return Err(ApiError::Conflict {
            target: ctx.target(&name),
            message: format!("pod {name} is already assigned to node \"{current}\""),
        });
    }
    object::set_str(&mut pod, &["spec", "nodeName"], &node);
    set_condition(
        &mut pod,
        json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null,
        "lastTransitionTime": object::now_rfc3339()}),
    );
    let stored = object::encode_stored(&pod)?;
    ctx.state
        .store
        .update(&kv.key, stored, kv.mod_revision)
        .await
        .map_err(|e| ApiError::from_store(e, &ctx.target(&name)))?;
    Ok(success(201))
}

fn set_condition(obj: &mut Value, cond: Value) {
    let kind = cond.get("type").cloned();
    let mut conds = object::get(obj, &["status", "conditions"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    conds.retain(|c| c.get("type") != kind.as_ref());
    conds.push(cond);
    object::set(obj, &["status", "conditions"], Value::Array(conds));
}

fn success(status: u16) -> Written {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": status});
    Written {
        status,
        body: serde_json::to_vec(&body).unwrap_or_default(),
        warnings: Vec::new(),
    }
}

/// `namespaces/{name}/finalize`: replaces `spec.finalizers`; a terminating
/// namespace with none left (and no metadata finalizers) is removed.
async fn finalize_namespace(ctx: &Ctx<'_>, body: Value) -> ApiResult<Written> {
    let name = ctx.name()?.to_string();
    let kv = ctx.load(&name).await?;
    let mut ns = object::decode(&kv)?;
    let finalizers = object::get(&body, &["spec", "finalizers"])
        .cloned()
        .unwrap_or(json!([]));
    object::set(&mut ns, &["spec", "finalizers"], finalizers.clone());
    let none_left = finalizers.as_array().is_none_or(|a| a.is_empty());
    if none_left && delete::finalized(&ns) {
        return delete::remove_finalized(ctx, &name, &kv, ns).await;
    }
    let stored = object::encode_stored(&ns)?;
    let kv = ctx
        .state
        .store
        .update(&kv.key, stored, kv.mod_revision)
        .await
        .map_err(|e| ApiError::from_store(e, &ctx.target(&name)))?;
    Ok(Written {
        status: 200,
        body: ctx.res.wire(&kv),
        warnings: Vec::new(),
    })
}
