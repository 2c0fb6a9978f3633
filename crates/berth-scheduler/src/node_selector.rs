//! Node selection: `spec.nodeSelector` and node affinity terms, compiled once per pod.
//!
//! Semantics follow upstream's `nodeaffinity` helpers: terms are ORed, the
//! requirements inside a term are ANDed, a term with no requirement matches no
//! node, and a term with an invalid requirement (bad operator, `Gt` with a
//! non-integer) matches no node rather than failing the whole pod.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, PreferredSchedulingTerm,
};

/// The field key `matchFields` supports.
const FIELD_METADATA_NAME: &str = "metadata.name";

#[derive(Debug, Clone, PartialEq, Eq)]
enum NodeOperator {
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
    Gt(i64),
    Lt(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct CompiledRequirement {
    key: String,
    operator: NodeOperator,
}

impl CompiledRequirement {
    fn compile(req: &NodeSelectorRequirement) -> Option<Self> {
        let values = req.values.clone().unwrap_or_default();
        let single_int = || match values.as_slice() {
            [v] => v.parse::<i64>().ok(),
            _ => None,
        };
        let operator = match req.operator.as_str() {
            "In" if !values.is_empty() => NodeOperator::In(values),
            "NotIn" if !values.is_empty() => NodeOperator::NotIn(values),
            "Exists" if values.is_empty() => NodeOperator::Exists,
            "DoesNotExist" if values.is_empty() => NodeOperator::DoesNotExist,
            "Gt" => NodeOperator::Gt(single_int()?),
            "Lt" => NodeOperator::Lt(single_int()?),
            _ => return None,
        };
        Some(Self {
            key: req.key.clone(),
            operator,
        })
    }

    fn matches_value(&self, value: Option<&str>) -> bool {
        let as_int = || value.and_then(|v| v.parse::<i64>().ok());
        match &self.operator {
            NodeOperator::In(values) => value.is_some_and(|v| values.iter().any(|x| x == v)),
            NodeOperator::NotIn(values) => value.is_none_or(|v| values.iter().all(|x| x != v)),
            NodeOperator::Exists => value.is_some(),
            NodeOperator::DoesNotExist => value.is_none(),
            NodeOperator::Gt(bound) => as_int().is_some_and(|v| v > *bound),
            NodeOperator::Lt(bound) => as_int().is_some_and(|v| v < *bound),
        }
    }
}

/// One compiled `NodeSelectorTerm`. `None` requirements mark an invalid term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledTerm {
    expressions: Option<Vec<CompiledRequirement>>,
    fields: Option<Vec<CompiledRequirement>>,
}

impl CompiledTerm {
    /// Compiles a term; invalid requirements make it match nothing.
    pub fn compile(term: &NodeSelectorTerm) -> Self {
        let expressions = term
            .match_expressions
            .iter()
            .flatten()
            .map(CompiledRequirement::compile)
            .collect::<Option<Vec<_>>>();
        let fields = term
            .match_fields
            .iter()
            .flatten()
            .map(|req| {
                let compiled = CompiledRequirement::compile(req)?;
                let supported = compiled.key == FIELD_METADATA_NAME
                    && matches!(
                        compiled.operator,
                        NodeOperator::In(_) | NodeOperator::NotIn(_)
                    );
                supported.then_some(compiled)
            })
            .collect::<Option<Vec<_>>>();
        Self {
            expressions,
            fields,
        }
    }

    /// True when the node's labels and name satisfy every requirement.
    pub fn matches(&self, node: &Node) -> bool {
        let (Some(expressions), Some(fields)) = (&self.expressions, &self.fields) else {
            return false;
        };
        if expressions.is_empty() && fields.is_empty() {
            return false;
        }
        let empty = BTreeMap::new();
        let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
        let name = node.metadata.name.as_deref().unwrap_or_default();
        expressions
            .iter()
            .all(|r| r.matches_value(labels.get(&r.key).map(String::as_str)))
            && fields.iter().all(|r| r.matches_value(Some(name)))
    }

    /// The node names a term pins the pod to with `metadata.name In (...)`
    /// (intersected, since requirements are ANDed), if any.
    fn pinned_node_names(&self) -> Option<Vec<String>> {
        let mut pinned: Option<Vec<String>> = None;
        for requirement in self.fields.iter().flatten() {
            if let NodeOperator::In(names) = &requirement.operator {
                pinned = Some(match pinned {
                    None => names.clone(),
                    Some(prev) => prev.into_iter().filter(|n| names.contains(n)).collect(),
                });
            }
        }
        pinned
    }
}

/// The pod's hard node constraints: `nodeSelector` AND required node affinity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequiredNodeAffinity {
    labels: BTreeMap<String, String>,
    terms: Option<Vec<CompiledTerm>>,
}

impl RequiredNodeAffinity {
    /// Compiles the pod's `nodeSelector` and required node affinity.
    pub fn from_pod(pod: &Pod) -> Self {
        let spec = pod.spec.as_ref();
        let labels = spec
            .and_then(|s| s.node_selector.clone())
            .unwrap_or_default();
        let selector = spec
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|na| {
                na.required_during_scheduling_ignored_during_execution
                    .as_ref()
            });
        Self {
            labels,
            terms: selector.map(compile_selector),
        }
    }

    /// True when the pod has neither a `nodeSelector` nor required node affinity.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.terms.is_none()
    }

    /// True when the node satisfies both the `nodeSelector` and the affinity terms.
    pub fn matches(&self, node: &Node) -> bool {
        if !self.labels.is_empty() {
            let Some(node_labels) = node.metadata.labels.as_ref() else {
                return false;
            };
            if !self
                .labels
                .iter()
                .all(|(k, v)| node_labels.get(k) == Some(v))
            {
                return false;
            }
        }
        match &self.terms {
            None => true,
            Some(terms) => terms.iter().any(|t| t.matches(node)),
        }
    }

    /// Node names the pod is restricted to by `matchFields metadata.name In`, when
    /// every term pins names; `None` means any node may match.
    pub fn pinned_node_names(&self) -> Option<Vec<String>> {
        let terms = self.terms.as_ref()?;
        let mut names = Vec::new();
        for term in terms {
            names.extend(term.pinned_node_names()?);
        }
        names.sort();
        names.dedup();
        Some(names)
    }
}

