//! Decoding through the typed `k8s-openapi` structs: the round trip drops
//! unknown fields (which we report) and fails on wrong JSON types (which we
//! word as upstream does, naming the field).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{DecodeError, Decoded};
use crate::validation::{child, index};

/// Why a typed round trip failed: serde's words and the field's path.
#[derive(Debug)]
pub(crate) struct TypeMismatch {
    pub message: String,
    pub path: String,
}

/// A typed round trip of one kind: the object (without apiVersion/kind) and
/// the apiVersion it came with in, its canonical form out.
pub(crate) type RoundTrip = fn(&Value, &str) -> Result<Value, TypeMismatch>;

/// [`round_trip`] as a [`RoundTrip`], for kinds served at one version.
pub(crate) fn typed_round_trip<T: DeserializeOwned + Serialize>(
    obj: &Value,
    _api_version: &str,
) -> Result<Value, TypeMismatch> {
    round_trip::<T>(obj)
}

/// Deserializes `obj` as `T` and serializes it back.
pub(crate) fn round_trip<T: DeserializeOwned + Serialize>(
    obj: &Value,
) -> Result<Value, TypeMismatch> {
    let typed = match T::deserialize(obj) {
        Ok(typed) => typed,
        Err(err) => return Err(locate::<T>(obj, &err.to_string())),
    };
    serde_json::to_value(typed).map_err(|err| TypeMismatch {
        message: err.to_string(),
        path: String::new(),
    })
}

/// Finds where `T` rejects `obj`, by parsing a rendering with one field per
/// line and mapping the error's line back to a path.
fn locate<T: DeserializeOwned>(obj: &Value, fallback: &str) -> TypeMismatch {
    let mut rendering = Rendering::default();
    rendering.value(obj, "");
    match serde_json::from_str::<T>(&rendering.text) {
        Err(err) if err.line() > 0 => TypeMismatch {
            message: strip_position(&err.to_string()),
            path: rendering
                .paths
                .get(err.line() - 1)
                .cloned()
                .unwrap_or_default(),
        },
        _ => TypeMismatch {
            message: fallback.to_string(),
            path: String::new(),
        },
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// JSON text with every field and list item on its own line, and the path
/// of what each line holds.
#[derive(Default)]
struct Rendering {
    text: String,
    paths: Vec<String>,
}

impl Rendering {
    fn line(&mut self, text: &str, path: &str) {
        self.text.push_str(text);
        self.text.push('\n');
        self.paths.push(path.to_string());
    }

    /// Renders `v` whose first line (already begun by the caller's prefix) is at `path`.
    fn value(&mut self, v: &Value, path: &str) {
        self.entry("", v, path, "");
    }

    fn entry(&mut self, prefix: &str, v: &Value, path: &str, suffix: &str) {
        match v {
            Value::Object(map) => {
                self.line(&format!("{prefix}{{"), path);
                self.members(map, path);
                self.line(&format!("}}{suffix}"), path);
            }
            Value::Array(items) => {
                self.line(&format!("{prefix}["), path);
                for (i, item) in items.iter().enumerate() {
                    let comma = if i + 1 < items.len() { "," } else { "" };
                    self.entry("", item, &index(path, i), comma);
                }
                self.line(&format!("]{suffix}"), path);
            }
            scalar => self.line(&format!("{prefix}{scalar}{suffix}"), path),
        }
    }

    fn members(&mut self, map: &Map<String, Value>, path: &str) {
        for (i, (key, v)) in map.iter().enumerate() {
            let comma = if i + 1 < map.len() { "," } else { "" };
            let prefix = format!("{}:", Value::from(key.as_str()));
            self.entry(&prefix, v, &child(path, key), comma);
        }
    }
}

/// Paths of fields of `input` that the round trip dropped. Keys whose input
/// value is `null` are not reported.
pub(crate) fn dropped_fields(input: &Value, output: &Value, path: &str, out: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(inp), Value::Object(outp)) => {
            for (key, value) in inp {
                if value.is_null() {
                    continue;
                }
                match outp.get(key) {
                    Some(kept) => dropped_fields(value, kept, &child(path, key), out),
                    None => out.push(child(path, key)),
                }
            }
        }
        (Value::Array(inp), Value::Array(outp)) => {
            for (i, (value, kept)) in inp.iter().zip(outp).enumerate() {
                dropped_fields(value, kept, &index(path, i), out);
            }
        }
        _ => {}
    }
}

/// Decodes a whole object of `kind` through `round_trip`, keeping its
/// apiVersion and kind.
pub(crate) fn decode_object(
    kind: &str,
    obj: Value,
    round_trip: RoundTrip,
) -> Result<Decoded, DecodeError> {
    let Value::Object(mut map) = obj else {
        return Err(DecodeError(format!("{kind} must be a JSON object")));
    };
    let api_version = map.remove("apiVersion");
    let given_kind = map.remove("kind");
    let input = Value::Object(map);
    let version = api_version
        .as_ref()
        .and_then(Value::as_str)
        .map(version_of)
        .unwrap_or("v1")
        .to_string();
    let given_version = api_version
        .as_ref()
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut object =
        round_trip(&input, given_version).map_err(|m| type_error(kind, &version, &m))?;
    let mut unknown_fields = Vec::new();
    dropped_fields(&input, &object, "", &mut unknown_fields);
    let out = crate::wire::as_object(&mut object);
    out.remove("apiVersion");
    out.remove("kind");
    let mut canonical = Map::new();
    if let Some(api_version) = api_version {
        canonical.insert("apiVersion".to_string(), api_version);
    }
    if let Some(given_kind) = given_kind {
        canonical.insert("kind".to_string(), given_kind);
    }
    canonical.append(out);
    Ok(Decoded {
        object: Value::Object(canonical),
        unknown_fields,
    })
}

fn version_of(api_version: &str) -> &str {
    api_version.rsplit('/').next().unwrap_or(api_version)
}

/// `Deployment in version "v1" cannot be handled as a Deployment: json:
/// cannot unmarshal string into Go struct field Deployment.spec.replicas of type int32`.
fn type_error(kind: &str, version: &str, mismatch: &TypeMismatch) -> DecodeError {
    let what = go_words(kind, mismatch).unwrap_or_else(|| {
        if mismatch.path.is_empty() {
            mismatch.message.clone()
        } else {
            format!("{} at {}", mismatch.message, mismatch.path)
        }
    });
    DecodeError(format!(
        "{kind} in version \"{version}\" cannot be handled as a {kind}: {what}"
    ))
}

/// Serde's `invalid type: string "x", expected i32` in Go's words.
fn go_words(kind: &str, mismatch: &TypeMismatch) -> Option<String> {
    let rest = mismatch
        .message
        .strip_prefix("invalid type: ")
        .or_else(|| mismatch.message.strip_prefix("invalid value: "))?;
    let (found, expected) = rest.split_once(", expected ")?;
    let found = match found.split_whitespace().next()? {
        "string" => "string",
        "integer" | "floating" => "number",
        "boolean" => "bool",
        "map" => "object",
        "sequence" => "array",
        other => other,
    };
    let expected = match expected {
        "i32" => "int32",
        "i64" => "int64",
        "f64" => "float64",
        "a string" => "string",
        "a boolean" => "bool",
        "a sequence" => "array",
        "a map" => "object",
        other => other,
    };
    Some(format!(
        "json: cannot unmarshal {found} into Go struct field {kind}.{} of type {expected}",
        mismatch.path
    ))
}
