//! GET on an object or a collection: selectors, pagination with continue
//! tokens, resourceVersion semantics, and Table output.

use base64::Engine;
use berth_api::{FieldSelector, LabelSelector, Strategy};
use berth_store::{KeyValue, ListOptions};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object;
use crate::table::{self, TableRequest};

/// The selectors of a list or watch, checked against what the resource supports.
pub struct Selectors {
    pub label: LabelSelector,
    pub field: FieldSelector,
}

impl Selectors {
    pub fn parse(ctx: &Ctx<'_>) -> ApiResult<Self> {
        let label = LabelSelector::parse(ctx.query.str_or_empty("labelSelector"))
            .map_err(|e| ApiError::BadRequest(format!("unable to parse requirement: {e}")))?;
        let field = FieldSelector::parse(ctx.query.str_or_empty("fieldSelector"))
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let supported = ctx.res.strategy.selectable_fields();
        for f in field.fields() {
            if f != "metadata.name" && f != "metadata.namespace" && !supported.contains(&f) {
                return Err(ApiError::BadRequest(format!(
                    "field label not supported: {f}"
                )));
            }
        }
        Ok(Self { label, field })
    }

    pub fn is_empty(&self) -> bool {
        self.label.is_empty() && self.field.is_empty()
    }

    /// Whether a stored object matches. Parses only what the selectors need.
    pub fn matches_stored(&self, strategy: &dyn Strategy, raw: &[u8]) -> bool {
        if self.is_empty() {
            return true;
        }
        if self.field.is_empty() {
            return labels_of(raw).is_some_and(|l| self.label.matches(&l));
        }
        serde_json::from_slice::<Value>(raw).is_ok_and(|v| self.matches(strategy, &v))
    }

    /// Whether a stored object matches as `res` serves it (converted
    /// first when `res` shares storage with another version).
    pub fn matches_in(&self, res: &crate::resources::Resource, raw: &[u8]) -> bool {
        if self.is_empty() {
            return true;
        }
        match res.view(raw) {
            Some(v) => self.matches(&*res.strategy, &v),
            None => self.matches_stored(&*res.strategy, raw),
        }
    }

    pub fn matches(&self, strategy: &dyn Strategy, obj: &Value) -> bool {
        self.label.matches(&object::labels(obj))
            && self.field.matches(&|f: &str| match f {
                "metadata.name" => object::get_str(obj, &["metadata", "name"]).map(String::from),
                "metadata.namespace" => {
                    object::get_str(obj, &["metadata", "namespace"]).map(String::from)
                }
                other => strategy.field_value(obj, other),
            })
    }
}

#[derive(Deserialize)]
struct LabelsOnly {
    #[serde(default)]
    metadata: MetaLabels,
}

#[derive(Deserialize, Default)]
struct MetaLabels {
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
}

fn labels_of(raw: &[u8]) -> Option<std::collections::BTreeMap<String, String>> {
    serde_json::from_slice::<LabelsOnly>(raw)
        .ok()
        .map(|l| l.metadata.labels)
}

/// A continue token: where the next page starts and at which revision.
fn encode_continue(revision: i64, last_key: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": revision, "start": last_key});
    base64::engine::general_purpose::URL_SAFE.encode(token.to_string())
}

fn decode_continue(token: &str) -> ApiResult<(i64, String)> {
    let bad = || ApiError::BadRequest("continue key is not valid: invalid token".into());
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let rv = v.get("rv").and_then(Value::as_i64).ok_or_else(bad)?;
    let start = v.get("start").and_then(Value::as_str).ok_or_else(bad)?;
    Ok((rv, start.to_string()))
}

/// Where a list reads from: revision and first key.
fn list_origin(ctx: &Ctx<'_>) -> ApiResult<(Option<i64>, Option<String>, Option<i64>)> {
    let q = ctx.query;
    if let Some(token) = q.get("continue").filter(|t| !t.is_empty()) {
        let rv = q.str_or_empty("resourceVersion");
        if !rv.is_empty() && rv != "0" {
            return Err(ApiError::BadRequest(
                "specifying resource version is not allowed when using continue".into(),
            ));
        }
        let (rev, start) = decode_continue(token)?;
        return Ok((Some(rev), Some(start), None));
    }
    let rv = q.str_or_empty("resourceVersion");
    let parsed = match rv {
        "" | "0" => None,
        s => Some(s.parse::<i64>().map_err(|_| {
            ApiError::BadRequest(format!(
                "resourceVersion: Invalid value: \"{s}\": must be a number"
            ))
        })?),
    };
    match (q.get("resourceVersionMatch"), parsed) {
        (Some("Exact"), Some(r)) => Ok((Some(r), None, None)),
        (Some("Exact"), None) | (Some("NotOlderThan"), None) if rv.is_empty() => {
            Err(ApiError::BadRequest(
                "resourceVersionMatch is forbidden unless resourceVersion is provided".into(),
            ))
        }
        (None | Some("") | Some("NotOlderThan") | Some("Exact"), min) => Ok((None, None, min)),
        (Some(other), _) => Err(ApiError::BadRequest(format!(
            "resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\", \"\""
        ))),
    }
}

/// One page of matching stored objects, with the revision it was read at
/// and what the list metadata needs.
pub struct Page {
    pub items: Vec<KeyValue>,
    pub revision: i64,
    pub continue_token: Option<String>,
    pub remaining: Option<usize>,
}

