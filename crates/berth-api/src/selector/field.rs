use std::fmt;

use super::SelectorError;

/// How a field-selector term compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldOperator {
    /// `=` or `==`
    Equals,
    /// `!=`
    NotEquals,
}

/// One `field<op>value` term, the value unescaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldTerm {
    pub field: String,
    pub operator: FieldOperator,
    pub value: String,
}

/// A parsed field selector: a conjunction of `field=value`, `field==value`
/// and `field!=value` terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

/// Operators in the order upstream tries them at each position.
const OPERATORS: [(&str, FieldOperator); 3] = [
    ("!=", FieldOperator::NotEquals),
    ("==", FieldOperator::Equals),
    ("=", FieldOperator::Equals),
];

impl FieldSelector {
    /// Parses `?fieldSelector=` syntax, e.g. `metadata.name=x,status.phase!=Running`
    /// (with upstream's backslash escaping of `,`, `=` and `\` in values).
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut parts = split_terms(s);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts.iter().filter(|p| !p.is_empty()) {
            let Some((field, operator, raw)) = split_term(part) else {
                return Err(SelectorError(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let value = unescape(raw)?;
            terms.push(FieldTerm {
                field: field.to_string(),
                operator,
                value,
            });
        }
        Ok(FieldSelector { terms })
    }

    /// A selector of one `field=value` term.
    pub fn equals(field: &str, value: &str) -> Self {
        let term = FieldTerm {
            field: field.to_string(),
            operator: FieldOperator::Equals,
            value: value.to_string(),
        };
        FieldSelector { terms: vec![term] }
    }

    /// The field paths this selector mentions (to check they are supported).
    pub fn fields(&self) -> Vec<&str> {
        self.terms.iter().map(|t| t.field.as_str()).collect()
    }

    pub fn terms(&self) -> &[FieldTerm] {
        &self.terms
    }

    /// The value this selector requires `field` to equal, if it does
    /// (e.g. `metadata.name` for a single-object watch).
    pub fn required_value(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == field && t.operator == FieldOperator::Equals)
            .map(|t| t.value.as_str())
    }

    /// Whether an object matches, given a way to read a field's value
    /// (`None` for a field the object does not have: it compares as "").
    pub fn matches(&self, field: &dyn Fn(&str) -> Option<String>) -> bool {
        self.terms.iter().all(|term| {
            let actual = field(&term.field).unwrap_or_default();
            match term.operator {
                FieldOperator::Equals => actual == term.value,
                FieldOperator::NotEquals => actual != term.value,
            }
        })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let terms: Vec<String> = self
            .terms
            .iter()
            .map(|t| {
                let op = if t.operator == FieldOperator::Equals {
                    "="
                } else {
                    "!="
                };
                format!("{}{op}{}", t.field, escape(&t.value))
            })
            .collect();
        f.write_str(&terms.join(","))
    }
}

/// Splits on commas not escaped by a backslash.
fn split_terms(s: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            current.push(c);
            escaped = true;
        } else if c == ',' {
            terms.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    terms.push(current);
    terms
}

/// The first operator found scanning left to right, and what surrounds it.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (text, operator) in OPERATORS {
            if let Some(value) = rest.strip_prefix(text) {
                return Some((&term[..i], operator, value));
            }
        }
    }
    None
}

fn unescape(raw: &str) -> Result<String, SelectorError> {
    let mut out = String::with_capacity(raw.len());
    let mut escaped = false;
    for c in raw.chars() {
        match (escaped, c) {
            (true, '\\' | ',' | '=') => {
                out.push(c);
                escaped = false;
            }
            (true, other) => {
                return Err(SelectorError(format!(
                    "invalid field selector: invalid escape sequence: \\{other}"
                )));
            }
            (false, '\\') => escaped = true,
            (false, ',' | '=') => {
                return Err(SelectorError(format!(
                    "invalid field selector: unescaped character: {c}"
                )));
            }
            (false, other) => out.push(other),
        }
    }
    if escaped {
        return Err(SelectorError(
            "invalid field selector: invalid escape sequence: \\".to_string(),
        ));
    }
    Ok(out)
}

/// Escapes `\`, `,` and `=` in a value.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
