//! CustomResourceDefinitions: the definition checks live in [`crate::crd`].

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use serde_json::{Value, json};

use super::kind::{Generation, KindStrategy};
use crate::resource::Scope::Cluster;
use crate::validation::{ErrorList, FIELD_IMMUTABLE, FieldError};
use crate::wire::{default_at, str_at};

pub(super) static CUSTOM_RESOURCE_DEFINITION: KindStrategy = KindStrategy {
    status: true,
    generation: Generation::Spec,
    default: default_definition,
    validate: crate::crd::validate_definition,
    validate_update: validate_definition_update,
    ..KindStrategy::typed::<apiextensions::CustomResourceDefinition>(
        "CustomResourceDefinition",
        Cluster,
    )
};

/// singular from kind, listKind `<Kind>List`, conversion `None`.
fn default_definition(obj: &mut Value) {
    let kind = str_at(obj, &["spec", "names", "kind"]).to_string();
    if !kind.is_empty() {
        default_at(
            obj,
            &["spec", "names", "singular"],
            json!(kind.to_lowercase()),
        );
        default_at(
            obj,
            &["spec", "names", "listKind"],
            json!(format!("{kind}List")),
        );
    }
    default_at(obj, &["spec", "conversion", "strategy"], json!("None"));
    if let Some(port) = obj
        .pointer_mut("/spec/conversion/webhook/clientConfig/service")
        .filter(|s| s.is_object())
    {
        default_at(port, &["port"], json!(443));
    }
}

fn validate_definition_update(new: &Value, old: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    for field in ["group", "scope"] {
        let (n, o) = (str_at(new, &["spec", field]), str_at(old, &["spec", field]));
        if n != o {
            errs.push(FieldError::invalid(
                &format!("spec.{field}"),
                n,
                FIELD_IMMUTABLE,
            ));
        }
    }
    errs
}
