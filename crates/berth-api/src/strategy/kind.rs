//! The one [`Strategy`] implementation: a table of per-kind behaviour that
//! the built-in kinds fill in, with no-ops where a kind has nothing special.

use serde_json::Value;

use super::decode::{RoundTrip, decode_object, typed_round_trip};
use super::lifecycle;
use super::{DecodeError, Decoded, Strategy};
use crate::resource::Scope;
use crate::validation::{
    ErrorList, NameValidator, name_is_dns_subdomain, validate_object_meta,
    validate_object_meta_update,
};

/// When `metadata.generation` moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Generation {
    /// Not tracked.
    Untracked,
    /// 1 on create, +1 when anything but metadata and status changes.
    Spec,
    /// As `Spec`, and also when annotations change (Deployments copy them to ReplicaSets).
    SpecAndAnnotations,
}

/// Everything that differs between kinds.
pub(crate) struct KindStrategy {
    pub kind: &'static str,
    /// `None` when unknown (the generic strategy): namespace presence is not checked.
    pub scope: Option<Scope>,
    pub name: NameValidator,
    pub round_trip: Option<RoundTrip>,
    /// Has a `/status` subresource: status is kept apart from spec writes.
    pub status: bool,
    pub generation: Generation,
    pub default: fn(&mut Value),
    /// Kind-specific create preparation, after the common one.
    pub prepare_create: fn(&mut Value),
    /// Kind-specific update preparation, after the common one.
    pub prepare_update: fn(&mut Value, &Value),
    /// Kind-specific checks of a whole object (metadata is checked for every kind).
    pub validate: fn(&Value) -> ErrorList,
    /// Kind-specific checks of an update (immutable fields), besides `validate` of the new object.
    pub validate_update: fn(&Value, &Value) -> ErrorList,
    pub fields: &'static [&'static str],
    pub field_value: fn(&Value, &str) -> Option<String>,
}

fn no_default(_: &mut Value) {}
fn no_update(_: &mut Value, _: &Value) {}
fn no_errors(_: &Value) -> ErrorList {
    ErrorList::new()
}
fn no_update_errors(_: &Value, _: &Value) -> ErrorList {
    ErrorList::new()
}
fn no_field(_: &Value, _: &str) -> Option<String> {
    None
}

impl KindStrategy {
    /// A kind with DNS-subdomain names and no special behaviour.
    pub(crate) const fn base(kind: &'static str, scope: Scope) -> KindStrategy {
        KindStrategy {
            kind,
            scope: Some(scope),
            name: name_is_dns_subdomain,
            round_trip: None,
            status: false,
            generation: Generation::Untracked,
            default: no_default,
            prepare_create: no_default,
            prepare_update: no_update,
            validate: no_errors,
            validate_update: no_update_errors,
            fields: &[],
            field_value: no_field,
        }
    }

    /// `base` decoding through the typed struct `T`.
    pub(crate) const fn typed<T>(kind: &'static str, scope: Scope) -> KindStrategy
    where
        T: serde::de::DeserializeOwned + serde::Serialize,
    {
        let mut strategy = KindStrategy::base(kind, scope);
        strategy.round_trip = Some(typed_round_trip::<T>);
        strategy
    }

    /// A kind this crate knows nothing about: metadata checks only.
    pub(crate) const fn generic() -> KindStrategy {
        let mut strategy = KindStrategy::base("", Scope::Namespaced);
        strategy.scope = None;
        strategy.round_trip = Some(lifecycle::metadata_round_trip);
        strategy
    }

    fn namespaced(&self, obj: &Value) -> bool {
        match self.scope {
            Some(scope) => scope == Scope::Namespaced,
            None => obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .is_some_and(|ns| !ns.is_empty()),
        }
    }

    fn kind_of<'a>(&'a self, obj: &'a Value) -> &'a str {
        if self.kind.is_empty() {
            obj.get("kind").and_then(Value::as_str).unwrap_or("Object")
        } else {
            self.kind
        }
    }
}

impl Strategy for KindStrategy {
    fn decode(&self, obj: Value) -> Result<Decoded, DecodeError> {
        let kind = self.kind_of(&obj).to_string();
        match self.round_trip {
            Some(round_trip) => decode_object(&kind, obj, round_trip),
            None => Ok(Decoded {
                object: obj,
                unknown_fields: Vec::new(),
            }),
        }
    }

    fn default(&self, obj: &mut Value) {
        (self.default)(obj);
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        lifecycle::prepare_create(obj, self.status, self.generation);
        (self.prepare_create)(obj);
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        lifecycle::prepare_update(new, old, self.status, self.generation);
        (self.prepare_update)(new, old);
    }

    fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        lifecycle::prepare_status_update(new, old);
    }

    fn validate(&self, obj: &Value) -> ErrorList {
        let meta = obj.get("metadata").unwrap_or(&Value::Null);
        let mut errs = validate_object_meta(meta, self.namespaced(obj), self.name, "metadata");
        errs.extend((self.validate)(obj));
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> ErrorList {
        let meta = new.get("metadata").unwrap_or(&Value::Null);
        let old_meta = old.get("metadata").unwrap_or(&Value::Null);
        let mut errs = validate_object_meta_update(
            meta,
            old_meta,
            self.namespaced(new),
            self.name,
            "metadata",
        );
        errs.extend((self.validate)(new));
        errs.extend((self.validate_update)(new, old));
        errs
    }

    fn selectable_fields(&self) -> &[&str] {
        self.fields
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        if !self.fields.contains(&field) {
            return None;
        }
        (self.field_value)(obj, field)
    }
}
