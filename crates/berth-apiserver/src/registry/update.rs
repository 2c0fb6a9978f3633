//! PUT and PATCH on an object (and on its status subresource).

use berth_store::{KeyValue, StoreError};
use serde_json::Value;

use super::{Ctx, Written, admission, delete};
use crate::error::{ApiError, ApiResult};
use crate::object;
use crate::patch::{self, PatchKind};

/// How long a patch or an unconditional update keeps retrying when a
/// concurrent write got in between (upstream retries until its timeout).
const RETRY_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// A retry budget for one request.
struct Retries(std::time::Instant);

impl Retries {
    fn start() -> Self {
        Self(std::time::Instant::now())
    }
    fn again(&self) -> bool {
        self.0.elapsed() < RETRY_BUDGET
    }
}

/// Which part of the object a write may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The main resource: everything but status (when there is a status
    /// subresource).
    Main,
    /// The status subresource.
    Status,
}

/// Metadata only the server sets: kept from the stored object on update.
const SYSTEM_META: [&str; 6] = [
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "namespace",
    "generation",
];

fn keep_system_metadata(new: &mut Value, old: &Value) {
    for field in SYSTEM_META {
        match object::get(old, &["metadata", field]) {
            Some(v) => object::set(new, &["metadata", field], v.clone()),
            None => {
                object::remove(new, &["metadata", field]);
            }
        }
    }
}

/// Runs one update of the stored `old_kv` (already decoded as `old`) to
/// `new` (already decoded). A resourceVersion in `new` is the client's
/// precondition.
pub async fn write(
    ctx: &Ctx<'_>,
    name: &str,
    (old_kv, old): (&KeyValue, &Value),
    mut new: Value,
    part: Part,
    warnings: Vec<String>,
) -> ApiResult<Written> {
    if let Some(rv) = object::get_str(&new, &["metadata", "resourceVersion"])
        && !rv.is_empty()
        && rv != old_kv.mod_revision.to_string()
    {
        return Err(ApiError::from_store(
            StoreError::Conflict {
                key: old_kv.key.clone(),
                expected: 0,
                actual: 0,
            },
            &ctx.target(name),
        ));
    }
    keep_system_metadata(&mut new, old);
    let strategy = &ctx.res.strategy;
    strategy.default(&mut new);
    match part {
        Part::Main => strategy.prepare_for_update(&mut new, old),
        Part::Status => strategy.prepare_for_status_update(&mut new, old),
    }
    ctx.check(name, strategy.validate_update(&new, old))?;
    let dry_run = ctx.query.dry_run()?;
    let reservation = admission::on_update(ctx, &mut new, old, dry_run);
    ctx.check(name, reservation.errors.clone())?;
    object::set_str(
        &mut new,
        &["metadata", "resourceVersion"],
        &old_kv.mod_revision.to_string(),
    );
    if new == *old || dry_run {
        // A no-op write changes nothing, not even the resourceVersion.
        return Ok(Written {
            status: 200,
            body: serde_json::to_vec(&new)?,
            warnings,
        });
    }
    if delete::finalized(&new) {
        return delete::remove_finalized(ctx, name, old_kv, new).await;
    }
    let stored = object::encode_stored(&new)?;
    let started = std::time::Instant::now();
    let result = ctx
        .state
        .store
        .update(&old_kv.key, stored, old_kv.mod_revision)
        .await;
    ctx.state.metrics.observe_store("update", started.elapsed());
    let kv = result.map_err(|e| ApiError::from_store(e, &ctx.target(name)))?;
    reservation.commit();
    admission::after_update(ctx, old, &new);
    Ok(Written {
        status: 200,
        body: ctx.res.wire(&kv),
        warnings,
    })
}

fn is_conflict(e: &ApiError) -> bool {
    matches!(e, ApiError::Conflict { .. })
}

