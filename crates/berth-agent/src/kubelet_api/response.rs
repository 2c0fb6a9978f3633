//! Answers: the body type, plain text, and errors as a `Status` object
//! (the API server relays the kubelet's answer, and kubectl prints a
//! Status's message as `Error from server (Reason): message`).

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};

use super::KubeletApiError;

/// Every answer's body.
pub type Body = BoxBody<Bytes, hyper::Error>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A `text/plain` answer.
pub fn text(status: StatusCode, text: &str) -> Response<Body> {
    let mut resp = Response::new(full(text.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// The HTTP code and Status reason of an error.
fn classify(e: &KubeletApiError) -> (StatusCode, &'static str) {
    match e {
        KubeletApiError::NotFound(_) => (StatusCode::NOT_FOUND, "NotFound"),
        KubeletApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "BadRequest"),
        KubeletApiError::MethodNotAllowed(_) => {
            (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed")
        }
        KubeletApiError::Runtime(c) if c.is_not_found() => (StatusCode::NOT_FOUND, "NotFound"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
    }
}

/// An error as a `Status` object with the matching HTTP code.
pub fn error(e: &KubeletApiError) -> Response<Body> {
    let (code, reason) = classify(e);
    let status = serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": e.to_string(), "reason": reason,
        "code": code.as_u16(),
    });
    let mut resp = Response::new(full(status.to_string()));
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_become_status_objects_with_their_codes() {
        let resp = error(&KubeletApiError::BadRequest(
            "previous terminated container".into(),
        ));
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let missing = KubeletApiError::Runtime(crate::cri::CriError::NotFound {
            op: "ContainerStatus",
            id: "x".into(),
        });
        assert_eq!(error(&missing).status(), StatusCode::NOT_FOUND);
    }
}
