//! The controllers' error type: what failed and on which object.

/// A reconcile or start-up failure. Reconcilers return it; the runtime's
/// error policy logs it and requeues the object.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API call failed.
    #[error("{action} {object}: {source}")]
    Api {
        action: &'static str,
        object: String,
        #[source]
        source: kube::Error,
    },
    /// An object carried a selector that does not parse.
    #[error("{object}: invalid selector: {message}")]
    Selector { object: String, message: String },
    /// An object is not as the controller requires (missing name, bad field).
    #[error("{object}: {message}")]
    Invalid { object: String, message: String },
    /// Leader election failed or leadership was lost.
    #[error("leader election: {0}")]
    Leadership(String),
    /// Options were not valid.
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// Wraps a kube-rs error with what was being done to which object.
    pub fn api(action: &'static str, object: impl Into<String>, source: kube::Error) -> Self {
        Self::Api {
            action,
            object: object.into(),
            source,
        }
    }

    /// True for 409 Conflict (stale resourceVersion): retry soon.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Api { source, .. } if status_code(source) == Some(409))
    }
}

/// The HTTP status of an API error response, if it was one.
pub fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// True when the error is 404 Not Found.
pub fn is_not_found(e: &kube::Error) -> bool {
    status_code(e) == Some(404)
}

/// True when the error is 409 AlreadyExists/Conflict.
pub fn is_conflict(e: &kube::Error) -> bool {
    status_code(e) == Some(409)
}
