//! Reviews: authentication.k8s.io and authorization.k8s.io objects that are
//! answered, never stored (`kubectl auth whoami`, `kubectl auth can-i`).
//!
//! Until RBAC lands every authenticated user is allowed everything, so
//! access reviews answer `allowed: true` and rules reviews list `*`.

use serde_json::{Value, json};

use crate::authn::UserInfo;
use crate::error::{ApiError, ApiResult};
use crate::state::ApiState;

/// Whether a resource is a review this module answers.
pub fn is_review(group: &str) -> bool {
    group == "authorization.k8s.io" || group == "authentication.k8s.io"
}

fn user_json(u: &UserInfo) -> Value {
    json!({"username": u.name, "uid": u.uid, "groups": u.groups})
}

/// Answers a review `body` of `kind` for `user`: the body with its status.
pub fn answer(
    state: &ApiState,
    kind: &str,
    user: Option<&UserInfo>,
    mut body: Value,
) -> ApiResult<Value> {
    let status = match kind {
        "SelfSubjectAccessReview" | "SubjectAccessReview" | "LocalSubjectAccessReview" => {
            json!({"allowed": true, "reason": "every authenticated user is allowed (no authorizer configured)"})
        }
        "SelfSubjectRulesReview" => json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
        }),
        "SelfSubjectReview" => json!({"userInfo": user.map(user_json).unwrap_or(json!({}))}),
        "TokenReview" => {
            let token = body
                .pointer("/spec/token")
                .and_then(Value::as_str)
                .unwrap_or("");
            match state.tokens.as_ref().and_then(|t| t.authenticate(token)) {
                Some(u) => json!({"authenticated": true, "user": user_json(&u)}),
                None => json!({"authenticated": false, "error": "invalid bearer token"}),
            }
        }
        other => return Err(ApiError::MethodNotAllowed(format!(" (no review {other})"))),
    };
    body["status"] = status;
    if body.get("metadata").is_none() {
        body["metadata"] = json!({"creationTimestamp": null});
    }
    Ok(body)
}
