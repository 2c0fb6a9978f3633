//! Custom resources: checking a CustomResourceDefinition, and validating,
//! defaulting and pruning custom objects against its structural
//! `openAPIV3Schema`.

mod defaults;
mod definition;
mod prune;
mod schema;
mod structural;

use serde_json::Value;

use crate::validation::ErrorList;

/// Every problem with a CustomResourceDefinition object (wire form): name
/// must be `<plural>.<group>`, group must contain a dot, names lowercase,
/// exactly one storage version, a schema per served version, ...
pub fn validate_definition(crd: &Value) -> ErrorList {
    definition::validate(crd)
}

/// Checks a custom object (wire form) against a version's `openAPIV3Schema`:
/// types, `required`, `enum`, min/max, pattern, `nullable`, formats as far
/// as upstream checks them. Paths are from the object root.
pub fn validate_object(schema: &Value, obj: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    schema::validate(schema, obj, "", &mut errs);
    errs
}

/// Drops fields the schema does not declare, unless preserved by
/// `x-kubernetes-preserve-unknown-fields`; returns the dropped paths.
/// `apiVersion`, `kind` and `metadata` are never pruned.
pub fn prune(schema: &Value, obj: &mut Value) -> Vec<String> {
    let mut dropped = Vec::new();
    prune::prune_root(schema, obj, &mut dropped);
    dropped
}

/// Applies `default` values from the schema where fields are absent.
pub fn apply_defaults(schema: &Value, obj: &mut Value) {
    defaults::apply(schema, obj);
}

/// The `openAPIV3Schema` of `version` in a CRD (wire form), if it has one.
pub fn version_schema<'a>(crd: &'a Value, version: &str) -> Option<&'a Value> {
    crd.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v.get("name").and_then(Value::as_str) == Some(version))?
        .pointer("/schema/openAPIV3Schema")
}

#[cfg(test)]
mod tests;
