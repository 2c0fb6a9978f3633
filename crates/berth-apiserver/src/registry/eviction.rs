//! `pods/{name}/eviction`: a pod deletion that honours the pod's
//! PodDisruptionBudget, as upstream's EvictionREST.
//!
//! Per eviction: a terminal, pending or already terminating pod is deleted
//! at once; otherwise the budgets of the pod's namespace whose selector
//! matches it are read from the store. None: delete. More than one: 500.
//! One: an unready pod may go without spending the budget (policy
//! `AlwaysAllow`, or `IfHealthyBudget` while the budget is met) on the
//! condition that it is still the pod that was judged; else
//! `status.disruptionsAllowed` is decremented and the pod recorded in
//! `status.disruptedPods` (compare-and-swap on the budget, retried on
//! conflicts), then the pod is deleted. A budget that allows no
//! disruption answers 429, which clients such as `kubectl drain` retry.
//!
//! It is not the disruption controller: budgets' status is computed by the
//! controller manager; this only spends what it computed.

use serde_json::{Value, json};

use super::delete::{self, DeleteOptions};
use super::{Ctx, Written};
use crate::error::{ApiError, ApiResult, Target};
use crate::object;
use crate::request::Query;

/// Upstream's MaxDisruptedPodSize.
const MAX_DISRUPTED_PODS: usize = 2000;
/// Attempts at the budget's compare-and-swap (upstream's EvictionsRetry steps).
const RETRIES: usize = 20;
/// Upstream's message for a refused eviction.
pub const VIOLATION: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

/// How the eviction of one pod goes, once its budget was consulted.
enum Verdict {
    /// Delete as asked.
    Delete,
    /// Delete only if the pod is unchanged since it was judged unready.
    DeleteIfUnchanged { pdb: String },
    /// Answer with this (refusal) response.
    Refuse(Written),
}

/// POST `pods/{name}/eviction`.
pub async fn evict(ctx: &Ctx<'_>, eviction: Value) -> ApiResult<Written> {
    let name = ctx.name()?.to_string();
    if let Some(n) = object::get_str(&eviction, &["metadata", "name"]).filter(|n| !n.is_empty())
        && n != name
    {
        return Err(ApiError::BadRequest(
            "name in URL does not match name in Eviction object".into(),
        ));
    }
    let body_opts = eviction.get("deleteOptions").filter(|o| o.is_object());
    let mut opts = DeleteOptions::parse(ctx, body_opts)?;
    let dry_run = ctx.query.dry_run()? || body_dry_run(body_opts)?;
    let dry_query = Query::parse(Some("dryRun=All"));
    let del_ctx = Ctx {
        state: ctx.state,
        res: ctx.res.clone(),
        path: ctx.path,
        query: if dry_run { &dry_query } else { ctx.query },
    };
    let pod = object::decode(&ctx.load(&name).await?)?;
    if can_ignore_budget(&pod) {
        delete::delete_one(&del_ctx, &name, &opts).await?;
        return Ok(success());
    }
    let caller_rv = opts.precondition_rv.is_some();
    match judge(ctx, &pod, dry_run).await? {
        Verdict::Refuse(w) => return Ok(w),
        Verdict::Delete => {}
        Verdict::DeleteIfUnchanged { pdb } => {
            if !caller_rv {
                opts.precondition_rv =
                    object::get_str(&pod, &["metadata", "resourceVersion"]).map(String::from);
            }
            return match delete::delete_one(&del_ctx, &name, &opts).await {
                Err(ApiError::Conflict { .. }) if !caller_rv => Ok(still_processing(&pdb)),
                other => other.map(|_| success()),
            };
        }
    }
    delete::delete_one(&del_ctx, &name, &opts).await?;
    Ok(success())
}

/// `deleteOptions.dryRun` in the Eviction body: `["All"]` or nothing.
fn body_dry_run(opts: Option<&Value>) -> ApiResult<bool> {
    let Some(list) = opts.and_then(|o| o.get("dryRun")).and_then(Value::as_array) else {
        return Ok(false);
    };
    for v in list {
        if v.as_str() != Some("All") {
            return Err(ApiError::BadRequest(format!(
                "Invalid dry run value: {}: supported values are \"All\"",
                v.as_str().unwrap_or_default()
            )));
        }
    }
    Ok(!list.is_empty())
}