/// PUT: replaces the object (or its status).
pub async fn update(ctx: &Ctx<'_>, body: Value, part: Part) -> ApiResult<Written> {
    let name = ctx.name()?.to_string();
    let (new, warnings) = ctx.decode_body(body)?;
    match object::get_str(&new, &["metadata", "name"]) {
        Some(n) if n == name => {}
        Some(n) if !n.is_empty() => {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        _ => {}
    }
    if let (Some(ns), Some(body_ns)) = (
        ctx.namespace(),
        object::get_str(&new, &["metadata", "namespace"]),
    ) && !body_ns.is_empty()
        && body_ns != ns
    {
        return Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        ));
    }
    let conditional =
        object::get_str(&new, &["metadata", "resourceVersion"]).is_some_and(|s| !s.is_empty());
    let _turn = ctx.state.key_locks.lock(&ctx.key(&name)).await;
    let retries = Retries::start();
    loop {
        let old_kv = ctx.load(&name).await?;
        let mut candidate = new.clone();
        object::set_str(&mut candidate, &["metadata", "name"], &name);
        if !conditional {
            object::set_str(
                &mut candidate,
                &["metadata", "resourceVersion"],
                &old_kv.mod_revision.to_string(),
            );
        }
        let old = object::decode(&old_kv)?;
        match write(
            ctx,
            &name,
            (&old_kv, &old),
            candidate,
            part,
            warnings.clone(),
        )
        .await
        {
            Err(e) if is_conflict(&e) && !conditional && retries.again() => {}
            other => return other,
        }
    }
}

/// Server-side apply: creates the object when absent, else merges the
/// applied configuration with field ownership (retried on write conflicts).
async fn server_side_apply(
    ctx: &Ctx<'_>,
    name: &str,
    body: &[u8],
    content_type: &str,
    part: Part,
) -> ApiResult<Written> {
    let manager = ctx.query.get("fieldManager").unwrap_or("").to_string();
    if manager.is_empty() {
        return Err(ApiError::Invalid {
            kind: "PatchOptions".into(),
            target: crate::error::Target::new("meta.k8s.io", "PatchOptions", ""),
            errors: vec![berth_api::FieldError::required(
                "fieldManager",
                "is required for apply patch",
            )],
        });
    }
    let force = ctx.query.flag("force")?;
    let mut applied = super::parse_body(body, content_type)?;
    object::set_str(&mut applied, &["metadata", "name"], name);
    let api_version = ctx.res.info.api_version();
    let _turn = ctx.state.key_locks.lock(&ctx.key(name)).await;
    let retries = Retries::start();
    loop {
        let old_kv = match ctx.load(name).await {
            Ok(kv) => kv,
            Err(ApiError::NotFound(_)) if part == Part::Main => {
                let mut obj = applied.clone();
                crate::apply::created(&mut obj, &manager, &api_version);
                return super::create::create(ctx, obj).await;
            }
            Err(e) => return Err(e),
        };
        let live = object::decode(&old_kv)?;
        let merged = crate::apply::apply(
            &live,
            &applied,
            &manager,
            force,
            &api_version,
            &ctx.target(name),
        )?;
        let (new, warnings) = ctx.decode_body(merged)?;
        match write(ctx, name, (&old_kv, &live), new, part, warnings).await {
            Err(e) if is_conflict(&e) && retries.again() && !is_apply_conflict(&e) => {}
            other => return other,
        }
    }
}

fn is_apply_conflict(e: &ApiError) -> bool {
    matches!(e, ApiError::Conflict { message, .. } if message.starts_with("Apply failed"))
}

/// PATCH: applies a patch to the current object, retrying on conflicts
/// unless the patch itself names a resourceVersion.
pub async fn patch(
    ctx: &Ctx<'_>,
    body: &[u8],
    content_type: &str,
    part: Part,
) -> ApiResult<Written> {
    let name = ctx.name()?.to_string();
    let kind = PatchKind::from_content_type(content_type)?;
    if kind == PatchKind::Apply {
        return server_side_apply(ctx, &name, body, content_type, part).await;
    }
    let _turn = ctx.state.key_locks.lock(&ctx.key(&name)).await;
    let retries = Retries::start();
    loop {
        let old_kv = ctx.load(&name).await?;
        let current = object::decode(&old_kv)?;
        let patched = patch::apply(kind, &current, body)?;
        let explicit_rv = object::get_str(&patched, &["metadata", "resourceVersion"])
            .is_some_and(|rv| rv != old_kv.mod_revision.to_string());
        let (mut new, warnings) = ctx.decode_body(patched)?;
        if object::get_str(&new, &["metadata", "name"]) != Some(name.as_str()) {
            object::set_str(&mut new, &["metadata", "name"], &name);
        }
        match write(ctx, &name, (&old_kv, &current), new, part, warnings).await {
            Err(e) if is_conflict(&e) && !explicit_rv && retries.again() => {}
            other => return other,
        }
    }
}
