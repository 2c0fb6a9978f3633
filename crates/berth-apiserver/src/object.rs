//! How objects are kept in the store and put on the wire.
//!
//! Stored form: the object's JSON with `metadata` as the first key and no
//! `metadata.resourceVersion`. The store's `mod_revision` is the
//! resourceVersion; [`wire_bytes`] splices it in right after `{"metadata":{`
//! so a get, list or watch never re-serializes a stored object.

use bytes::Bytes;
use serde_json::{Map, Value};

use berth_store::KeyValue;

const PREFIX: &[u8] = b"{\"metadata\":{";

/// Serializes an object into its stored form.
pub fn encode_stored(obj: &Value) -> Result<Bytes, serde_json::Error> {
    let empty = Map::new();
    let map = obj.as_object().unwrap_or(&empty);
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"{\"metadata\":");
    match map.get("metadata").and_then(Value::as_object) {
        Some(meta) => {
            let mut meta = meta.clone();
            meta.remove("resourceVersion");
            serde_json::to_writer(&mut out, &meta)?;
        }
        None => out.extend_from_slice(b"{}"),
    }
    for (k, v) in map.iter().filter(|(k, _)| k.as_str() != "metadata") {
        out.push(b',');
        serde_json::to_writer(&mut out, k)?;
        out.push(b':');
        serde_json::to_writer(&mut out, v)?;
    }
    out.push(b'}');
    Ok(Bytes::from(out))
}

/// Appends the wire form of a stored value at `revision` to `out`.
pub fn write_wire(out: &mut Vec<u8>, stored: &[u8], revision: i64) {
    match stored.strip_prefix(PREFIX) {
        Some(rest) => {
            out.extend_from_slice(PREFIX);
            out.extend_from_slice(b"\"resourceVersion\":\"");
            out.extend_from_slice(revision.to_string().as_bytes());
            out.push(b'"');
            if rest.first() != Some(&b'}') {
                out.push(b',');
            }
            out.extend_from_slice(rest);
        }
        // Not written by encode_stored: hand it out unchanged.
        None => out.extend_from_slice(stored),
    }
}

/// The wire form of a stored key-value.
pub fn wire_bytes(kv: &KeyValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(kv.value.len() + 32);
    write_wire(&mut out, &kv.value, kv.mod_revision);
    out
}

/// The object a stored key-value holds, with its resourceVersion set.
pub fn decode(kv: &KeyValue) -> Result<Value, serde_json::Error> {
    let mut v: Value = serde_json::from_slice(&kv.value)?;
    set_str(
        &mut v,
        &["metadata", "resourceVersion"],
        &kv.mod_revision.to_string(),
    );
    Ok(v)
}

/// Reads a string at a path of object keys.
pub fn get_str<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(v, path).and_then(Value::as_str)
}

pub fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.get(*k))
}

/// Sets a value at a path, creating intermediate objects.
pub fn set(v: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = v;
    for k in parents {
        if !cur.get(*k).is_some_and(Value::is_object) {
            if let Value::Object(m) = cur {
                m.insert((*k).to_string(), Value::Object(Map::new()));
            } else {
                return;
            }
        }
        let Some(next) = cur.get_mut(*k) else { return };
        cur = next;
    }
    if let Value::Object(m) = cur {
        m.insert((*last).to_string(), value);
    }
}

pub fn set_str(v: &mut Value, path: &[&str], s: &str) {
    set(v, path, Value::String(s.to_string()));
}

/// Removes a key at a path, returning it.
pub fn remove(v: &mut Value, path: &[&str]) -> Option<Value> {
    let (last, parents) = path.split_last()?;
    let mut cur = v;
    for k in parents {
        cur = cur.get_mut(*k)?;
    }
    cur.as_object_mut()?.remove(*last)
}

/// `metadata.labels` as a map (empty when absent).
pub fn labels(v: &Value) -> std::collections::BTreeMap<String, String> {
    get(v, &["metadata", "labels"])
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// `metadata.finalizers` (empty when absent).
pub fn finalizers(v: &Value) -> Vec<String> {
    get(v, &["metadata", "finalizers"])
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Now, formatted as Kubernetes timestamps are (RFC 3339, seconds, UTC).
pub fn now_rfc3339() -> String {
    timestamp_rfc3339(jiff::Timestamp::now())
}

pub fn timestamp_rfc3339(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A mutable array at a path, if there is one.
pub fn get_mut_array<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Vec<Value>> {
    path.iter()
        .try_fold(v, |cur, k| cur.get_mut(*k))?
        .as_array_mut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kv(value: Bytes, rev: i64) -> KeyValue {
        KeyValue {
            key: "k".into(),
            value,
            create_revision: rev,
            mod_revision: rev,
        }
    }

    #[test]
    fn stored_form_puts_metadata_first_and_drops_resource_version() {
        let obj = json!({"apiVersion": "v1", "data": {"a": "b"}, "kind": "ConfigMap",
            "metadata": {"name": "x", "resourceVersion": "9"}});
        let stored = encode_stored(&obj).expect("encodes");
        assert!(stored.starts_with(b"{\"metadata\":{\"name\":\"x\"}"));
        assert!(!String::from_utf8_lossy(&stored).contains("resourceVersion"));
    }

    #[test]
    fn wire_form_carries_the_revision_and_round_trips() {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
        let stored = encode_stored(&obj).expect("encodes");
        let wire: Value =
            serde_json::from_slice(&wire_bytes(&kv(stored.clone(), 42))).expect("json");
        assert_eq!(wire["metadata"]["resourceVersion"], "42");
        assert_eq!(wire["metadata"]["name"], "x");
        assert_eq!(wire["kind"], "ConfigMap");
        let decoded = decode(&kv(stored, 42)).expect("decodes");
        assert_eq!(decoded, wire);
    }

    #[test]
    fn wire_form_of_empty_metadata_is_valid_json() {
        let stored = encode_stored(&json!({"kind": "X"})).expect("encodes");
        let wire: Value = serde_json::from_slice(&wire_bytes(&kv(stored, 3))).expect("json");
        assert_eq!(
            wire,
            json!({"metadata": {"resourceVersion": "3"}, "kind": "X"})
        );
    }

    #[test]
    fn set_creates_intermediate_objects() {
        let mut v = json!({});
        set_str(&mut v, &["metadata", "labels", "a"], "b");
        assert_eq!(v, json!({"metadata": {"labels": {"a": "b"}}}));
        assert_eq!(
            remove(&mut v, &["metadata", "labels", "a"]),
            Some(json!("b"))
        );
    }
}