/// Upstream's canIgnorePDB: the pod already is, or cannot be, a disruption.
fn can_ignore_budget(pod: &Value) -> bool {
    let phase = object::get_str(pod, &["status", "phase"]).unwrap_or("");
    matches!(phase, "Succeeded" | "Failed" | "Pending")
        || object::get(pod, &["metadata", "deletionTimestamp"]).is_some()
}

fn is_ready(pod: &Value) -> bool {
    object::get(pod, &["status", "conditions"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c.get("type") == Some(&json!("Ready")) && c.get("status") == Some(&json!("True")))
}

/// Consults the pod's budget (spending one disruption when it must).
async fn judge(ctx: &Ctx<'_>, pod: &Value, dry_run: bool) -> ApiResult<Verdict> {
    let Some(budgets) = ctx
        .state
        .resources()
        .get("policy", "v1", "poddisruptionbudgets")
    else {
        return Ok(Verdict::Delete);
    };
    let pdbs = matching_budgets(ctx, &budgets, pod).await?;
    let pdb = match pdbs.as_slice() {
        [] => return Ok(Verdict::Delete),
        [one] => one,
        _ => return Ok(Verdict::Refuse(more_than_one_budget())),
    };
    let pdb_name = object::get_str(pdb, &["metadata", "name"])
        .unwrap_or_default()
        .to_string();
    if !is_ready(pod) && unready_may_go(pdb) {
        return Ok(Verdict::DeleteIfUnchanged { pdb: pdb_name });
    }
    let pod_name = object::get_str(pod, &["metadata", "name"]).unwrap_or_default();
    let key = budgets.key(ctx.namespace(), &pdb_name);
    spend(ctx, &key, &pdb_name, pod_name, dry_run).await
}

/// Spends one disruption of the budget at `key` on `pod` (compare-and-swap,
/// retried on conflicts), or says why not.
async fn spend(
    ctx: &Ctx<'_>,
    key: &str,
    pdb_name: &str,
    pod_name: &str,
    dry_run: bool,
) -> ApiResult<Verdict> {
    let target = Target::new("policy", "poddisruptionbudgets", pdb_name);
    let _turn = ctx.state.key_locks.lock(key).await;
    for _ in 0..RETRIES {
        let Some(kv) = ctx
            .state
            .store
            .get(key)
            .await
            .map_err(|e| ApiError::from_store(e, &target))?
        else {
            // The budget went away: nothing guards the pod any more.
            return Ok(Verdict::Delete);
        };
        let mut pdb = object::decode(&kv)?;
        if let Some(refusal) = check_and_decrement(&mut pdb, pod_name)? {
            return Ok(Verdict::Refuse(refusal));
        }
        if dry_run {
            return Ok(Verdict::Delete);
        }
        let stored = object::encode_stored(&pdb)?;
        match ctx.state.store.update(key, stored, kv.mod_revision).await {
            Ok(_) => return Ok(Verdict::Delete),
            Err(berth_store::StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(ApiError::from_store(e, &target)),
        }
    }
    Err(ApiError::Timeout(format!(
        "couldn't update PodDisruptionBudget \"{pdb_name}\" due to conflicts"
    )))
}

/// The budgets in the pod's namespace whose (non-empty) selector matches it.
async fn matching_budgets(
    ctx: &Ctx<'_>,
    budgets: &crate::resources::Resource,
    pod: &Value,
) -> ApiResult<Vec<Value>> {
    let prefix = budgets.prefix(ctx.namespace());
    let page = ctx
        .state
        .store
        .list(&prefix, berth_store::ListOptions::default())
        .await
        .map_err(|e| ApiError::from_store(e, &Target::new("policy", "poddisruptionbudgets", "")))?;
    let labels = object::labels(pod);
    let mut out = Vec::new();
    for kv in &page.items {
        let pdb = object::decode(kv)?;
        let Some(sel) = object::get(&pdb, &["spec", "selector"]).filter(|s| !s.is_null()) else {
            continue;
        };
        let Ok(meta) = serde_json::from_value(sel.clone()) else {
            continue;
        };
        let Ok(selector) = berth_api::LabelSelector::from_meta(&meta) else {
            continue;
        };
        if !selector.is_empty() && selector.matches(&labels) {
            out.push(pdb);
        }
    }
    Ok(out)
}

fn status_i64(pdb: &Value, field: &str) -> i64 {
    object::get(pdb, &["status", field])
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// An unready pod may be evicted without spending the budget: always under
/// `AlwaysAllow`; under `IfHealthyBudget` (the default) while the
/// application is not disrupted.
fn unready_may_go(pdb: &Value) -> bool {
    if object::get_str(pdb, &["spec", "unhealthyPodEvictionPolicy"]) == Some("AlwaysAllow") {
        return true;
    }
    let desired = status_i64(pdb, "desiredHealthy");
    status_i64(pdb, "currentHealthy") >= desired && desired > 0
}

/// Upstream's checkAndDecrement: a refusal, or `pdb` with one disruption
/// spent and `pod` recorded as disrupted.
fn check_and_decrement(pdb: &mut Value, pod: &str) -> ApiResult<Option<Written>> {
    let name = object::get_str(pdb, &["metadata", "name"])
        .unwrap_or_default()
        .to_string();
    let generation = object::get(pdb, &["metadata", "generation"])
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if status_i64(pdb, "observedGeneration") < generation {
        return Ok(Some(still_processing(&name)));
    }
    let forbidden = |message: &str| ApiError::Forbidden {
        target: Target::new("policy", "poddisruptionbudget", &name),
        message: message.into(),
    };
    let allowed = status_i64(pdb, "disruptionsAllowed");
    if allowed < 0 {
        return Err(forbidden("pdb disruptions allowed is negative"));
    }
    let disrupted = object::get(pdb, &["status", "disruptedPods"])
        .and_then(Value::as_object)
        .map_or(0, serde_json::Map::len);
    if disrupted > MAX_DISRUPTED_PODS {
        return Err(forbidden(
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
        ));
    }
    if allowed == 0 {
        let cause = format!(
            "The disruption budget {name} needs {} healthy pods and has {} currently",
            status_i64(pdb, "desiredHealthy"),
            status_i64(pdb, "currentHealthy")
        );
        return Ok(Some(too_many_requests(&cause, 0)));
    }
    object::set(pdb, &["status", "disruptionsAllowed"], json!(allowed - 1));
    if allowed - 1 == 0 {
        set_insufficient(pdb);
    }
    let mut pods = object::get(pdb, &["status", "disruptedPods"])
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    pods.insert(pod.to_string(), json!(object::now_rfc3339()));
    object::set(pdb, &["status", "disruptedPods"], Value::Object(pods));
    Ok(None)
}

/// The DisruptionAllowed condition once no disruption is left.
fn set_insufficient(pdb: &mut Value) {
    let observed = status_i64(pdb, "observedGeneration");
    let mut conds = object::get(pdb, &["status", "conditions"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let at = match conds.iter().find(|c| c["type"] == "DisruptionAllowed") {
        Some(c) if c["status"] == "False" => c["lastTransitionTime"].clone(),
        _ => json!(object::now_rfc3339()),
    };
    conds.retain(|c| c["type"] != "DisruptionAllowed");
    conds.push(json!({
        "type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods",
        "message": "", "observedGeneration": observed, "lastTransitionTime": at,
    }));
    object::set(pdb, &["status", "conditions"], Value::Array(conds));
}

fn still_processing(pdb: &str) -> Written {
    let cause = format!("The disruption budget {pdb} is still being processed by the server.");
    too_many_requests(&cause, 10)
}

/// Upstream's NewTooManyRequests with a DisruptionBudget cause.
fn too_many_requests(cause: &str, retry_after: i64) -> Written {
    let mut details = json!({"causes": [{"reason": "DisruptionBudget", "message": cause}]});
    if retry_after > 0 {
        details["retryAfterSeconds"] = json!(retry_after);
    }
    status(
        429,
        json!({"status": "Failure", "message": VIOLATION, "reason": "TooManyRequests",
               "details": details, "code": 429}),
    )
}

fn more_than_one_budget() -> Written {
    status(
        500,
        json!({"status": "Failure", "code": 500, "message":
               "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."}),
    )
}

fn success() -> Written {
    status(201, json!({"status": "Success", "code": 201}))
}

fn status(code: u16, fields: Value) -> Written {
    let mut body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}});
    if let (Some(b), Some(f)) = (body.as_object_mut(), fields.as_object()) {
        b.extend(f.clone());
    }
    Written {
        status: code,
        body: serde_json::to_vec(&body).unwrap_or_default(),
        warnings: Vec::new(),
    }
}
