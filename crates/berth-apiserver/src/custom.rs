//! Custom resources: the strategy of a CRD version (its structural schema
//! on top of the generic custom-resource behaviour), the resources an
//! established CRD serves, and the CRD lifecycle the API server runs itself
//! (Established/NamesAccepted conditions, removal of its objects on delete).

use berth_api::strategy::{DecodeError, Decoded};
use berth_api::{ErrorList, ResourceInfo, Scope, Strategy, Subresource};
use berth_store::{ListOptions, Store};
use serde_json::{Value, json};

use crate::object;
use crate::resources::{Resource, StrategyRef};

/// The finalizer upstream puts on CRDs so their objects go with them.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// A CRD version's strategy: the generic custom-resource strategy plus
/// pruning, defaulting and validation against `openAPIV3Schema`.
pub struct CustomStrategy {
    base: &'static dyn Strategy,
    schema: Value,
}

impl Strategy for CustomStrategy {
    fn decode(&self, mut obj: Value) -> Result<Decoded, DecodeError> {
        let unknown_fields = if self.schema.is_null() {
            Vec::new()
        } else {
            berth_api::crd::prune(&self.schema, &mut obj)
        };
        Ok(Decoded {
            object: obj,
            unknown_fields,
        })
    }
    fn default(&self, obj: &mut Value) {
        if !self.schema.is_null() {
            berth_api::crd::apply_defaults(&self.schema, obj);
        }
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        self.base.prepare_for_create(obj)
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        self.base.prepare_for_update(new, old)
    }
    fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        self.base.prepare_for_status_update(new, old)
    }
    fn validate(&self, obj: &Value) -> ErrorList {
        let mut errs = self.base.validate(obj);
        if !self.schema.is_null() {
            errs.extend(berth_api::crd::validate_object(&self.schema, obj));
        }
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> ErrorList {
        let mut errs = self.base.validate_update(new, old);
        if !self.schema.is_null() {
            errs.extend(berth_api::crd::validate_object(&self.schema, new));
        }
        errs
    }
    fn selectable_fields(&self) -> &[&str] {
        &[]
    }
    fn field_value(&self, _obj: &Value, _field: &str) -> Option<String> {
        None
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The resources one CRD serves (one per served version).
pub fn resources_of(crd: &Value) -> Vec<Resource> {
    let spec = crd.get("spec").cloned().unwrap_or(Value::Null);
    let s = |path: &[&str]| object::get_str(&spec, path).unwrap_or("").to_string();
    let group = s(&["group"]);
    let plural = s(&["names", "plural"]);
    let kind = s(&["names", "kind"]);
    let singular = Some(s(&["names", "singular"]))
        .filter(|x| !x.is_empty())
        .unwrap_or_else(|| kind.to_lowercase());
    let scope = if s(&["scope"]) == "Cluster" {
        Scope::Cluster
    } else {
        Scope::Namespaced
    };
    let mut out = Vec::new();
    for v in spec
        .get("versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if v.get("served").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let version = v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut subresources = Vec::new();
        if v.pointer("/subresources/status").is_some() {
            subresources.push(Subresource::Status);
        }
        if v.pointer("/subresources/scale").is_some() {
            subresources.push(Subresource::Scale);
        }
        let schema = v
            .pointer("/schema/openAPIV3Schema")
            .cloned()
            .unwrap_or(Value::Null);
        let base = berth_api::custom_resource_strategy(
            scope == Scope::Namespaced,
            subresources.contains(&Subresource::Status),
        );
        let info = ResourceInfo {
            group: group.clone(),
            version,
            kind: kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            scope,
            short_names: strings(spec.pointer("/names/shortNames")),
            categories: strings(spec.pointer("/names/categories")),
            verbs: [
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "create",
                "update",
                "watch",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            subresources,
        };
        out.push(Resource {
            info,
            strategy: StrategyRef::Custom(std::sync::Arc::new(CustomStrategy { base, schema })),
            storage_group: group.clone(),
            printer_columns: v
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            scale: scale_paths(v.pointer("/subresources/scale")),
            convert: None,
        });
    }
    out
}

fn scale_paths(scale: Option<&Value>) -> crate::resources::ScalePaths {
    let path = |k: &str| {
        scale
            .and_then(|s| s.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    crate::resources::ScalePaths {
        spec_replicas: path("specReplicasPath"),
        status_replicas: path("statusReplicasPath"),
        label_selector: path("labelSelectorPath"),
    }
}

/// The status an accepted CRD gets: conditions, accepted names, stored versions.
pub fn established_status(crd: &Value) -> Value {
    let now = object::now_rfc3339();
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let stored: Vec<Value> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .filter_map(|v| v.get("name").cloned())
        .collect();
    let cond = |t: &str, reason: &str, msg: &str| json!({"type": t, "status": "True", "lastTransitionTime": now, "reason": reason, "message": msg});
    json!({
        "conditions": [
            cond("NamesAccepted", "NoConflicts", "no conflicts found"),
            cond("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "acceptedNames": names,
        "storedVersions": stored,
    })
}

/// Whether a CRD's status already says it is established with its current names.
pub fn is_established(crd: &Value) -> bool {
    let established = crd
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter().any(|c| {
                c.get("type") == Some(&json!("Established"))
                    && c.get("status") == Some(&json!("True"))
            })
        });
    established && crd.pointer("/status/acceptedNames") == crd.pointer("/spec/names")
}

/// Removes every object of a CRD being deleted; returns how many.
pub async fn delete_objects(
    store: &dyn Store,
    crd: &Value,
) -> Result<usize, berth_store::StoreError> {
    let group = object::get_str(crd, &["spec", "group"]).unwrap_or("");
    let plural = object::get_str(crd, &["spec", "names", "plural"]).unwrap_or("");
    if group.is_empty() || plural.is_empty() {
        return Ok(0);
    }
    let prefix = format!("/{group}/{plural}/");
    let page = store.list(&prefix, ListOptions::default()).await?;
    let mut n = 0;
    for kv in page.items {
        match store.delete(&kv.key, None).await {
            Ok(_) => n += 1,
            Err(berth_store::StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