pub async fn read_page(ctx: &Ctx<'_>, selectors: &Selectors) -> ApiResult<Page> {
    let (revision, mut start_after, min_rv) = list_origin(ctx)?;
    let limit = ctx
        .query
        .int("limit")?
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    let prefix = ctx.res.prefix(ctx.namespace());
    let target = ctx.target("");
    let mut items = Vec::new();
    let mut read_at = revision;
    loop {
        let chunk = match limit {
            Some(l) if selectors.is_empty() => Some(l - items.len()),
            Some(l) => Some((l - items.len()).max(500)),
            None => None,
        };
        let opts = ListOptions {
            revision: read_at,
            start_after: start_after.clone(),
            limit: chunk,
        };
        let started = std::time::Instant::now();
        let page = ctx.state.store.list(&prefix, opts).await.map_err(|e| match e {
            berth_store::StoreError::Compacted { .. } if ctx.query.get("continue").is_some() => ApiError::Expired(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.".into(),
            ),
            other => ApiError::from_store(other, &target),
        })?;
        ctx.state.metrics.observe_store("list", started.elapsed());
        if let Some(min) = min_rv
            && page.revision < min
        {
            return Err(ApiError::Timeout(format!(
                "Too large resource version: {min}, current: {}",
                page.revision
            )));
        }
        read_at = Some(page.revision);
        let chunk_len = page.items.len();
        let chunk_last = page.items.last().map(|kv| kv.key.clone());
        let mut examined = 0;
        for kv in page.items {
            examined += 1;
            if selectors.matches_in(&ctx.res, &kv.value) {
                items.push(kv);
                if limit.is_some_and(|l| items.len() >= l) {
                    break;
                }
            }
        }
        let left_in_chunk = chunk_len - examined;
        let full = limit.is_some_and(|l| items.len() >= l);
        if full && (left_in_chunk > 0 || page.remaining > 0) {
            let last = items.last().map(|kv| kv.key.clone()).unwrap_or_default();
            return Ok(Page {
                revision: page.revision,
                continue_token: Some(encode_continue(page.revision, &last)),
                remaining: selectors
                    .is_empty()
                    .then_some(left_in_chunk + page.remaining),
                items,
            });
        }
        if page.remaining == 0 || chunk_len == 0 {
            return Ok(Page {
                revision: page.revision,
                continue_token: None,
                remaining: None,
                items,
            });
        }
        start_after = chunk_last;
    }
}

/// Every matching object (all pages), decoded, with the list revision.
pub async fn matching_objects(ctx: &Ctx<'_>) -> ApiResult<(Vec<Value>, i64)> {
    let selectors = Selectors::parse(ctx)?;
    let prefix = ctx.res.prefix(ctx.namespace());
    let page = ctx
        .state
        .store
        .list(&prefix, ListOptions::default())
        .await
        .map_err(|e| ApiError::from_store(e, &ctx.target("")))?;
    let mut out = Vec::new();
    for kv in &page.items {
        let obj = object::decode(kv)?;
        if selectors.matches(&*ctx.res.strategy, &obj) {
            out.push(obj);
        }
    }
    Ok((out, page.revision))
}

/// GET on a collection.
pub async fn list(ctx: &Ctx<'_>, table: Option<TableRequest>) -> ApiResult<Vec<u8>> {
    let selectors = Selectors::parse(ctx)?;
    let page = read_page(ctx, &selectors).await?;
    let mut meta = json!({"resourceVersion": page.revision.to_string()});
    if let Some(c) = &page.continue_token {
        meta["continue"] = json!(c);
    }
    if let Some(r) = page.remaining {
        meta["remainingItemCount"] = json!(r);
    }
    if let Some(t) = table {
        let objects = page
            .items
            .iter()
            .map(object::decode)
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(serde_json::to_vec(&table::build(
            &ctx.res, &objects, meta, t,
        ))?);
    }
    let info = &ctx.res.info;
    let head =
        json!({"kind": info.list_kind(), "apiVersion": info.api_version(), "metadata": meta});
    let mut out = serde_json::to_vec(&head)?;
    out.pop();
    out.extend_from_slice(b",\"items\":[");
    for (i, kv) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        ctx.res.write_wire(&mut out, &kv.value, kv.mod_revision);
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// GET on an object.
pub async fn get(ctx: &Ctx<'_>, table: Option<TableRequest>) -> ApiResult<Vec<u8>> {
    let name = ctx.name()?;
    let kv = ctx.load(name).await?;
    if let Some(t) = table {
        let obj = object::decode(&kv)?;
        let meta = json!({"resourceVersion": kv.mod_revision.to_string()});
        return Ok(serde_json::to_vec(&table::build(
            &ctx.res,
            &[obj],
            meta,
            t,
        ))?);
    }
    Ok(ctx.res.wire(&kv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let t = encode_continue(42, "/core/configmaps/ns/a");
        assert_eq!(
            decode_continue(&t).expect("valid"),
            (42, "/core/configmaps/ns/a".to_string())
        );
        assert!(decode_continue("not-a-token!").is_err());
    }

    #[test]
    fn labels_are_read_without_parsing_the_whole_object() {
        let raw = br#"{"metadata":{"name":"a","labels":{"app":"web"}},"data":{"x":"y"}}"#;
        let l = labels_of(raw).expect("labels");
        assert_eq!(l.get("app").map(String::as_str), Some("web"));
        assert_eq!(
            labels_of(br#"{"metadata":{"name":"a"}}"#).map(|l| l.len()),
            Some(0)
        );
    }
}