fn compile_selector(selector: &NodeSelector) -> Vec<CompiledTerm> {
    selector
        .node_selector_terms
        .iter()
        .map(CompiledTerm::compile)
        .collect()
}

/// The pod's preferred node affinity terms with their weights.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreferredNodeAffinity {
    terms: Vec<(i64, CompiledTerm)>,
}

impl PreferredNodeAffinity {
    /// Compiles the pod's preferred node affinity terms.
    pub fn from_pod(pod: &Pod) -> Self {
        let terms: &[PreferredSchedulingTerm] = pod
            .spec
            .as_ref()
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|na| {
                na.preferred_during_scheduling_ignored_during_execution
                    .as_deref()
            })
            .unwrap_or_default();
        Self {
            terms: terms
                .iter()
                .filter(|t| t.weight != 0)
                .map(|t| (i64::from(t.weight), CompiledTerm::compile(&t.preference)))
                .collect(),
        }
    }

    /// True when there is no preferred term.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Sum of the weights of the terms the node matches.
    pub fn score(&self, node: &Node) -> i64 {
        self.terms
            .iter()
            .filter(|(_, term)| term.matches(node))
            .map(|(weight, _)| weight)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, node_req, pod};

    fn matches(pod: &Pod, node: &Node) -> bool {
        RequiredNodeAffinity::from_pod(pod).matches(node)
    }

    #[test]
    fn every_operator_should_match_as_upstream() {
        let n = node("n1").label("disk", "ssd").label("cores", "8").build();
        let cases = [
            (node_req("disk", "In", &["ssd", "hdd"]), true),
            (node_req("disk", "In", &["hdd"]), false),
            (node_req("disk", "NotIn", &["hdd"]), true),
            (node_req("gpu", "NotIn", &["a"]), true),
            (node_req("disk", "Exists", &[]), true),
            (node_req("gpu", "DoesNotExist", &[]), true),
            (node_req("cores", "Gt", &["4"]), true),
            (node_req("cores", "Gt", &["8"]), false),
            (node_req("cores", "Lt", &["9"]), true),
            (node_req("disk", "Gt", &["1"]), false),
            (node_req("cores", "Gt", &["x"]), false),
            (node_req("cores", "Gt", &["1", "2"]), false),
            (node_req("disk", "Bogus", &["ssd"]), false),
        ];
        for (req, want) in cases {
            let desc = format!("{req:?}");
            let p = pod("p").required_node_affinity(vec![vec![req]]).build();
            assert_eq!(matches(&p, &n), want, "{desc}");
        }
    }

    #[test]
    fn terms_should_be_ored_and_requirements_anded() {
        let n = node("n1").label("a", "1").build();
        let p = pod("p")
            .required_node_affinity(vec![
                vec![node_req("a", "In", &["1"]), node_req("b", "Exists", &[])],
                vec![node_req("a", "Exists", &[])],
            ])
            .build();
        assert!(matches(&p, &n));
        let p = pod("p")
            .required_node_affinity(vec![vec![
                node_req("a", "In", &["1"]),
                node_req("b", "Exists", &[]),
            ]])
            .build();
        assert!(!matches(&p, &n));
    }

    #[test]
    fn match_fields_should_select_by_node_name() {
        let n = node("n1").build();
        let p = pod("p").required_node_name_field(&["n1", "n2"]).build();
        assert!(matches(&p, &n));
        assert_eq!(
            RequiredNodeAffinity::from_pod(&p).pinned_node_names(),
            Some(vec!["n1".to_owned(), "n2".to_owned()])
        );
        let p = pod("p").required_node_name_field(&["n2"]).build();
        assert!(!matches(&p, &n));
    }

    #[test]
    fn node_selector_and_affinity_should_both_apply() {
        let n = node("n1").label("a", "1").build();
        let p = pod("p").node_selector("a", "1").build();
        assert!(matches(&p, &n));
        let p = pod("p")
            .node_selector("a", "1")
            .required_node_affinity(vec![vec![node_req("a", "In", &["2"])]])
            .build();
        assert!(!matches(&p, &n));
        let p = pod("p").node_selector("a", "2").build();
        assert!(!matches(&p, &n));
    }

    #[test]
    fn empty_term_should_match_no_node() {
        let p = pod("p").required_node_affinity(vec![vec![]]).build();
        assert!(!matches(&p, &node("n1").build()));
    }

    #[test]
    fn preferred_terms_should_sum_matching_weights() {
        let n = node("n1").label("a", "1").label("b", "2").build();
        let p = pod("p")
            .preferred_node_affinity(5, vec![node_req("a", "In", &["1"])])
            .preferred_node_affinity(3, vec![node_req("b", "In", &["9"])])
            .preferred_node_affinity(7, vec![node_req("b", "Exists", &[])])
            .build();
        assert_eq!(PreferredNodeAffinity::from_pod(&p).score(&n), 12);
    }
}
