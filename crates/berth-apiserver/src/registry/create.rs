//! POST on a collection: a new object.

use serde_json::Value;

use super::{Ctx, Written, admission};
use crate::error::{ApiError, ApiResult};
use crate::object;

/// Characters upstream uses for generateName suffixes (no vowels, no
/// look-alikes).
const NAME_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn generated_suffix() -> String {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes[..5]
        .iter()
        .map(|b| NAME_CHARS[(*b as usize) % NAME_CHARS.len()] as char)
        .collect()
}

/// Sets name (from generateName), namespace, uid and creationTimestamp;
/// clears what clients may not set.
fn fill_system_metadata(ctx: &Ctx<'_>, obj: &mut Value) -> ApiResult<String> {
    let name = match object::get_str(obj, &["metadata", "name"]) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => match object::get_str(obj, &["metadata", "generateName"]) {
            Some(g) if !g.is_empty() => {
                let n = format!("{g}{}", generated_suffix());
                object::set_str(obj, &["metadata", "name"], &n);
                n
            }
            _ => String::new(),
        },
    };
    if ctx.res.info.namespaced() {
        let url_ns = ctx.path.namespace.as_deref().unwrap_or_default();
        match object::get_str(obj, &["metadata", "namespace"]) {
            Some(ns) if !ns.is_empty() && ns != url_ns => {
                return Err(ApiError::BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request".into(),
                ));
            }
            _ => object::set_str(obj, &["metadata", "namespace"], url_ns),
        }
    } else {
        object::remove(obj, &["metadata", "namespace"]);
    }
    for field in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        // Server-owned; protobuf clients always send it (as 0).
        "generation",
    ] {
        object::remove(obj, &["metadata", field]);
    }
    object::set_str(obj, &["metadata", "uid"], &uuid::Uuid::new_v4().to_string());
    object::set_str(
        obj,
        &["metadata", "creationTimestamp"],
        &object::now_rfc3339(),
    );
    Ok(name)
}

pub async fn create(ctx: &Ctx<'_>, body: Value) -> ApiResult<Written> {
    if ctx.res.info.namespaced() && ctx.path.namespace.is_none() {
        return Err(ApiError::MethodNotAllowed(String::new()));
    }
    let (mut obj, warnings) = ctx.decode_body(body)?;
    let name = fill_system_metadata(ctx, &mut obj)?;
    let strategy = &ctx.res.strategy;
    strategy.default(&mut obj);
    strategy.prepare_for_create(&mut obj);
    ctx.check(&name, strategy.validate(&obj))?;
    admission::namespace_lifecycle(ctx, &name).await?;
    let dry_run = ctx.query.dry_run()?;
    let reservation = admission::on_create(ctx, &mut obj, dry_run).await?;
    ctx.check(&name, reservation.errors.clone())?;
    if dry_run {
        return Ok(Written {
            status: 201,
            body: serde_json::to_vec(&obj)?,
            warnings,
        });
    }
    let stored = object::encode_stored(&obj)?;
    let started = std::time::Instant::now();
    let result = ctx.state.store.create(&ctx.key(&name), stored).await;
    ctx.state.metrics.observe_store("create", started.elapsed());
    match result {
        Ok(kv) => {
            reservation.commit();
            Ok(Written {
                status: 201,
                body: ctx.res.wire(&kv),
                warnings,
            })
        }
        Err(e) => Err(ApiError::from_store(e, &ctx.target(&name))),
    }
}
