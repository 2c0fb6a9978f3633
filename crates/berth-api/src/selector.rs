//! Label and field selectors, in the string syntax of `?labelSelector=` and
//! `?fieldSelector=` and in the structured `metav1.LabelSelector` form.

mod field;
mod label;

pub use field::FieldSelector;
pub use label::LabelSelector;

/// Why a selector string could not be parsed. The message says which part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);
