//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`),
//! transcoded to the JSON wire form every handler works on.
//!
//! A body is the 4-byte magic `k8s\0` and a `runtime.Unknown` envelope
//! (typeMeta, raw); `raw` is the object's message. Messages are read with
//! the generated field table in [`schema_table`]; the few types whose JSON
//! form is not an object (Quantity, IntOrString, Time, MicroTime, Duration,
//! RawExtension, JSON, FieldsV1) are converted by hand, as upstream's
//! custom marshalers do.

mod schema_table;
mod wire;

use base64::Engine;
use serde_json::{Map, Value};

use schema_table::{Field, Kind};
use wire::{Reader, WireValue};

/// The content type of Kubernetes protobuf.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
const MAGIC: &[u8] = b"k8s\x00";

#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    #[error("object not in protobuf envelope (missing k8s magic)")]
    NoMagic,
    #[error("malformed protobuf: {0}")]
    Wire(String),
    #[error("no protobuf schema for {0}")]
    UnknownKind(String),
}

/// Transcodes a protobuf request body into a JSON object.
pub fn to_json(body: &[u8]) -> Result<Value, ProtobufError> {
    let envelope = body.strip_prefix(MAGIC).ok_or(ProtobufError::NoMagic)?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for item in Reader::new(envelope) {
        match item? {
            (1, WireValue::Bytes(tm)) => {
                for f in Reader::new(tm) {
                    match f? {
                        (1, WireValue::Bytes(b)) => {
                            api_version = String::from_utf8_lossy(b).into_owned()
                        }
                        (2, WireValue::Bytes(b)) => kind = String::from_utf8_lossy(b).into_owned(),
                        _ => {}
                    }
                }
            }
            (2, WireValue::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    let (group, version) = api_version
        .split_once('/')
        .unwrap_or(("", api_version.as_str()));
    let message = schema_table::kind_message(group, version, &kind)
        .ok_or_else(|| ProtobufError::UnknownKind(format!("{api_version}, Kind={kind}")))?;
    let mut obj = message_to_json(message, raw)?;
    if let Value::Object(m) = &mut obj {
        m.insert("apiVersion".into(), Value::String(api_version));
        m.insert("kind".into(), Value::String(kind));
    }
    Ok(obj)
}

fn message_to_json(message: &str, bytes: &[u8]) -> Result<Value, ProtobufError> {
    if let Some(v) = special(message, bytes)? {
        return Ok(v);
    }
    let fields = schema_table::fields(message)
        .ok_or_else(|| ProtobufError::UnknownKind(message.to_string()))?;
    let mut out = Map::new();
    for item in Reader::new(bytes) {
        let (tag, value) = item?;
        let Some(field) = fields.iter().find(|f| f.tag == tag) else {
            continue;
        };
        add_field(&mut out, field, value)?;
    }
    Ok(Value::Object(out))
}

fn add_field(
    out: &mut Map<String, Value>,
    field: &Field,
    value: WireValue<'_>,
) -> Result<(), ProtobufError> {
    if field.inline {
        // A Go embedded struct: its fields belong to the parent object.
        if let Value::Object(inner) = scalar(field.kind, value)? {
            out.extend(inner);
        }
        return Ok(());
    }
    match field.kind {
        Kind::Map(key_kind, value_kind) => {
            let WireValue::Bytes(entry) = value else {
                return Err(ProtobufError::Wire(format!(
                    "map field {} is not length-delimited",
                    field.json
                )));
            };
            let (mut k, mut v) = (Value::String(String::new()), Value::Null);
            for item in Reader::new(entry) {
                match item? {
                    (1, w) => k = scalar(*key_kind, w)?,
                    (2, w) => v = scalar(*value_kind, w)?,
                    _ => {}
                }
            }
            let key = match k {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let map = out
                .entry(field.json.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = map {
                m.insert(
                    key,
                    if v.is_null() {
                        default_of(*value_kind)
                    } else {
                        v
                    },
                );
            }
        }
        kind if field.repeated => {
            let list = out
                .entry(field.json.to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(items) = list else {
                return Ok(());
            };
            match (kind, value) {
                // Packed repeated scalars.
                (Kind::Int32 | Kind::Int64, WireValue::Bytes(b)) => {
                    for v in wire::packed_varints(b)? {
                        items.push(Value::from(v as i64));
                    }
                }
                (kind, value) => items.push(scalar(kind, value)?),
            }
        }
        kind => {
            let v = scalar(kind, value)?;
            if !is_omitted(&v) {
                out.insert(field.json.to_string(), v);
            }
        }
    }
    Ok(())
}

/// Go's `omitempty` leaves out empty strings and false; gogo-protobuf writes
/// them for non-pointer fields. Zero numbers are kept: pointer fields such
/// as `replicas: 0` mean something.
fn is_omitted(v: &Value) -> bool {
    matches!(v, Value::String(s) if s.is_empty()) || matches!(v, Value::Bool(false))
}

fn default_of(kind: Kind) -> Value {
    match kind {
        Kind::String | Kind::Bytes => Value::String(String::new()),
        Kind::Message(_) | Kind::Map(..) => Value::Object(Map::new()),
        Kind::Bool => Value::Bool(false),
        _ => Value::from(0),
    }
}

fn scalar(kind: Kind, value: WireValue<'_>) -> Result<Value, ProtobufError> {
    let bad = || ProtobufError::Wire(format!("wire type does not fit {kind:?}"));
    Ok(match (kind, value) {
        (Kind::String, WireValue::Bytes(b)) => {
            Value::String(String::from_utf8_lossy(b).into_owned())
        }
        (Kind::Bytes, WireValue::Bytes(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Kind::Bool, WireValue::Varint(v)) => Value::Bool(v != 0),
        (Kind::Int32, WireValue::Varint(v)) => Value::from(v as i64 as i32),
        (Kind::Int64, WireValue::Varint(v)) => Value::from(v as i64),
        (Kind::Double, WireValue::Fixed64(v)) => serde_json::Number::from_f64(f64::from_bits(v))
            .map(Value::Number)
            .unwrap_or(Value::Null),
        (Kind::Message(m), WireValue::Bytes(b)) => message_to_json(m, b)?,
        _ => return Err(bad()),
    })
}

/// Types with a custom JSON form.
fn special(message: &str, bytes: &[u8]) -> Result<Option<Value>, ProtobufError> {
    let short = message.rsplit('.').next().unwrap_or(message);
    let pkg_ends = |suffix: &str| message.ends_with(suffix);
    let value = match short {
        "Quantity" if pkg_ends("api.resource.Quantity") => Value::String(string_field(bytes, 1)?),
        "IntOrString" => {
            let mut t = 0;
            let (mut i, mut s) = (0i64, String::new());
            for item in Reader::new(bytes) {
                match item? {
                    (1, WireValue::Varint(v)) => t = v,
                    (2, WireValue::Varint(v)) => i = v as i64 as i32 as i64,
                    (3, WireValue::Bytes(b)) => s = String::from_utf8_lossy(b).into_owned(),
                    _ => {}
                }
            }
            if t == 1 {
                Value::String(s)
            } else {
                Value::from(i)
            }
        }
        "Time" | "MicroTime" if pkg_ends("meta.v1.Time") || pkg_ends("meta.v1.MicroTime") => {
            let (mut secs, mut nanos) = (0i64, 0i32);
            for item in Reader::new(bytes) {
                match item? {
                    (1, WireValue::Varint(v)) => secs = v as i64,
                    (2, WireValue::Varint(v)) => nanos = v as i64 as i32,
                    _ => {}
                }
            }
            let t = jiff::Timestamp::new(secs, nanos)
                .map_err(|e| ProtobufError::Wire(e.to_string()))?;
            let fmt = if short == "Time" {
                "%Y-%m-%dT%H:%M:%SZ"
            } else {
                "%Y-%m-%dT%H:%M:%S.%6fZ"
            };
            Value::String(t.strftime(fmt).to_string())
        }
        "Duration" if pkg_ends("meta.v1.Duration") => {
            let mut ns = 0i64;
            for item in Reader::new(bytes) {
                if let (1, WireValue::Varint(v)) = item? {
                    ns = v as i64;
                }
            }
            Value::String(format!("{}s", ns as f64 / 1e9))
        }
        "RawExtension" | "JSON" | "FieldsV1" => {
            let raw = bytes_field(bytes, 1)?;
            if raw.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&raw)
                    .map_err(|e| ProtobufError::Wire(format!("embedded JSON: {e}")))?
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(value))
}

fn bytes_field(bytes: &[u8], tag: u32) -> Result<Vec<u8>, ProtobufError> {
    for item in Reader::new(bytes) {
        if let (t, WireValue::Bytes(b)) = item?
            && t == tag
        {
            return Ok(b.to_vec());
        }
    }
    Ok(Vec::new())
}

fn string_field(bytes: &[u8], tag: u32) -> Result<String, ProtobufError> {
    Ok(String::from_utf8_lossy(&bytes_field(bytes, tag)?).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len_field(tag: u32, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![((tag << 3) | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let type_meta = [
            len_field(1, api_version.as_bytes()),
            len_field(2, kind.as_bytes()),
        ]
        .concat();
        let unknown = [len_field(1, &type_meta), len_field(2, raw)].concat();
        [MAGIC.to_vec(), unknown].concat()
    }

    #[test]
    fn a_config_map_transcodes_to_its_json_form() {
        let meta = [len_field(1, b"cfg"), len_field(3, b"")].concat();
        let entry = [len_field(1, b"k"), len_field(2, b"v")].concat();
        let bin = [len_field(1, b"b"), len_field(2, &[0xff, 0x00])].concat();
        let raw = [
            len_field(1, &meta),
            len_field(2, &entry),
            len_field(3, &bin),
        ]
        .concat();
        let json = to_json(&envelope("v1", "ConfigMap", &raw)).expect("transcodes");
        assert_eq!(
            json,
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                "data": {"k": "v"}, "binaryData": {"b": "/wA="}})
        );
    }

    #[test]
    fn embedded_structs_are_merged_into_their_parent() {
        // Volume{name: "v", volumeSource (inline): {emptyDir: {}}}
        let empty_dir = len_field(2, b"");
        let raw = [len_field(1, b"v"), len_field(2, &empty_dir)].concat();
        let volume = message_to_json("k8s.io.api.core.v1.Volume", &raw).expect("volume");
        assert_eq!(volume, serde_json::json!({"name": "v", "emptyDir": {}}));
    }

    #[test]
    fn a_body_without_the_magic_is_refused() {
        assert!(matches!(to_json(b"{}"), Err(ProtobufError::NoMagic)));
    }
}
