//! What a request asks for: the path parsed as upstream's RequestInfo, and
//! the query parameters the handlers read.

use std::collections::HashMap;

use crate::error::{ApiError, ApiResult};

/// A request for a resource, subresource or collection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourcePath {
    /// "" for the core group.
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// Anything after the subresource (e.g. the path of a `proxy` request).
    pub rest: Vec<String>,
    /// The legacy `/watch/` path prefix was used.
    pub watch_prefix: bool,
}

/// Every kind of path the server answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiPath {
    Healthz(String),
    Version,
    Metrics,
    OpenApiV2,
    OpenApiV3Root,
    /// e.g. "apis/apps/v1" or "api/v1"
    OpenApiV3(String),
    /// `/api`
    CoreRoot,
    /// `/apis`
    GroupsRoot,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1`, `/apis/{group}/{version}`
    GroupVersion {
        group: String,
        version: String,
    },
    Resource(ResourcePath),
    Unknown,
}

/// Subresources of a namespace, which are not namespaced resources.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

pub fn parse_path(path: &str) -> ApiPath {
    let parts: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let p: Vec<&str> = parts.iter().map(String::as_str).collect();
    match p.as_slice() {
        ["healthz" | "livez" | "readyz", ..] => ApiPath::Healthz(p.join("/")),
        ["version"] => ApiPath::Version,
        ["metrics"] => ApiPath::Metrics,
        ["openapi", "v2"] => ApiPath::OpenApiV2,
        ["openapi", "v3"] => ApiPath::OpenApiV3Root,
        ["openapi", "v3", rest @ ..] => ApiPath::OpenApiV3(rest.join("/")),
        ["api"] => ApiPath::CoreRoot,
        ["apis"] => ApiPath::GroupsRoot,
        ["apis", group] => ApiPath::Group(group.to_string()),
        ["api", version] => ApiPath::GroupVersion {
            group: String::new(),
            version: version.to_string(),
        },
        ["apis", group, version] => ApiPath::GroupVersion {
            group: group.to_string(),
            version: version.to_string(),
        },
        ["api", version, rest @ ..] => resource_path("", version, rest),
        ["apis", group, version, rest @ ..] => resource_path(group, version, rest),
        _ => ApiPath::Unknown,
    }
}

fn resource_path(group: &str, version: &str, mut rest: &[&str]) -> ApiPath {
    let mut rp = ResourcePath {
        group: group.to_string(),
        version: version.to_string(),
        ..Default::default()
    };
    if rest.first() == Some(&"watch") {
        rp.watch_prefix = true;
        rest = &rest[1..];
    }
    if rest.first() == Some(&"namespaces")
        && rest.len() > 2
        && !NAMESPACE_SUBRESOURCES.contains(&rest[2])
    {
        rp.namespace = Some(rest[1].to_string());
        rest = &rest[2..];
    }
    let Some((resource, rest)) = rest.split_first() else {
        return ApiPath::Unknown;
    };
    rp.resource = resource.to_string();
    if let Some((name, rest)) = rest.split_first() {
        rp.name = Some(name.to_string());
        if let Some((sub, rest)) = rest.split_first() {
            rp.subresource = Some(sub.to_string());
            rp.rest = rest.iter().map(|s| s.to_string()).collect();
        }
    }
    ApiPath::Resource(rp)
}

/// The query parameters of a request.
#[derive(Clone, Debug, Default)]
pub struct Query(HashMap<String, String>);

impl Query {
    pub fn parse(query: Option<&str>) -> Self {
        Self(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn str_or_empty(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }

    pub fn flag(&self, key: &str) -> ApiResult<bool> {
        match self.get(key) {
            None | Some("") | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(other) => Err(ApiError::BadRequest(format!(
                "invalid boolean value {other:?} for parameter {key}"
            ))),
        }
    }

    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::BadRequest(format!("invalid integer value {v:?} for parameter {key}"))
            }),
        }
    }

    /// `dryRun=All` (the only value upstream accepts besides none).
    pub fn dry_run(&self) -> ApiResult<bool> {
        match self.get("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::BadRequest(format!(
                "Invalid dry run value: {other}: supported values are \"All\""
            ))),
        }
    }
}

/// How unknown fields in a request body are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    pub fn from_query(q: &Query) -> ApiResult<Self> {
        match q.get("fieldValidation") {
            None | Some("") | Some("Warn") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some("Strict") => Ok(Self::Strict),
            Some(other) => Err(ApiError::BadRequest(format!(
                "fieldValidation parameter unsupported: {other}. Supported values: Ignore, Warn, Strict"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(path: &str) -> ResourcePath {
        match parse_path(path) {
            ApiPath::Resource(r) => r,
            other => panic!("{path} parsed as {other:?}"),
        }
    }

    #[test]
    fn namespaced_object_paths_parse() {
        let r = rp("/apis/apps/v1/namespaces/ns1/deployments/web/scale");
        assert_eq!(r.group, "apps");
        assert_eq!(r.namespace.as_deref(), Some("ns1"));
        assert_eq!(r.resource, "deployments");
        assert_eq!(r.name.as_deref(), Some("web"));
        assert_eq!(r.subresource.as_deref(), Some("scale"));
    }

    #[test]
    fn namespace_subresources_are_not_namespaced_collections() {
        let r = rp("/api/v1/namespaces/ns1/status");
        assert_eq!(r.resource, "namespaces");
        assert_eq!(r.name.as_deref(), Some("ns1"));
        assert_eq!(r.subresource.as_deref(), Some("status"));
        assert_eq!(r.namespace, None);
        let r = rp("/api/v1/namespaces/ns1");
        assert_eq!(
            (r.resource.as_str(), r.name.as_deref()),
            ("namespaces", Some("ns1"))
        );
        let r = rp("/api/v1/namespaces/ns1/pods");
        assert_eq!(
            (r.namespace.as_deref(), r.resource.as_str()),
            (Some("ns1"), "pods")
        );
    }

    #[test]
    fn legacy_watch_prefix_and_discovery_paths_parse() {
        let r = rp("/api/v1/watch/namespaces/a/configmaps");
        assert!(r.watch_prefix);
        assert_eq!(r.resource, "configmaps");
        assert_eq!(parse_path("/apis"), ApiPath::GroupsRoot);
        assert_eq!(
            parse_path("/apis/apps/v1"),
            ApiPath::GroupVersion {
                group: "apps".into(),
                version: "v1".into()
            }
        );
        assert_eq!(
            parse_path("/openapi/v3/apis/apps/v1"),
            ApiPath::OpenApiV3("apis/apps/v1".into())
        );
        assert_eq!(parse_path("/nothing"), ApiPath::Unknown);
    }
}
