//! DELETE on an object or a collection: finalizers, graceful deletion of
//! pods, propagation policy (the finalizers the garbage collector acts on),
//! preconditions and dry run.

use berth_store::KeyValue;
use serde_json::{Value, json};

use super::{Ctx, Written, admission, list};
use crate::error::{ApiError, ApiResult};
use crate::object;

/// DeleteOptions, from the body and/or the query.
#[derive(Debug, Default)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    pub propagation_policy: Option<String>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
}

impl DeleteOptions {
    pub fn parse(ctx: &Ctx<'_>, body: Option<&Value>) -> ApiResult<Self> {
        let q = ctx.query;
        let b = |k: &str| body.and_then(|b| b.get(k));
        let mut opts = DeleteOptions {
            grace_period_seconds: b("gracePeriodSeconds").and_then(Value::as_i64),
            propagation_policy: b("propagationPolicy")
                .and_then(Value::as_str)
                .map(String::from),
            precondition_uid: b("preconditions")
                .and_then(|p| p.get("uid"))
                .and_then(Value::as_str)
                .map(String::from),
            precondition_rv: b("preconditions")
                .and_then(|p| p.get("resourceVersion"))
                .and_then(Value::as_str)
                .map(String::from),
        };
        if let Some(g) = q.int("gracePeriodSeconds")? {
            opts.grace_period_seconds = Some(g);
        }
        if let Some(p) = q.get("propagationPolicy") {
            opts.propagation_policy = Some(p.to_string());
        }
        let orphan =
            b("orphanDependents")
                .and_then(Value::as_bool)
                .or(match q.get("orphanDependents") {
                    Some("true") => Some(true),
                    Some("false") => Some(false),
                    _ => None,
                });
        if opts.propagation_policy.is_none() {
            opts.propagation_policy =
                orphan.map(|o| if o { "Orphan" } else { "Background" }.to_string());
        }
        match opts.propagation_policy.as_deref() {
            None | Some("Orphan" | "Background" | "Foreground") => Ok(opts),
            Some(other) => Err(ApiError::BadRequest(format!(
                "propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
            ))),
        }
    }
}

/// Whether an object marked for deletion has nothing left holding it.
pub fn finalized(obj: &Value) -> bool {
    object::get(obj, &["metadata", "deletionTimestamp"]).is_some()
        && object::finalizers(obj).is_empty()
        && !pending_grace(obj)
        && !namespace_finalizers_pending(obj)
}

/// A namespace also waits for its `spec.finalizers` (cleared through `finalize`).
fn namespace_finalizers_pending(obj: &Value) -> bool {
    object::get_str(obj, &["kind"]) == Some("Namespace")
        && object::get(obj, &["spec", "finalizers"])
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
}

/// A pod in graceful termination stays until the node agent deletes it
/// with grace period 0.
fn pending_grace(obj: &Value) -> bool {
    object::get(obj, &["metadata", "deletionGracePeriodSeconds"])
        .and_then(Value::as_i64)
        .is_some_and(|g| g > 0)
}

fn success_status(ctx: &Ctx<'_>, name: &str, uid: &str) -> Vec<u8> {
    let status = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
        "details": {"name": name, "group": ctx.res.info.group, "kind": ctx.res.info.plural, "uid": uid},
    });
    serde_json::to_vec(&status).unwrap_or_default()
}

/// Removes an object whose last finalizer is gone.
pub async fn remove_finalized(
    ctx: &Ctx<'_>,
    name: &str,
    old_kv: &KeyValue,
    obj: Value,
) -> ApiResult<Written> {
    let deleted = ctx
        .state
        .store
        .delete(&old_kv.key, Some(old_kv.mod_revision))
        .await
        .map_err(|e| ApiError::from_store(e, &ctx.target(name)))?;
    admission::on_delete(ctx, &obj);
    let mut out = obj;
    object::set_str(
        &mut out,
        &["metadata", "resourceVersion"],
        &deleted.mod_revision.to_string(),
    );
    Ok(Written {
        status: 200,
        body: serde_json::to_vec(&out)?,
        warnings: Vec::new(),
    })
}

/// The grace period a pod deletion gets: 0 deletes at once.
fn pod_grace(obj: &Value, opts: &DeleteOptions) -> i64 {
    let unscheduled = object::get_str(obj, &["spec", "nodeName"])
        .unwrap_or("")
        .is_empty();
    let phase = object::get_str(obj, &["status", "phase"]).unwrap_or("");
    if unscheduled || phase == "Succeeded" || phase == "Failed" {
        return 0;
    }
    let default = object::get(obj, &["spec", "terminationGracePeriodSeconds"])
        .and_then(Value::as_i64)
        .unwrap_or(30);
    opts.grace_period_seconds.unwrap_or(default).max(0)
}

fn check_preconditions(
    ctx: &Ctx<'_>,
    name: &str,
    obj: &Value,
    opts: &DeleteOptions,
) -> ApiResult<()> {
    let conflict = |message: String| ApiError::Conflict {
        target: ctx.target(name),
        message,
    };
    if let Some(uid) = &opts.precondition_uid {
        let actual = object::get_str(obj, &["metadata", "uid"]).unwrap_or("");
        if uid != actual {
            return Err(conflict(format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
            )));
        }
    }
    if let Some(rv) = &opts.precondition_rv {
        let actual = object::get_str(obj, &["metadata", "resourceVersion"]).unwrap_or("");
        if rv != actual {
            return Err(conflict(format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"
            )));
        }
    }
    Ok(())
}

