//! The generic registry: create, get, list, watch, update, patch and delete
//! for any resource, with per-resource behaviour from its [`Strategy`]
//! (as upstream's generic store plus per-resource strategies).
//!
//! [`Strategy`]: berth_api::Strategy

mod admission;
mod create;
mod delete;
mod eviction;
mod list;
mod subresource;
mod update;
mod watch;

use std::sync::Arc;

use berth_store::KeyValue;
use serde_json::Value;

pub use admission::service_holdings as admission_holdings;
pub use create::create;
pub use delete::{delete, delete_collection};
pub use list::{get, list};
pub use subresource::{get_subresource, write_subresource};
pub use update::{Part, patch, update};
pub use watch::{WatchReceiver, watch};

use crate::error::{ApiError, ApiResult, Target};
use crate::object;
use crate::request::{FieldValidation, Query, ResourcePath};
use crate::resources::Resource;
use crate::state::ApiState;

/// One request against one resource: everything a handler needs.
pub struct Ctx<'a> {
    pub state: &'a Arc<ApiState>,
    pub res: Arc<Resource>,
    pub path: &'a ResourcePath,
    pub query: &'a Query,
}

/// What a write handler produced: the object's wire bytes and warnings.
pub struct Written {
    pub status: u16,
    pub body: Vec<u8>,
    pub warnings: Vec<String>,
}

impl<'a> Ctx<'a> {
    pub fn namespace(&self) -> Option<&str> {
        if self.res.info.namespaced() {
            self.path.namespace.as_deref()
        } else {
            None
        }
    }

    pub fn target(&self, name: &str) -> Target {
        Target::new(&self.res.info.group, &self.res.info.plural, name)
    }

    pub fn key(&self, name: &str) -> String {
        self.res.key(self.namespace(), name)
    }

    /// The name in the path; a 405 for requests that need one and lack it.
    pub fn name(&self) -> ApiResult<&str> {
        self.path
            .name
            .as_deref()
            .ok_or_else(|| ApiError::MethodNotAllowed(String::new()))
    }

    pub async fn load(&self, name: &str) -> ApiResult<KeyValue> {
        let key = self.key(name);
        match self.state.store.get(&key).await {
            Ok(Some(kv)) => Ok(kv),
            Ok(None) => Err(ApiError::NotFound(self.target(name))),
            Err(e) => Err(ApiError::from_store(e, &self.target(name))),
        }
    }

    pub fn field_validation(&self) -> ApiResult<FieldValidation> {
        FieldValidation::from_query(self.query)
    }

    /// Checks apiVersion/kind of a body against the resource (defaulting them
    /// when absent) and decodes it into canonical form.
    pub fn decode_body(&self, mut obj: Value) -> ApiResult<(Value, Vec<String>)> {
        let info = &self.res.info;
        let want_av = info.api_version();
        match obj.get("apiVersion").and_then(Value::as_str) {
            None | Some("") => object::set_str(&mut obj, &["apiVersion"], &want_av),
            Some(av) if av != want_av => {
                return Err(ApiError::BadRequest(format!(
                    "the API version in the data ({av}) does not match the expected API version ({want_av})"
                )));
            }
            Some(_) => {}
        }
        match obj.get("kind").and_then(Value::as_str) {
            None | Some("") => object::set_str(&mut obj, &["kind"], &info.kind),
            Some(k) if k != info.kind => {
                return Err(ApiError::BadRequest(format!(
                    "the kind in the data ({k}) does not match the expected kind ({})",
                    info.kind
                )));
            }
            Some(_) => {}
        }
        let decoded = self
            .res
            .strategy
            .decode(obj)
            .map_err(|e| ApiError::BadRequest(e.0))?;
        let warnings = match self.field_validation()? {
            FieldValidation::Ignore => Vec::new(),
            FieldValidation::Warn => decoded
                .unknown_fields
                .iter()
                .map(|f| format!("unknown field \"{f}\""))
                .collect(),
            FieldValidation::Strict if !decoded.unknown_fields.is_empty() => {
                let list: Vec<String> = decoded
                    .unknown_fields
                    .iter()
                    .map(|f| format!("unknown field \"{f}\""))
                    .collect();
                return Err(ApiError::BadRequest(format!(
                    "strict decoding error: {}",
                    list.join(", ")
                )));
            }
            FieldValidation::Strict => Vec::new(),
        };
        Ok((decoded.object, warnings))
    }

    /// A 422 listing every error, or Ok when there are none.
    pub fn check(&self, name: &str, errors: berth_api::ErrorList) -> ApiResult<()> {
        if errors.is_empty() {
            return Ok(());
        }
        Err(ApiError::Invalid {
            kind: self.res.info.kind.clone(),
            target: self.target(name),
            errors,
        })
    }
}

/// Parses a request body as JSON (or YAML when the content type says so).
pub fn parse_body(body: &[u8], content_type: &str) -> ApiResult<Value> {
    let ct = content_type.split(';').next().unwrap_or("").trim();
    let value: Value = match ct {
        crate::protobuf::CONTENT_TYPE => crate::protobuf::to_json(body)
            .map_err(|e| ApiError::BadRequest(format!("decoding protobuf body: {e}")))?,
        "application/yaml" | "application/apply-patch+yaml" | "text/yaml" => {
            serde_saphyr::from_slice(body)
                .map_err(|e| ApiError::BadRequest(format!("error converting YAML to JSON: {e}")))?
        }
        _ => serde_json::from_slice(body).map_err(|e| {
            ApiError::BadRequest(format!("couldn't get version/kind; json parse error: {e}"))
        })?,
    };
    if !value.is_object() {
        return Err(ApiError::BadRequest(
            "the body of the request must be a JSON object".into(),
        ));
    }
    Ok(value)
}
