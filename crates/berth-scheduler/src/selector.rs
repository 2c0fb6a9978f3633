//! Compiled label selectors (`metav1.LabelSelector`) for matching pod labels.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;

/// Why a selector could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// The operator is not one of In, NotIn, Exists, DoesNotExist (or Gt, Lt for nodes).
    #[error("{key}: invalid operator {operator:?}")]
    InvalidOperator {
        /// The requirement's key.
        key: String,
        /// The operator found.
        operator: String,
    },
    /// The values do not fit the operator.
    #[error("{key}: invalid values for operator {operator}")]
    InvalidValues {
        /// The requirement's key.
        key: String,
        /// The operator found.
        operator: String,
    },
}

/// One compiled requirement: `key op values`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Requirement {
    /// `key In (values)`.
    pub fn is_in(key: &str, values: Vec<String>) -> Self {
        Self {
            key: key.to_owned(),
            operator: Operator::In,
            values,
        }
    }

    /// `key NotIn (values)`.
    pub fn not_in(key: &str, values: Vec<String>) -> Self {
        Self {
            key: key.to_owned(),
            operator: Operator::NotIn,
            values,
        }
    }

    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.contains(v)),
            Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

/// A compiled label selector. Invariant: `nothing` selectors match no labels,
/// otherwise all requirements must match (an empty list matches everything).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// Matches every label set.
    pub fn everything() -> Self {
        Self {
            requirements: Vec::new(),
            nothing: false,
        }
    }

    /// Matches no label set (what an absent selector means upstream).
    pub fn nothing() -> Self {
        Self {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// Compiles an API selector; `None` selects nothing, `{}` selects everything.
    pub fn from_api(selector: Option<&metav1::LabelSelector>) -> Result<Self, SelectorError> {
        let Some(selector) = selector else {
            return Ok(Self::nothing());
        };
        let mut requirements = Vec::new();
        for (key, value) in selector.match_labels.iter().flatten() {
            requirements.push(Requirement::is_in(key, vec![value.clone()]));
        }
        for expr in selector.match_expressions.iter().flatten() {
            requirements.push(compile_expression(expr)?);
        }
        Ok(Self {
            requirements,
            nothing: false,
        })
    }

    /// Adds a requirement (used for `matchLabelKeys` / `mismatchLabelKeys`).
    pub fn push(&mut self, requirement: Requirement) {
        self.requirements.push(requirement);
    }

    /// Narrows this selector by every requirement of `other` (logical AND).
    pub fn and(&mut self, other: &LabelSelector) {
        self.nothing |= other.nothing;
        self.requirements.extend(other.requirements.iter().cloned());
    }

    /// True when this selector matches the label set.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// True when the selector has no requirements and is not `nothing`.
    pub fn is_everything(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }
}

fn compile_expression(
    expr: &metav1::LabelSelectorRequirement,
) -> Result<Requirement, SelectorError> {
    let operator = match expr.operator.as_str() {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        other => {
            return Err(SelectorError::InvalidOperator {
                key: expr.key.clone(),
                operator: other.to_owned(),
            });
        }
    };
    let values = expr.values.clone().unwrap_or_default();
    let needs_values = matches!(operator, Operator::In | Operator::NotIn);
    if needs_values == values.is_empty() {
        return Err(SelectorError::InvalidValues {
            key: expr.key.clone(),
            operator: expr.operator.clone(),
        });
    }
    Ok(Requirement {
        key: expr.key.clone(),
        operator,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> metav1::LabelSelectorRequirement {
        metav1::LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: (!values.is_empty()).then(|| values.iter().map(|v| v.to_string()).collect()),
        }
    }

    fn selector(exprs: Vec<metav1::LabelSelectorRequirement>) -> LabelSelector {
        let api = metav1::LabelSelector {
            match_expressions: Some(exprs),
            match_labels: None,
        };
        LabelSelector::from_api(Some(&api)).unwrap_or_else(|_| LabelSelector::nothing())
    }

    #[test]
    fn operators_should_match_as_upstream() {
        let l = labels(&[("app", "web"), ("tier", "front")]);
        let cases = [
            (expr("app", "In", &["web", "db"]), true),
            (expr("app", "In", &["db"]), false),
            (expr("app", "NotIn", &["db"]), true),
            (expr("missing", "NotIn", &["db"]), true),
            (expr("tier", "Exists", &[]), true),
            (expr("tier", "DoesNotExist", &[]), false),
            (expr("missing", "DoesNotExist", &[]), true),
        ];
        for (e, want) in cases {
            let desc = format!("{e:?}");
            assert_eq!(selector(vec![e]).matches(&l), want, "{desc}");
        }
    }

    #[test]
    fn absent_selector_should_match_nothing_and_empty_everything() {
        let l = labels(&[("app", "web")]);
        assert!(!LabelSelector::from_api(None).is_ok_and(|s| s.matches(&l)));
        let empty = metav1::LabelSelector::default();
        assert!(LabelSelector::from_api(Some(&empty)).is_ok_and(|s| s.matches(&l)));
    }

    #[test]
    fn invalid_operators_and_values_should_be_rejected() {
        for e in [
            expr("a", "Gt", &["1"]),
            expr("a", "In", &[]),
            expr("a", "Exists", &["x"]),
        ] {
            let api = metav1::LabelSelector {
                match_expressions: Some(vec![e]),
                match_labels: None,
            };
            assert!(LabelSelector::from_api(Some(&api)).is_err());
        }
    }
}
