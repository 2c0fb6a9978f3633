//! Label and field selectors, in the string syntax of `?labelSelector=` and
//! `?fieldSelector=` and in the structured `metav1.LabelSelector` form.

mod field;
mod label;
mod lexer;
mod requirement;

pub use field::{FieldOperator, FieldSelector, FieldTerm, escape as escape_field_value};
pub use label::LabelSelector;
pub use requirement::{Operator, Requirement};

/// Why a selector string could not be parsed. The message says which part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);

#[cfg(test)]
mod tests;
