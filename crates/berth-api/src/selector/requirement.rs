//! One term of a label selector and its checks, as upstream's `labels.Requirement`.

use std::collections::BTreeMap;
use std::fmt;

use super::SelectorError;
use crate::validation::{FieldError, label_value, qualified_name};

/// How a requirement compares a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operator {
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// `key <operator> values`; values are sorted and unique.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

impl Requirement {
    /// A checked requirement: a qualified-name key, valid label values, and
    /// as many values as the operator takes.
    pub fn new(
        key: &str,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Requirement, SelectorError> {
        let mut errs = Vec::new();
        let key_errs = qualified_name(key);
        if !key_errs.is_empty() {
            errs.push(FieldError::invalid("key", key, &key_errs.join("; ")));
        }
        if let Some(detail) = arity_error(operator, &values) {
            errs.push(FieldError::invalid("values", values.clone(), detail));
        }
        for (i, value) in values.iter().enumerate() {
            let value_errs = label_value(value);
            if !value_errs.is_empty() {
                errs.push(FieldError::invalid(
                    &format!("values[{i}][{key}]"),
                    value.as_str(),
                    &value_errs.join("; "),
                ));
            }
        }
        if !errs.is_empty() {
            let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
            return Err(SelectorError(text.join(", ")));
        }
        let mut values = values;
        values.sort();
        values.dedup();
        Ok(Requirement {
            key: key.to_string(),
            operator,
            values,
        })
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        let listed = |v: &String| self.values.contains(v);
        match self.operator {
            Operator::Equals | Operator::DoubleEquals | Operator::In => value.is_some_and(listed),
            Operator::NotEquals | Operator::NotIn => !value.is_some_and(listed),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => self.compares(value),
        }
    }

    fn compares(&self, value: Option<&String>) -> bool {
        let Some(actual) = value.and_then(|v| v.parse::<i64>().ok()) else {
            return false;
        };
        let Some(bound) = self.values.first().and_then(|v| v.parse::<i64>().ok()) else {
            return false;
        };
        if self.operator == Operator::GreaterThan {
            actual > bound
        } else {
            actual < bound
        }
    }
}

fn arity_error(operator: Operator, values: &[String]) -> Option<&'static str> {
    match operator {
        Operator::In | Operator::NotIn if values.is_empty() => {
            Some("for 'in', 'notin' operators, values set can't be empty")
        }
        Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if values.len() != 1 => {
            Some("exact-match compatibility requires one single value")
        }
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
            Some("values set must be empty for exists and does not exist")
        }
        Operator::GreaterThan | Operator::LessThan if values.len() != 1 => {
            Some("for 'Gt', 'Lt' operators, exactly one value is required")
        }
        Operator::GreaterThan | Operator::LessThan if values[0].parse::<i64>().is_err() => {
            Some("for 'Gt', 'Lt' operators, the value must be an integer")
        }
        _ => None,
    }
}

impl fmt::Display for Requirement {
    /// Upstream's canonical form: `a=b`, `a!=b`, `a in (x,y)`, `!a`, `a>3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.values.join(",");
        match self.operator {
            Operator::Equals => write!(f, "{}={values}", self.key),
            Operator::DoubleEquals => write!(f, "{}=={values}", self.key),
            Operator::NotEquals => write!(f, "{}!={values}", self.key),
            Operator::In => write!(f, "{} in ({values})", self.key),
            Operator::NotIn => write!(f, "{} notin ({values})", self.key),
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::GreaterThan => write!(f, "{}>{values}", self.key),
            Operator::LessThan => write!(f, "{}<{values}", self.key),
        }
    }
}
