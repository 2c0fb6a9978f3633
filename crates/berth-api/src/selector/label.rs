use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use super::SelectorError;
use super::lexer::{Token, tokenize};
use super::requirement::{Operator, Requirement};

/// A parsed label selector: a conjunction of requirements
/// (`=`, `==`, `!=`, `in`, `notin`, exists, `!` not-exists).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// Sorted by key, as upstream keeps them.
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses `?labelSelector=` syntax, e.g. `app=web,tier in (a,b),!canary`.
    /// The empty string selects everything.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut parser = Parser {
            tokens: tokenize(s),
            position: 0,
        };
        let mut requirements = parser.requirements()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }

    /// Converts a structured `metav1.LabelSelector` (matchLabels and
    /// matchExpressions with In/NotIn/Exists/DoesNotExist).
    pub fn from_meta(sel: &meta::LabelSelector) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for (key, value) in sel.match_labels.iter().flatten() {
            requirements.push(Requirement::new(
                key,
                Operator::Equals,
                vec![value.clone()],
            )?);
        }
        for expr in sel.match_expressions.iter().flatten() {
            let operator = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError(format!(
                        "{other:?} is not a valid label selector operator"
                    )));
                }
            };
            let values = expr.values.clone().unwrap_or_default();
            requirements.push(Requirement::new(&expr.key, operator, values)?);
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// True if this selector selects every object.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let terms: Vec<String> = self.requirements.iter().map(ToString::to_string).collect();
        f.write_str(&terms.join(","))
    }
}

/// Recursive descent over the tokens, as upstream's `labels.Parser`.
struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

fn found(token: &Token, expected: &str) -> SelectorError {
    SelectorError(format!("found '{}', expected: {expected}", token.literal()))
}

impl Parser {
    /// The next token where a value may stand: keywords read as identifiers.
    fn peek_value(&self) -> Token {
        as_value(
            self.tokens
                .get(self.position)
                .cloned()
                .unwrap_or(Token::End),
        )
    }

    fn next_value(&mut self) -> Token {
        as_value(self.next_raw())
    }

    fn next_raw(&mut self) -> Token {
        let token = self
            .tokens
            .get(self.position)
            .cloned()
            .unwrap_or(Token::End);
        self.position = (self.position + 1).min(self.tokens.len());
        token
    }

    fn requirements(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut requirements = Vec::new();
        loop {
            match self.peek_value() {
                Token::Identifier(_) | Token::DoesNotExist => {
                    requirements.push(self.requirement()?);
                    match self.next_value() {
                        Token::End => return Ok(requirements),
                        Token::Comma => match self.peek_value() {
                            Token::Identifier(_) | Token::DoesNotExist => {}
                            other => return Err(found(&other, "identifier after ','")),
                        },
                        other => return Err(found(&other, "',' or 'end of string'")),
                    }
                }
                Token::End => return Ok(requirements),
                other => return Err(found(&other, "!, identifier, or 'end of string'")),
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        let (key, operator) = self.key_and_inferred_operator()?;
        if let Some(operator) = operator {
            return Requirement::new(&key, operator, Vec::new());
        }
        let operator = self.operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.value_set()?,
            _ => self.exact_value()?,
        };
        Requirement::new(&key, operator, values)
    }

    /// The key, and the operator when there is none to read (`!key`, `key`).
    fn key_and_inferred_operator(&mut self) -> Result<(String, Option<Operator>), SelectorError> {
        let mut token = self.next_value();
        let mut operator = None;
        if token == Token::DoesNotExist {
            operator = Some(Operator::DoesNotExist);
            token = self.next_value();
        }
        let Token::Identifier(key) = token else {
            return Err(found(&token, "identifier"));
        };
        if matches!(self.peek_value(), Token::End | Token::Comma) && operator.is_none() {
            operator = Some(Operator::Exists);
        }
        Ok((key, operator))
    }

    fn operator(&mut self) -> Result<Operator, SelectorError> {
        let operator = match self.next_raw() {
            Token::In => Operator::In,
            Token::NotIn => Operator::NotIn,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::NotEquals => Operator::NotEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            other => return Err(found(&other, "in, notin, =, ==, !=, gt, lt")),
        };
        Ok(operator)
    }

    /// `(a,b)`; `()` is the set holding only "".
    fn value_set(&mut self) -> Result<Vec<String>, SelectorError> {
        let open = self.next_value();
        if open != Token::OpenPar {
            return Err(SelectorError(format!(
                "found '{}' expected: '('",
                open.literal()
            )));
        }
        match self.peek_value() {
            Token::Identifier(_) | Token::Comma => {
                let values = self.identifier_list()?;
                match self.next_value() {
                    Token::ClosedPar => Ok(values),
                    other => Err(found(&other, "')'")),
                }
            }
            Token::ClosedPar => {
                self.next_value();
                Ok(vec![String::new()])
            }
            other => Err(found(&other, "',', ')' or identifier")),
        }
    }

    /// Values up to (not including) `)`; empty items between commas are "".
    fn identifier_list(&mut self) -> Result<Vec<String>, SelectorError> {
        let mut values = Vec::new();
        loop {
            match self.next_value() {
                Token::Identifier(value) => {
                    values.push(value);
                    match self.peek_value() {
                        Token::Comma => {}
                        Token::ClosedPar => return Ok(values),
                        other => return Err(found(&other, "',' or ')'")),
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        values.push(String::new());
                    }
                    match self.peek_value() {
                        Token::ClosedPar => {
                            values.push(String::new());
                            return Ok(values);
                        }
                        Token::Comma => {
                            self.next_value();
                            values.push(String::new());
                        }
                        _ => {}
                    }
                }
                other => return Err(found(&other, "',', or identifier")),
            }
        }
    }

    /// The single value after `=`, `==`, `!=`, `>` or `<`; none means "".
    fn exact_value(&mut self) -> Result<Vec<String>, SelectorError> {
        if matches!(self.peek_value(), Token::End | Token::Comma) {
            return Ok(vec![String::new()]);
        }
        match self.next_value() {
            Token::Identifier(value) => Ok(vec![value]),
            other => Err(found(&other, "identifier")),
        }
    }
}

fn as_value(token: Token) -> Token {
    match token {
        Token::In | Token::NotIn => Token::Identifier(token.literal().to_string()),
        other => other,
    }
}
