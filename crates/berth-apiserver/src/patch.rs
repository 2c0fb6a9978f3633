//! PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
//! strategic merge patch (merge patch that merges lists of objects by their
//! upstream merge key and honours `$patch` directives).

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    Json,
    Merge,
    Strategic,
    /// Server-side apply (handled by [`crate::apply`], not by [`apply`]).
    Apply,
}

impl PatchKind {
    pub fn from_content_type(ct: &str) -> ApiResult<Self> {
        match ct.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => Ok(Self::Json),
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            "application/apply-patch+yaml" => Ok(Self::Apply),
            other => Err(ApiError::UnsupportedMediaType(other.to_string())),
        }
    }
}

/// Applies a patch body to `current`.
pub fn apply(kind: PatchKind, current: &Value, body: &[u8]) -> ApiResult<Value> {
    let patch: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("error decoding patch: {e}")))?;
    match kind {
        PatchKind::Json => json_patch(current.clone(), &patch),
        PatchKind::Merge => {
            require_object(&patch)?;
            Ok(merge(current.clone(), &patch, false))
        }
        PatchKind::Strategic | PatchKind::Apply => {
            require_object(&patch)?;
            Ok(merge(current.clone(), &patch, true))
        }
    }
}

fn require_object(patch: &Value) -> ApiResult<()> {
    if patch.is_object() {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "patch body must be a JSON object".into(),
        ))
    }
}

/// RFC 7386, and with `strategic` the list and directive rules.
pub fn merge(target: Value, patch: &Value, strategic: bool) -> Value {
    let Value::Object(p) = patch else {
        return patch.clone();
    };
    if strategic && p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut replaced = p.clone();
        replaced.remove("$patch");
        return Value::Object(replaced);
    }
    let mut out = match target {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    for (k, v) in p {
        if strategic && (k.starts_with("$setElementOrder/") || k == "$retainKeys" || k == "$patch")
        {
            continue;
        }
        if strategic && k.starts_with("$deleteFromPrimitiveList/") {
            let field = &k["$deleteFromPrimitiveList/".len()..];
            if let (Some(Value::Array(list)), Value::Array(del)) = (out.get_mut(field), v) {
                list.retain(|x| !del.contains(x));
            }
            continue;
        }
        if v.is_null() {
            out.remove(k);
            continue;
        }
        let existing = out.remove(k).unwrap_or(Value::Null);
        let merged = match (existing, v) {
            (Value::Array(cur), Value::Array(new)) if strategic => merge_list(k, cur, new),
            (cur, v) if v.is_object() => merge(cur, v, strategic),
            (_, v) => strip_directives(v.clone()),
        };
        out.insert(k.clone(), merged);
    }
    Value::Object(out)
}

fn strip_directives(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k, strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_directives).collect()),
        other => other,
    }
}

/// The merge key upstream declares for a list field, when its items are
/// objects that carry it.
pub fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    let candidates: &[&str] = match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "secrets" => &["name"],
        "ports" => &["containerPort", "port"],
        "volumeMounts" => &["mountPath"],
        "volumeDevices" => &["devicePath"],
        "conditions" => &["type"],
        "ownerReferences" => &["uid"],
        "hostAliases" => &["ip"],
        "topologySpreadConstraints" => &["topologyKey"],
        "resourceClaims" => &["name"],
        _ => return None,
    };
    candidates
        .iter()
        .copied()
        .find(|k| items.iter().all(|i| i.get(*k).is_some()))
}

/// Fields upstream merges as sets of primitives.
pub fn is_primitive_set(field: &str) -> bool {
    field == "finalizers"
}

fn merge_list(field: &str, current: Vec<Value>, patch: &[Value]) -> Value {
    if is_primitive_set(field) {
        let mut out = current;
        for v in patch {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        return Value::Array(out);
    }
    let all: Vec<Value> = current.iter().chain(patch.iter()).cloned().collect();
    let Some(key) = merge_key(field, &all) else {
        return Value::Array(patch.iter().cloned().map(strip_directives).collect());
    };
    let mut out = current;
    for item in patch {
        let id = item.get(key);
        let pos = out.iter().position(|c| c.get(key) == id);
        let directive = item.get("$patch").and_then(Value::as_str);
        match (pos, directive) {
            (Some(i), Some("delete")) => {
                out.remove(i);
            }
            (None, Some("delete")) => {}
            (Some(i), Some("replace")) => out[i] = strip_directives(item.clone()),
            (Some(i), _) => {
                let cur = out[i].take();
                out[i] = merge(cur, item, true);
            }
            (None, _) => out.push(strip_directives(item.clone())),
        }
    }
    Value::Array(out)
}

/// RFC 6902.
fn json_patch(mut doc: Value, patch: &Value) -> ApiResult<Value> {
    let ops = patch
        .as_array()
        .ok_or_else(|| ApiError::BadRequest("json patch must be an array of operations".into()))?;
    for op in ops {
        let name = op.get("op").and_then(Value::as_str).unwrap_or("");
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| bad_op("missing path"))?;
        match name {
            "add" => add(&mut doc, path, value_of(op)?)?,
            "remove" => {
                take(&mut doc, path)?;
            }
            "replace" => {
                take(&mut doc, path)?;
                add(&mut doc, path, value_of(op)?)?;
            }
            "move" => {
                let from = from_of(op)?;
                let v = take(&mut doc, from)?;
                add(&mut doc, path, v)?;
            }
            "copy" => {
                let v = pointer(&doc, from_of(op)?)?.clone();
                add(&mut doc, path, v)?;
            }
            "test" => {
                if pointer(&doc, path)? != &value_of(op)? {
                    return Err(ApiError::BadRequest(format!("testing value {path} failed")));
                }
            }
            other => return Err(bad_op(&format!("unknown operation {other:?}"))),
        }
    }
    Ok(doc)
}

