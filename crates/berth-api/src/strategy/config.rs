//! ConfigMaps and Secrets: key formats, a 1 MiB size limit, `immutable`,
//! Secret types and `stringData`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::core::v1 as core;
use serde_json::{Map, Value, json};

use super::kind::KindStrategy;
use crate::resource::Scope::Namespaced;
use crate::validation::{ErrorList, FIELD_IMMUTABLE, FieldError, config_map_key, key};
use crate::wire::{as_object, default_at, object_at, str_at};

/// Largest total size of a ConfigMap's or Secret's data.
pub const MAX_DATA_SIZE: usize = 1024 * 1024;
const IMMUTABLE_SET: &str = "field is immutable when `immutable` is set";

pub(super) static CONFIG_MAP: KindStrategy = KindStrategy {
    validate: validate_config_map,
    validate_update: validate_immutable_data,
    ..KindStrategy::typed::<core::ConfigMap>("ConfigMap", Namespaced)
};

pub(super) static SECRET: KindStrategy = KindStrategy {
    default: default_secret,
    validate: validate_secret,
    validate_update: validate_secret_update,
    fields: &["type"],
    field_value: secret_type,
    ..KindStrategy::typed::<core::Secret>("Secret", Namespaced)
};

fn entries<'a>(obj: &'a Value, field: &str) -> impl Iterator<Item = (&'a String, &'a Value)> {
    obj.get(field)
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(Map::iter)
}

fn validate_keys(obj: &Value, field: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for (name, _) in entries(obj, field) {
        let at = key(field, name);
        errs.extend(
            config_map_key(name)
                .iter()
                .map(|m| FieldError::invalid(&at, name.as_str(), m)),
        );
    }
    errs
}

fn validate_config_map(obj: &Value) -> ErrorList {
    let mut errs = validate_keys(obj, "data");
    errs.extend(validate_keys(obj, "binaryData"));
    let mut size = 0;
    for (name, _) in entries(obj, "binaryData") {
        if obj.get("data").and_then(|d| d.get(name)).is_some() {
            errs.push(FieldError::invalid(
                &key("binaryData", name),
                name.as_str(),
                "duplicate of key present in data",
            ));
        }
    }
    for field in ["data", "binaryData"] {
        size += entries(obj, field)
            .map(|(_, v)| v.as_str().map_or(0, str::len))
            .sum::<usize>();
    }
    if size > MAX_DATA_SIZE {
        errs.push(FieldError::too_long("", MAX_DATA_SIZE));
    }
    errs
}

/// Once `immutable` is true, neither the data nor the flag may change.
fn validate_immutable_data(new: &Value, old: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    if old.get("immutable").and_then(Value::as_bool) != Some(true) {
        return errs;
    }
    if new.get("immutable").and_then(Value::as_bool) != Some(true) {
        errs.push(FieldError::forbidden("immutable", IMMUTABLE_SET));
    }
    for field in ["data", "binaryData"] {
        if empty_as_null(new.get(field)) != empty_as_null(old.get(field)) {
            errs.push(FieldError::forbidden(field, IMMUTABLE_SET));
        }
    }
    errs
}

fn empty_as_null(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null() && v.as_object().is_none_or(|m| !m.is_empty()))
}

/// `type: Opaque`, and `stringData` folded into `data` as upstream's
/// conversion does (stringData wins).
fn default_secret(obj: &mut Value) {
    default_at(obj, &["type"], json!("Opaque"));
    let Some(Value::Object(string_data)) = as_object(obj).remove("stringData") else {
        return;
    };
    let data = object_at(obj, &["data"]);
    for (name, value) in string_data {
        let text = value.as_str().unwrap_or_default();
        data.insert(name, Value::String(STANDARD.encode(text)));
    }
}

/// Keys each Secret type must have in `data`.
fn required_keys(secret_type: &str) -> &'static [&'static str] {
    match secret_type {
        "kubernetes.io/dockercfg" => &[".dockercfg"],
        "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
        "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
        "kubernetes.io/tls" => &["tls.crt", "tls.key"],
        _ => &[],
    }
}

fn validate_secret(obj: &Value) -> ErrorList {
    let mut errs = validate_keys(obj, "data");
    let secret_type = str_at(obj, &["type"]);
    let data = obj.get("data");
    for name in required_keys(secret_type) {
        if data.and_then(|d| d.get(*name)).is_none() {
            errs.push(FieldError::required(&key("data", name), ""));
        }
    }
    if secret_type == "kubernetes.io/service-account-token"
        && str_at(
            obj,
            &[
                "metadata",
                "annotations",
                "kubernetes.io/service-account.name",
            ],
        )
        .is_empty()
    {
        errs.push(FieldError::required(
            "metadata.annotations[kubernetes.io/service-account.name]",
            "",
        ));
    }
    let size: usize = entries(obj, "data").map(|(_, v)| decoded_len(v)).sum();
    if size > MAX_DATA_SIZE {
        errs.push(FieldError::too_long("data", MAX_DATA_SIZE));
    }
    errs
}

fn decoded_len(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.len() / 4 * 3)
}

fn validate_secret_update(new: &Value, old: &Value) -> ErrorList {
    let mut errs = validate_immutable_data(new, old);
    let (new_type, old_type) = (str_at(new, &["type"]), str_at(old, &["type"]));
    if new_type != old_type {
        errs.push(FieldError::invalid("type", new_type, FIELD_IMMUTABLE));
    }
    errs
}

fn secret_type(obj: &Value, field: &str) -> Option<String> {
    (field == "type").then(|| str_at(obj, &["type"]).to_string())
}