/// Deletes one object. Objects with finalizers (existing, or added for a
/// Foreground/Orphan propagation) and bound pods with a grace period are
/// only marked with a deletionTimestamp.
pub async fn delete_one(ctx: &Ctx<'_>, name: &str, opts: &DeleteOptions) -> ApiResult<Written> {
    let _turn = ctx.state.key_locks.lock(&ctx.key(name)).await;
    let started = std::time::Instant::now();
    loop {
        match delete_once(ctx, name, opts).await {
            // A concurrent write (a controller updating status) got in
            // between: read again and retry, as upstream's GuaranteedUpdate.
            Err(ApiError::Conflict { message, .. })
                if !message.starts_with("Precondition failed")
                    && started.elapsed() < std::time::Duration::from_secs(10) => {}
            other => return other,
        }
    }
}

async fn delete_once(ctx: &Ctx<'_>, name: &str, opts: &DeleteOptions) -> ApiResult<Written> {
    let kv = ctx.load(name).await?;
    let mut obj = object::decode(&kv)?;
    check_preconditions(ctx, name, &obj, opts)?;
    let mut finalizers = object::finalizers(&obj);
    match opts.propagation_policy.as_deref() {
        Some("Foreground") if !finalizers.iter().any(|f| f == "foregroundDeletion") => {
            finalizers.push("foregroundDeletion".into())
        }
        Some("Orphan") if !finalizers.iter().any(|f| f == "orphan") => {
            finalizers.push("orphan".into())
        }
        _ => {}
    }
    let is_pod = ctx.res.info.group.is_empty() && ctx.res.info.kind == "Pod";
    let grace = if is_pod { pod_grace(&obj, opts) } else { 0 };
    let is_namespace = ctx.res.info.group.is_empty() && ctx.res.info.kind == "Namespace";
    let ns_finalizers = is_namespace
        && object::get(&obj, &["spec", "finalizers"])
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
    let dry_run = ctx.query.dry_run()?;
    if finalizers.is_empty() && grace == 0 && !ns_finalizers {
        if dry_run {
            return Ok(Written {
                status: 200,
                body: ctx.res.wire(&kv),
                warnings: Vec::new(),
            });
        }
        let uid = object::get_str(&obj, &["metadata", "uid"])
            .unwrap_or("")
            .to_string();
        ctx.state
            .store
            .delete(&kv.key, Some(kv.mod_revision))
            .await
            .map_err(|e| ApiError::from_store(e, &ctx.target(name)))?;
        admission::on_delete(ctx, &obj);
        let body = if is_pod {
            ctx.res.wire(&kv)
        } else {
            success_status(ctx, name, &uid)
        };
        return Ok(Written {
            status: 200,
            body,
            warnings: Vec::new(),
        });
    }
    mark_for_deletion(&mut obj, finalizers, grace, is_pod, is_namespace);
    if dry_run {
        return Ok(Written {
            status: 200,
            body: serde_json::to_vec(&obj)?,
            warnings: Vec::new(),
        });
    }
    let stored = object::encode_stored(&obj)?;
    let updated = ctx
        .state
        .store
        .update(&kv.key, stored, kv.mod_revision)
        .await
        .map_err(|e| ApiError::from_store(e, &ctx.target(name)))?;
    Ok(Written {
        status: 200,
        body: ctx.res.wire(&updated),
        warnings: Vec::new(),
    })
}

fn mark_for_deletion(
    obj: &mut Value,
    finalizers: Vec<String>,
    grace: i64,
    is_pod: bool,
    is_namespace: bool,
) {
    let already = object::get(obj, &["metadata", "deletionTimestamp"]).is_some();
    let current_grace =
        object::get(obj, &["metadata", "deletionGracePeriodSeconds"]).and_then(Value::as_i64);
    // A second delete may only shorten a pod's grace period.
    let shorten = is_pod && current_grace.is_some_and(|g| grace < g);
    if !already || shorten {
        let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(grace);
        object::set_str(
            obj,
            &["metadata", "deletionTimestamp"],
            &object::timestamp_rfc3339(at),
        );
        object::set(
            obj,
            &["metadata", "deletionGracePeriodSeconds"],
            json!(grace),
        );
    }
    if !finalizers.is_empty() {
        object::set(obj, &["metadata", "finalizers"], json!(finalizers));
    }
    if is_namespace {
        object::set_str(obj, &["status", "phase"], "Terminating");
    }
}

/// DELETE on an object.
pub async fn delete(ctx: &Ctx<'_>, body: Option<Value>) -> ApiResult<Written> {
    let name = ctx.name()?.to_string();
    let opts = DeleteOptions::parse(ctx, body.as_ref())?;
    delete_one(ctx, &name, &opts).await
}

/// DELETE on a collection: deletes every object the selectors match and
/// answers with the list of what was deleted.
pub async fn delete_collection(ctx: &Ctx<'_>, body: Option<Value>) -> ApiResult<Written> {
    let opts = DeleteOptions::parse(ctx, body.as_ref())?;
    let (items, _) = list::matching_objects(ctx).await?;
    let mut deleted = Vec::new();
    for obj in items {
        let name = object::get_str(&obj, &["metadata", "name"])
            .unwrap_or("")
            .to_string();
        match delete_one(ctx, &name, &opts).await {
            Ok(_) => deleted.push(obj),
            Err(ApiError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let list = json!({
        "kind": ctx.res.info.list_kind(), "apiVersion": ctx.res.info.api_version(),
        "metadata": {}, "items": deleted,
    });
    Ok(Written {
        status: 200,
        body: serde_json::to_vec(&list)?,
        warnings: Vec::new(),
    })
}
