//! Field sets: the paths of the fields an object sets, in the FieldsV1
//! encoding upstream stores in managedFields (`f:name`, `k:{"name":"c"}` for
//! list items by merge key, `v:"x"` for set items, `.` for an item itself).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::patch;

/// One field's path: FieldsV1 path elements from the object root.
pub type FieldPath = Vec<String>;

fn key_element(key: &str, item: &Value) -> String {
    let mut m = Map::new();
    m.insert(
        key.to_string(),
        item.get(key).cloned().unwrap_or(Value::Null),
    );
    format!("k:{}", Value::Object(m))
}

/// Every leaf field (and keyed list item) `obj` sets.
pub fn field_set(obj: &Value) -> BTreeSet<FieldPath> {
    let mut out = BTreeSet::new();
    walk(obj, &mut Vec::new(), "", &mut out);
    out
}

fn walk(v: &Value, path: &mut FieldPath, field: &str, out: &mut BTreeSet<FieldPath>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                path.push(format!("f:{k}"));
                walk(child, path, k, out);
                path.pop();
            }
        }
        Value::Array(items) if patch::is_primitive_set(field) => {
            for item in items {
                path.push(format!("v:{item}"));
                out.insert(path.clone());
                path.pop();
            }
        }
        Value::Array(items) => match patch::merge_key(field, items) {
            Some(key) if !items.is_empty() => {
                for item in items {
                    path.push(key_element(key, item));
                    out.insert(with(path, "."));
                    walk(item, path, "", out);
                    path.pop();
                }
            }
            _ => {
                out.insert(path.clone());
            }
        },
        _ => {
            out.insert(path.clone());
        }
    }
}

fn with(path: &FieldPath, last: &str) -> FieldPath {
    let mut p = path.clone();
    p.push(last.to_string());
    p
}

/// The FieldsV1 JSON of a set.
pub fn to_fields_v1(set: &BTreeSet<FieldPath>) -> Value {
    let mut root = Value::Object(Map::new());
    for path in set {
        let mut cur = &mut root;
        for el in path {
            let Value::Object(m) = cur else { break };
            cur = m
                .entry(el.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    root
}

/// The set a FieldsV1 JSON describes.
pub fn from_fields_v1(v: &Value) -> BTreeSet<FieldPath> {
    let mut out = BTreeSet::new();
    fn go(v: &Value, path: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
        match v.as_object() {
            Some(m) if !m.is_empty() => {
                for (k, child) in m {
                    path.push(k.clone());
                    if k == "." {
                        out.insert(path.clone());
                    } else {
                        go(child, path, out);
                    }
                    path.pop();
                }
            }
            _ => {
                out.insert(path.clone());
            }
        }
    }
    go(v, &mut Vec::new(), &mut out);
    out.retain(|p| !p.is_empty());
    out
}

fn find_item(items: &[Value], el: &str) -> Option<usize> {
    if let Some(k) = el.strip_prefix("k:") {
        let want: Map<String, Value> = serde_json::from_str(k).ok()?;
        return items
            .iter()
            .position(|i| want.iter().all(|(kk, vv)| i.get(kk) == Some(vv)));
    }
    let v: Value = serde_json::from_str(el.strip_prefix("v:")?).ok()?;
    items.iter().position(|i| *i == v)
}

/// The value at a path, if the object has it.
pub fn get_at<'a>(obj: &'a Value, path: &FieldPath) -> Option<&'a Value> {
    let mut cur = obj;
    for el in path {
        cur = if let Some(f) = el.strip_prefix("f:") {
            cur.get(f)?
        } else if el == "." {
            cur
        } else {
            let items = cur.as_array()?;
            &items[find_item(items, el)?]
        };
    }
    Some(cur)
}

/// Removes the field (or list item) at a path; missing paths are ignored.
pub fn remove_at(obj: &mut Value, path: &FieldPath) {
    let path: Vec<&String> = path.iter().filter(|e| e.as_str() != ".").collect();
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for el in parents {
        let next = if let Some(f) = el.strip_prefix("f:") {
            cur.get_mut(f)
        } else {
            let Some(idx) = cur.as_array().and_then(|a| find_item(a, el)) else {
                return;
            };
            cur.get_mut(idx)
        };
        let Some(n) = next else { return };
        cur = n;
    }
    if let Some(f) = last.strip_prefix("f:") {
        if let Some(m) = cur.as_object_mut() {
            m.remove(f);
        }
    } else if let Some(items) = cur.as_array_mut()
        && let Some(idx) = find_item(items, last)
    {
        items.remove(idx);
    }
}

/// A path as upstream prints it in conflicts: `.spec.replicas`,
/// `.spec.containers[name="web"].image`.
pub fn display(path: &FieldPath) -> String {
    let mut out = String::new();
    for el in path {
        if let Some(f) = el.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = el.strip_prefix("k:") {
            let m: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("[{}]", inner.join(",")));
        } else if let Some(v) = el.strip_prefix("v:") {
            out.push_str(&format!("[{v}]"));
        }
    }
    out
}
