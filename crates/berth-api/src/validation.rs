//! Field errors as upstream reports them, and the validators shared by
//! every resource (names, labels, annotations, object metadata).
//!
//! Every validator returns all the errors it finds, never just the first.

mod meta;
mod names;
mod path;

use std::fmt;

use serde_json::Value;

pub use meta::{
    NameValidator, validate_annotations, validate_finalizers, validate_label_selector,
    validate_labels, validate_object_meta, validate_object_meta_update, validate_owner_references,
};
pub use names::{
    config_map_key, dns1035_label, dns1123_label, dns1123_subdomain, env_var_name,
    is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_qualified_name,
    is_valid_label_value, label_value, name_is_dns_label, name_is_dns_subdomain,
    name_is_dns1035_label, path_segment_name, port_name, qualified_name,
};
pub use path::{child, index, key};

/// Largest total size of an object's annotations, keys plus values (256 KiB).
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// Upstream's detail for a changed immutable field.
pub const FIELD_IMMUTABLE: &str = "field is immutable";

/// The kind of a field error, as upstream's `field.ErrorType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldErrorType {
    NotFound,
    Required,
    Duplicate,
    Invalid,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
    Internal,
    TypeInvalid,
}

impl FieldErrorType {
    /// The `StatusCause.reason`, e.g. "FieldValueInvalid".
    pub fn reason(self) -> &'static str {
        match self {
            FieldErrorType::NotFound => "FieldValueNotFound",
            FieldErrorType::Required => "FieldValueRequired",
            FieldErrorType::Duplicate => "FieldValueDuplicate",
            FieldErrorType::Invalid => "FieldValueInvalid",
            FieldErrorType::NotSupported => "FieldValueNotSupported",
            FieldErrorType::Forbidden => "FieldValueForbidden",
            FieldErrorType::TooLong => "FieldValueTooLong",
            FieldErrorType::TooMany => "FieldValueTooMany",
            FieldErrorType::Internal => "InternalError",
            FieldErrorType::TypeInvalid => "FieldValueTypeInvalid",
        }
    }

    /// The words upstream prints, e.g. "Invalid value", "Required value".
    pub fn description(self) -> &'static str {
        match self {
            FieldErrorType::NotFound => "Not found",
            FieldErrorType::Required => "Required value",
            FieldErrorType::Duplicate => "Duplicate value",
            FieldErrorType::Invalid | FieldErrorType::TypeInvalid => "Invalid value",
            FieldErrorType::NotSupported => "Unsupported value",
            FieldErrorType::Forbidden => "Forbidden",
            FieldErrorType::TooLong => "Too long",
            FieldErrorType::TooMany => "Too many",
            FieldErrorType::Internal => "Internal error",
        }
    }

    /// Whether upstream prints the bad value for this kind of error.
    fn shows_value(self) -> bool {
        !matches!(
            self,
            FieldErrorType::Required
                | FieldErrorType::Forbidden
                | FieldErrorType::TooLong
                | FieldErrorType::Internal
        )
    }
}

/// One bad field: `spec.replicas: Invalid value: -1: must be greater than or equal to 0`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    pub kind: FieldErrorType,
    /// The field path, e.g. `spec.template.spec.containers[0].image`.
    pub field: String,
    /// The offending value, when upstream prints one.
    pub value: Option<Value>,
    pub detail: String,
}

impl FieldError {
    fn new(kind: FieldErrorType, field: &str, value: Option<Value>, detail: &str) -> Self {
        FieldError {
            kind,
            field: field.to_string(),
            value,
            detail: detail.to_string(),
        }
    }

    /// `Invalid value: <value>: <detail>`.
    pub fn invalid(field: &str, value: impl Into<Value>, detail: &str) -> Self {
        Self::new(FieldErrorType::Invalid, field, Some(value.into()), detail)
    }

    /// `Required value[: <detail>]`.
    pub fn required(field: &str, detail: &str) -> Self {
        Self::new(FieldErrorType::Required, field, None, detail)
    }

    /// `Forbidden: <detail>`.
    pub fn forbidden(field: &str, detail: &str) -> Self {
        Self::new(FieldErrorType::Forbidden, field, None, detail)
    }

    /// `Duplicate value: <value>`.
    pub fn duplicate(field: &str, value: impl Into<Value>) -> Self {
        Self::new(FieldErrorType::Duplicate, field, Some(value.into()), "")
    }

    /// `Not found: <value>`.
    pub fn not_found(field: &str, value: impl Into<Value>) -> Self {
        Self::new(FieldErrorType::NotFound, field, Some(value.into()), "")
    }

    /// `Unsupported value: <value>: supported values: "a", "b"`.
    pub fn not_supported(field: &str, value: impl Into<Value>, supported: &[&str]) -> Self {
        let quoted: Vec<String> = supported.iter().map(|s| quote(s)).collect();
        let detail = if quoted.is_empty() {
            String::new()
        } else {
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(
            FieldErrorType::NotSupported,
            field,
            Some(value.into()),
            &detail,
        )
    }

    /// `Too long: may not be more than <max> bytes`.
    pub fn too_long(field: &str, max: usize) -> Self {
        let unit = if max == 1 { "byte" } else { "bytes" };
        let detail = format!("may not be more than {max} {unit}");
        Self::new(FieldErrorType::TooLong, field, None, &detail)
    }

    /// `Too many: <actual>: must have at most <max> items`.
    pub fn too_many(field: &str, actual: usize, max: usize) -> Self {
        let detail = format!("must have at most {max} items");
        Self::new(
            FieldErrorType::TooMany,
            field,
            Some(Value::from(actual)),
            &detail,
        )
    }

    /// `Internal error: <detail>`.
    pub fn internal(field: &str, detail: &str) -> Self {
        Self::new(FieldErrorType::Internal, field, None, detail)
    }

    /// `Invalid value: <value>: <detail>`, for a value of the wrong type.
    pub fn type_invalid(field: &str, value: impl Into<Value>, detail: &str) -> Self {
        Self::new(
            FieldErrorType::TypeInvalid,
            field,
            Some(value.into()),
            detail,
        )
    }

    /// The message without the field path, as in `StatusCause.message`:
    /// `Invalid value: -1: must be greater than or equal to 0`.
    pub fn message(&self) -> String {
        let mut message = self.kind.description().to_string();
        if let (true, Some(value)) = (self.kind.shows_value(), &self.value) {
            message.push_str(": ");
            message.push_str(&format_value(value));
        }
        if !self.detail.is_empty() {
            message.push_str(": ");
            message.push_str(&self.detail);
        }
        message
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}

/// Every error found in one object.
pub type ErrorList = Vec<FieldError>;

/// A bad value as upstream prints it: strings quoted, numbers and booleans bare.
fn format_value(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        other => other.to_string(),
    }
}

/// A string in double quotes, escaped (Go's `%q`).
fn quote(s: &str) -> String {
    Value::from(s).to_string()
}

#[cfg(test)]
mod tests;
