//! OpenAPI documents: the v3 root and per-group-version documents, and v2.
//!
//! They list every resource path with its operations, the
//! `x-kubernetes-group-version-kind` of each and the query parameters
//! (kubectl reads them to learn that the server validates fields itself).
//! Built-in group-versions carry the component schemas of their kinds
//! ([`schemas`]), so `kubectl explain` works.

mod schemas;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use crate::resources::{Resource, ResourceTable, StrategyRef};

fn param(name: &str, ty: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": ty}, "uniqueItems": true})
}

fn gvk(r: &Resource) -> Value {
    json!({"group": r.info.group, "version": r.info.version, "kind": r.info.kind})
}

fn base_path(r: &Resource) -> String {
    let i = &r.info;
    let root = if i.group.is_empty() {
        "/api/v1".to_string()
    } else {
        format!("/apis/{}/{}", i.group, i.version)
    };
    if i.namespaced() {
        format!("{root}/namespaces/{{namespace}}/{}", i.plural)
    } else {
        format!("{root}/{}", i.plural)
    }
}

fn operation(r: &Resource, action: &str, params: &[&str]) -> Value {
    let mut ok = json!({"description": "OK"});
    if let Some(name) =
        schemas::name_of(&r.info.group, &r.info.version, &r.info.kind).filter(|_| action != "list")
    {
        ok["content"] = json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}});
    }
    let mut op = json!({
        "operationId": format!("{action}{}", r.info.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(r),
        "parameters": params.iter().map(|p| param(p, "string")).collect::<Vec<_>>(),
        "responses": {"200": ok},
    });
    if let Some(m) = op.as_object_mut() {
        m.insert("tags".into(), json!([r.info.group.replace('.', "_")]));
    }
    op
}

const WRITE_PARAMS: [&str; 3] = ["dryRun", "fieldManager", "fieldValidation"];

fn paths_of(r: &Resource) -> Vec<(String, Value)> {
    let collection = base_path(r);
    let object = format!("{collection}/{{name}}");
    let mut patch_params = WRITE_PARAMS.to_vec();
    patch_params.push("force");
    vec![
        (
            collection,
            json!({
                "get": operation(r, "list", &["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "watch"]),
                "post": operation(r, "post", &WRITE_PARAMS),
                "delete": operation(r, "deletecollection", &["labelSelector", "fieldSelector"]),
            }),
        ),
        (
            object,
            json!({
                "get": operation(r, "get", &[]),
                "put": operation(r, "put", &WRITE_PARAMS),
                "patch": operation(r, "patch", &patch_params),
                "delete": operation(r, "delete", &["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
            }),
        ),
    ]
}

fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: where each built-in group-version's document is.
///
/// Custom group-versions are left out of the root on purpose: kubectl then
/// treats their kinds as CRDs it cannot see yet and leaves field
/// validation to the server, instead of falling back to the protobuf v2
/// document when a kind is newer than the root it fetched (a CRD and its
/// objects applied from one file).
pub fn v3_root(table: &ResourceTable) -> Value {
    let mut paths = Map::new();
    for r in table
        .all()
        .iter()
        .filter(|r| matches!(r.strategy, StrategyRef::Builtin(_)))
    {
        let key = gv_key(&r.info.group, &r.info.version);
        let url = format!("/openapi/v3/{key}?hash={:016X}", fingerprint(&key, table));
        paths
            .entry(key)
            .or_insert_with(|| json!({"serverRelativeURL": url}));
    }
    json!({"paths": paths})
}

fn fingerprint(key: &str, table: &ResourceTable) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    for r in table.all() {
        r.info.plural.hash(&mut h);
        r.info.version.hash(&mut h);
    }
    h.finish()
}

/// Serialized group-version documents, by key and table fingerprint.
type DocCache = Mutex<HashMap<(String, u64), Arc<Vec<u8>>>>;

fn cache() -> &'static DocCache {
    static CACHE: std::sync::OnceLock<DocCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The serialized document of a group-version, built once per table.
pub fn v3_group_version_bytes(table: &ResourceTable, key: &str) -> Option<Arc<Vec<u8>>> {
    let id = (key.to_string(), fingerprint(key, table));
    if let Some(hit) = cache().lock().ok().and_then(|c| c.get(&id).cloned()) {
        return Some(hit);
    }
    let doc = Arc::new(serde_json::to_vec(&v3_group_version(table, key)?).ok()?);
    if let Ok(mut c) = cache().lock() {
        c.insert(id, doc.clone());
    }
    Some(doc)
}

/// `/openapi/v3/{api/v1 | apis/group/version}`.
pub fn v3_group_version(table: &ResourceTable, key: &str) -> Option<Value> {
    let mut paths = Map::new();
    for r in table
        .all()
        .iter()
        .filter(|r| gv_key(&r.info.group, &r.info.version) == key)
    {
        paths.extend(paths_of(r));
    }
    if paths.is_empty() {
        return None;
    }
    let (group, version) = match key.strip_prefix("apis/") {
        Some(gv) => gv.split_once('/').unwrap_or((gv, "")),
        None => ("", key.strip_prefix("api/").unwrap_or(key)),
    };
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas::for_group_version(group, version)},
    }))
}

/// `/openapi/v2`.
pub fn v2(table: &ResourceTable) -> Value {
    let mut paths = Map::new();
    for r in table.all() {
        for (path, mut ops) in paths_of(r) {
            if let Some(m) = ops.as_object_mut() {
                for op in m.values_mut() {
                    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
                        for p in params.iter_mut() {
                            if let Some(pm) = p.as_object_mut() {
                                pm.remove("schema");
                                pm.insert("type".into(), json!("string"));
                            }
                        }
                    }
                }
            }
            paths.insert(path, ops);
        }
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "definitions": {},
    })
}

/// The media type of the protobuf v2 document as upstream answers it
/// (clients ask with `...spec.v2@v1.0+protobuf`; `@` is not valid in a
/// Content-Type, so the answer spells it with a dot).
pub const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// `/openapi/v2` as the protobuf (gnostic) document kubectl reads: swagger
/// version and info only. kubectl falls back to it to validate kinds it
/// cannot find in OpenAPI v3 (custom objects applied in the same file as
/// their CRD); a kind it does not find there is left to the server.
pub fn v2_protobuf() -> Vec<u8> {
    fn field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
        out.push((tag << 3) | 2);
        out.push(u8::try_from(bytes.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(bytes);
    }
    let mut info = Vec::new();
    field(&mut info, 1, b"Kubernetes");
    field(&mut info, 2, b"v1.32.0");
    let mut doc = Vec::new();
    field(&mut doc, 1, b"2.0");
    field(&mut doc, 2, &info);
    doc
}
