//! API errors and their one translation into Kubernetes `Status` responses.
//!
//! Every failure a handler can meet becomes an [`ApiError`]; only
//! [`ApiError::to_status`] decides the HTTP code, `reason` and message, so the
//! wire format of errors lives in exactly one place.

use berth_api::FieldError;
use berth_store::StoreError;
use serde_json::{Value, json};

/// Names the object an error is about, as upstream's `StatusDetails`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// e.g. "apps"
    pub group: String,
    /// The resource (plural), e.g. "deployments".
    pub resource: String,
    pub name: String,
}

impl Target {
    pub fn new(group: &str, resource: &str, name: &str) -> Self {
        Self {
            group: group.to_string(),
            resource: resource.to_string(),
            name: name.to_string(),
        }
    }

    /// "deployments.apps" or "configmaps": how upstream names a resource in messages.
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }
}

/// Why a request failed, with what the client needs to know.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unauthorized")]
    Unauthorized,
    #[error("forbidden: {message}")]
    Forbidden { target: Target, message: String },
    #[error("not found: {0:?}")]
    NotFound(Target),
    #[error("not found: {0}")]
    PathNotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed(String),
    #[error("already exists: {0:?}")]
    AlreadyExists(Target),
    #[error("conflict: {message}")]
    Conflict { target: Target, message: String },
    #[error("expired: {0}")]
    Expired(String),
    #[error("request entity too large")]
    TooLarge(usize),
    #[error("unsupported media type {0}")]
    UnsupportedMediaType(String),
    #[error("not acceptable")]
    NotAcceptable(String),
    #[error("invalid: {} errors", errors.len())]
    Invalid {
        kind: String,
        target: Target,
        errors: Vec<FieldError>,
    },
    #[error("too many requests")]
    TooManyRequests,
    #[error("timeout: {0}")]
    Timeout(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        ApiError::Internal(format!("encoding: {e}"))
    }
}

impl ApiError {
    /// Translates a store error for an operation on `target`.
    pub fn from_store(err: StoreError, target: &Target) -> Self {
        match err {
            StoreError::AlreadyExists { .. } => ApiError::AlreadyExists(target.clone()),
            StoreError::NotFound { .. } => ApiError::NotFound(target.clone()),
            StoreError::Conflict { .. } => ApiError::Conflict {
                target: target.clone(),
                message: "the object has been modified; please apply your changes to the latest version and try again".into(),
            },
            StoreError::Compacted {
                requested,
                compacted,
            } => ApiError::Expired(format!(
                "too old resource version: {requested} ({compacted})"
            )),
            StoreError::FutureRevision { requested, current } => ApiError::Timeout(format!(
                "Too large resource version: {requested}, current: {current}"
            )),
            StoreError::Overloaded => ApiError::TooManyRequests,
            other => ApiError::Internal(other.to_string()),
        }
    }

    pub fn code(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized => 401,
            ApiError::Forbidden { .. } => 403,
            ApiError::NotFound(_) | ApiError::PathNotFound(_) => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::NotAcceptable(_) => 406,
            ApiError::AlreadyExists(_) | ApiError::Conflict { .. } => 409,
            ApiError::Expired(_) => 410,
            ApiError::TooLarge(_) => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::Invalid { .. } => 422,
            ApiError::TooManyRequests => 429,
            ApiError::Internal(_) => 500,
            ApiError::Timeout(_) => 504,
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::NotFound(_) | ApiError::PathNotFound(_) => "NotFound",
            ApiError::MethodNotAllowed(_) => "MethodNotAllowed",
            ApiError::NotAcceptable(_) => "NotAcceptable",
            ApiError::AlreadyExists(_) => "AlreadyExists",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::Expired(_) => "Expired",
            ApiError::TooLarge(_) => "RequestEntityTooLarge",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::Invalid { .. } => "Invalid",
            ApiError::TooManyRequests => "TooManyRequests",
            ApiError::Internal(_) => "InternalError",
            ApiError::Timeout(_) => "Timeout",
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Expired(m)
            | ApiError::PathNotFound(m)
            | ApiError::NotAcceptable(m)
            | ApiError::Timeout(m) => m.clone(),
            ApiError::Unauthorized => "Unauthorized".into(),
            ApiError::Forbidden { target, message } => format!(
                "{} \"{}\" is forbidden: {message}",
                target.qualified_resource(),
                target.name
            ),
            ApiError::NotFound(t) => {
                format!("{} \"{}\" not found", t.qualified_resource(), t.name)
            }
            ApiError::MethodNotAllowed(m) => {
                format!("the server does not allow this method on the requested resource{m}")
            }
            ApiError::AlreadyExists(t) => {
                format!("{} \"{}\" already exists", t.qualified_resource(), t.name)
            }
            ApiError::Conflict { target, message } => format!(
                "Operation cannot be fulfilled on {} \"{}\": {message}",
                target.qualified_resource(),
                target.name
            ),
            ApiError::TooLarge(limit) => {
                format!("Request entity too large: limit is {limit}")
            }
            ApiError::UnsupportedMediaType(t) => {
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {t})"
                )
            }
            ApiError::Invalid {
                kind,
                target,
                errors,
            } => invalid_message(kind, target, errors),
            ApiError::TooManyRequests => "Too many requests, please try again later.".into(),
            ApiError::Internal(m) => format!("Internal error occurred: {m}"),
        }
    }

    fn details(&self) -> Option<Value> {
        let (target, kind_override) = match self {
            ApiError::NotFound(t) | ApiError::AlreadyExists(t) => (t, None),
            ApiError::Conflict { target, .. } | ApiError::Forbidden { target, .. } => {
                (target, None)
            }
            ApiError::Invalid { kind, target, .. } => (target, Some(kind.clone())),
            ApiError::TooManyRequests => return Some(json!({"retryAfterSeconds": 1})),
            _ => return None,
        };
        let mut d = json!({
            "name": target.name,
            "group": target.group,
            "kind": kind_override.unwrap_or_else(|| target.resource.clone()),
        });
        if let ApiError::Invalid { errors, .. } = self {
            d["causes"] = errors
                .iter()
                .map(|e| {
                    json!({"reason": e.kind.reason(), "message": e.message(), "field": e.field})
                })
                .collect();
        }
        strip_empty_strings(&mut d);
        Some(d)
    }

    /// The `Status` object upstream would answer with.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message(),
            "reason": self.reason(),
            "code": self.code(),
        });
        if let Some(d) = self.details() {
            s["details"] = d;
        }
        s
    }
}

fn invalid_message(kind: &str, target: &Target, errors: &[FieldError]) -> String {
    let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let body = if list.len() == 1 {
        list[0].clone()
    } else {
        format!("[{}]", list.join(", "))
    };
    let qualified = if target.group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{}", target.group)
    };
    format!("{qualified} \"{}\" is invalid: {body}", target.name)
}

fn strip_empty_strings(v: &mut Value) {
    if let Value::Object(m) = v {
        m.retain(|_, x| !matches!(x, Value::String(s) if s.is_empty()));
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
