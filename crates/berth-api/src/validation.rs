//! Field errors as upstream reports them, and the validators shared by
//! every resource (names, labels, annotations, object metadata).
//!
//! Every validator returns all the errors it finds, never just the first.

use std::fmt;

use serde_json::Value;

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
        todo!("helper: fill in")
    }

    /// The words upstream prints, e.g. "Invalid value", "Required value".
    pub fn description(self) -> &'static str {
        todo!("helper: fill in")
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
    /// The message without the field path, as in `StatusCause.message`:
    /// `Invalid value: -1: must be greater than or equal to 0`.
    pub fn message(&self) -> String {
        todo!("helper: fill in")
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}

/// Every error found in one object.
pub type ErrorList = Vec<FieldError>;
