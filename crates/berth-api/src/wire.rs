//! Reading and writing objects in wire form (`serde_json::Value`) by path.

use serde_json::{Map, Value};

/// The value at `path` (object keys), if every step exists.
pub(crate) fn at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, key| v.get(*key))
}

/// The string at `path`, or "" when absent or not a string.
pub(crate) fn str_at<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    at(obj, path).and_then(Value::as_str).unwrap_or_default()
}

/// The list at `path`, or an empty slice.
pub(crate) fn list_at<'a>(obj: &'a Value, path: &[&str]) -> &'a [Value] {
    at(obj, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The object at `path`, created (replacing a `null` or non-object) when absent.
pub(crate) fn object_at<'a>(obj: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut current = obj;
    for key in path {
        let map = as_object(current);
        current = map.entry(key.to_string()).or_insert(Value::Null);
    }
    as_object(current)
}

/// `v` as an object, turning it into an empty one first if it is not.
pub(crate) fn as_object(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(map) => map,
        _ => unreachable!("just made an object"),
    }
}

/// Sets `map[key] = value` unless a non-null value is there.
pub(crate) fn default_key(map: &mut Map<String, Value>, key: &str, value: Value) {
    match map.get(key) {
        Some(existing) if !existing.is_null() => {}
        _ => {
            map.insert(key.to_string(), value);
        }
    }
}

/// Sets `obj.<path>` to `value` unless a non-null value is there.
pub(crate) fn default_at(obj: &mut Value, path: &[&str], value: Value) {
    if let Some((last, parents)) = path.split_last() {
        default_key(object_at(obj, parents), last, value);
    }
}

/// The mutable list at `path`, if there is one.
pub(crate) fn list_at_mut<'a>(obj: &'a mut Value, path: &[&str]) -> Option<&'a mut Vec<Value>> {
    let mut current = obj;
    for key in path {
        current = current.get_mut(*key)?;
    }
    current.as_array_mut()
}

/// A value as field selectors and messages print it: strings bare, others as JSON.
pub(crate) fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
