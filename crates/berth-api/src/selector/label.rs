use std::collections::BTreeMap;

use super::SelectorError;

/// A parsed label selector: a conjunction of requirements
/// (`=`, `==`, `!=`, `in`, `notin`, exists, `!` not-exists).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    // helper: fill in
}

impl LabelSelector {
    /// Parses `?labelSelector=` syntax, e.g. `app=web,tier in (a,b),!canary`.
    /// The empty string selects everything.
    pub fn parse(_s: &str) -> Result<Self, SelectorError> {
        todo!("helper: fill in")
    }

    /// Converts a structured `metav1.LabelSelector` (matchLabels and
    /// matchExpressions with In/NotIn/Exists/DoesNotExist).
    pub fn from_meta(
        _sel: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    ) -> Result<Self, SelectorError> {
        todo!("helper: fill in")
    }

    pub fn matches(&self, _labels: &BTreeMap<String, String>) -> bool {
        todo!("helper: fill in")
    }

    /// True if this selector selects every object.
    pub fn is_empty(&self) -> bool {
        todo!("helper: fill in")
    }
}