fn bad_op(msg: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "the server rejected our request due to an error in our request: {msg}"
    ))
}

fn value_of(op: &Value) -> ApiResult<Value> {
    op.get("value")
        .cloned()
        .ok_or_else(|| bad_op("missing value"))
}

fn from_of(op: &Value) -> ApiResult<&str> {
    op.get("from")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_op("missing from"))
}

fn tokens(path: &str) -> ApiResult<Vec<String>> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| bad_op(&format!("invalid path {path:?}")))?;
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn pointer<'a>(doc: &'a Value, path: &str) -> ApiResult<&'a Value> {
    let mut cur = doc;
    for t in tokens(path)? {
        cur = match cur {
            Value::Object(m) => m.get(&t),
            Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        }
        .ok_or_else(|| bad_op(&format!("path {path:?} does not exist")))?;
    }
    Ok(cur)
}

fn parent<'a>(doc: &'a mut Value, path: &str) -> ApiResult<(&'a mut Value, String)> {
    let mut toks = tokens(path)?;
    let last = toks
        .pop()
        .ok_or_else(|| bad_op("cannot operate on the whole document"))?;
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m.get_mut(&t),
            Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| bad_op(&format!("path {path:?} does not exist")))?;
    }
    Ok((cur, last))
}

fn add(doc: &mut Value, path: &str, v: Value) -> ApiResult<()> {
    let (p, last) = parent(doc, path)?;
    match p {
        Value::Object(m) => {
            m.insert(last, v);
            Ok(())
        }
        Value::Array(a) if last == "-" => {
            a.push(v);
            Ok(())
        }
        Value::Array(a) => match last.parse::<usize>() {
            Ok(i) if i <= a.len() => {
                a.insert(i, v);
                Ok(())
            }
            _ => Err(bad_op(&format!("index out of range in {path:?}"))),
        },
        _ => Err(bad_op(&format!("path {path:?} does not exist"))),
    }
}

fn take(doc: &mut Value, path: &str) -> ApiResult<Value> {
    let (p, last) = parent(doc, path)?;
    let removed = match p {
        Value::Object(m) => m.remove(&last),
        Value::Array(a) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => Some(a.remove(i)),
            _ => None,
        },
        _ => None,
    };
    removed.ok_or_else(|| bad_op(&format!("path {path:?} does not exist")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(kind: PatchKind, cur: Value, patch: Value) -> Value {
        apply(kind, &cur, patch.to_string().as_bytes()).expect("patch applies")
    }

    #[test]
    fn merge_patch_sets_and_removes_keys() {
        let out = run(
            PatchKind::Merge,
            json!({"a": 1, "b": {"c": 2, "d": 3}}),
            json!({"b": {"c": null, "e": 4}}),
        );
        assert_eq!(out, json!({"a": 1, "b": {"d": 3, "e": 4}}));
    }

    #[test]
    fn merge_patch_replaces_lists() {
        let out = run(PatchKind::Merge, json!({"l": [1, 2]}), json!({"l": [3]}));
        assert_eq!(out, json!({"l": [3]}));
    }

    #[test]
    fn strategic_patch_merges_containers_by_name() {
        let cur = json!({"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]}});
        let patch = json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
            "containers": [{"name": "b", "image": "y:2"}]}});
        let out = run(PatchKind::Strategic, cur, patch);
        assert_eq!(
            out,
            json!({"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:2"}]}})
        );
    }

    #[test]
    fn strategic_patch_deletes_list_items_by_directive() {
        let cur = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]});
        let out = run(
            PatchKind::Strategic,
            cur,
            json!({"env": [{"name": "A", "$patch": "delete"}]}),
        );
        assert_eq!(out, json!({"env": [{"name": "B", "value": "2"}]}));
    }

    #[test]
    fn json_patch_applies_operations_in_order() {
        let cur = json!({"metadata": {"labels": {"a": "1"}}, "l": [1, 2]});
        let patch = json!([
            {"op": "add", "path": "/metadata/labels/b~1c", "value": "2"},
            {"op": "remove", "path": "/metadata/labels/a"},
            {"op": "add", "path": "/l/-", "value": 3},
            {"op": "test", "path": "/l/0", "value": 1},
        ]);
        let out = run(PatchKind::Json, cur, patch);
        assert_eq!(
            out,
            json!({"metadata": {"labels": {"b/c": "2"}}, "l": [1, 2, 3]})
        );
    }

    #[test]
    fn json_patch_on_a_missing_path_is_a_bad_request() {
        let err = apply(
            PatchKind::Json,
            &json!({}),
            br#"[{"op":"remove","path":"/x"}]"#,
        )
        .expect_err("fails");
        assert_eq!(err.code(), 400);
    }
}
