//! Per-topology-domain pod counts kept incrementally, so InterPodAffinity and
//! PodTopologySpread cost O(domains) per cycle instead of O(pods).
//!
//! Three indexes, all updated by the [`Snapshot`](super::Snapshot) whenever a
//! pod is accounted or released (bound, assumed, deleted) or a node's labels
//! change:
//! - nodes per label key and value (the topology domains that exist);
//! - the (anti-)affinity terms of accounted pods, deduplicated, each with the
//!   number (or weight) of pods holding it per domain of its topology key;
//! - cached [`PodQuery`] results: pods matching a query per domain of a
//!   topology key. A query is computed by a full scan the first time a cycle
//!   asks for it and then maintained on every change.
//!
//! Not here: node inclusion policies of topology spreading (callers fall back
//! to a scan when a pod restricts the nodes that count).

use std::collections::{BTreeMap, HashMap};

use parking_lot::Mutex;

use crate::node_info::NodeInfo;
use crate::pod_info::{AffinityTerm, PodInfo};
use crate::selector::LabelSelector;

/// Pods (or summed weights) per topology value. Invariant: no zero entries.
pub type DomainCounts = HashMap<String, i64>;

/// Cached queries beyond this many are dropped and recomputed on demand.
const MAX_QUERIES: usize = 4096;

/// Which existing pods to count.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PodQuery {
    /// Pods matched by every one of the terms (an incoming pod's
    /// required affinity, or a single anti-affinity or preferred term).
    AllTerms(Vec<AffinityTerm>),
    /// Pods of `namespace`, not terminating, selected by `selector`
    /// (a topology spread constraint).
    Spread {
        /// The incoming pod's namespace.
        namespace: String,
        /// The constraint's selector.
        selector: LabelSelector,
    },
}

impl PodQuery {
    fn matches(&self, pod: &PodInfo, ns_labels: Option<&BTreeMap<String, String>>) -> bool {
        match self {
            Self::AllTerms(terms) => {
                !terms.is_empty() && terms.iter().all(|t| t.matches(pod, ns_labels))
            }
            Self::Spread {
                namespace,
                selector,
            } => {
                !pod.is_terminating()
                    && pod.namespace() == namespace
                    && selector.matches(pod.labels())
            }
        }
    }

    fn uses_namespace_labels(&self) -> bool {
        match self {
            Self::AllTerms(terms) => terms
                .iter()
                .any(|t| t.namespace_selector != LabelSelector::nothing()),
            Self::Spread { .. } => false,
        }
    }
}

/// The kinds of affinity terms existing pods hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TermKind {
    /// Required pod affinity (counts pods).
    RequiredAffinity,
    /// Required pod anti-affinity (counts pods).
    RequiredAntiAffinity,
    /// Preferred pod affinity (sums weights).
    PreferredAffinity,
    /// Preferred pod anti-affinity (sums weights).
    PreferredAntiAffinity,
}

const KINDS: [TermKind; 4] = [
    TermKind::RequiredAffinity,
    TermKind::RequiredAntiAffinity,
    TermKind::PreferredAffinity,
    TermKind::PreferredAntiAffinity,
];

#[derive(Debug, Default)]
struct TermEntry {
    counts: DomainCounts,
    pods: i64,
}

type QueryKey = (PodQuery, String);

/// The indexes. Invariant: they equal what a scan of the snapshot's nodes
/// and their pods would compute.
#[derive(Debug, Default)]
pub(crate) struct TopologyIndex {
    label_values: HashMap<String, HashMap<String, i64>>,
    terms: [HashMap<AffinityTerm, TermEntry>; 4],
    queries: Mutex<HashMap<QueryKey, DomainCounts>>,
}

fn bump(counts: &mut DomainCounts, value: &str, delta: i64) {
    if let Some(count) = counts.get_mut(value) {
        *count += delta;
        if *count == 0 {
            counts.remove(value);
        }
    } else if delta != 0 {
        counts.insert(value.to_owned(), delta);
    }
}

impl TopologyIndex {
    /// Counts (`sign` 1) or uncounts (`sign` -1) a node's labels.
    pub fn apply_node(&mut self, labels: &BTreeMap<String, String>, sign: i64) {
        for (key, value) in labels {
            let values = self.label_values.entry(key.clone()).or_default();
            bump(values, value, sign);
            if values.is_empty() {
                self.label_values.remove(key);
            }
        }
    }

    /// Counts (`sign` 1) or uncounts (`sign` -1) a pod on a node with `labels`.
    pub fn apply_pod(
        &mut self,
        pod: &PodInfo,
        labels: &BTreeMap<String, String>,
        ns_labels: Option<&BTreeMap<String, String>>,
        sign: i64,
    ) {
        for kind in KINDS {
            for (term, weight) in terms_of(pod, kind) {
                self.apply_term(kind, term, labels, weight * sign, sign);
            }
        }
        for ((query, key), counts) in self.queries.get_mut().iter_mut() {
            if let Some(value) = labels.get(key)
                && query.matches(pod, ns_labels)
            {
                bump(counts, value, sign);
            }
        }
    }

    fn apply_term(
        &mut self,
        kind: TermKind,
        term: &AffinityTerm,
        labels: &BTreeMap<String, String>,
        delta: i64,
        sign: i64,
    ) {
        let map = &mut self.terms[kind as usize];
        if !map.contains_key(term) {
            map.insert(term.clone(), TermEntry::default());
        }
        let Some(entry) = map.get_mut(term) else {
            return;
        };
        entry.pods += sign;
        if let Some(value) = labels.get(&term.topology_key) {
            bump(&mut entry.counts, value, delta);
        }
        if entry.pods <= 0 {
            map.remove(term);
        }
    }

    /// Distinct terms of accounted pods of one kind, with counts per domain.
    pub fn terms(&self, kind: TermKind) -> impl Iterator<Item = (&AffinityTerm, &DomainCounts)> {
        self.terms[kind as usize]
            .iter()
            .map(|(term, entry)| (term, &entry.counts))
    }

    /// Values of a node label with the number of nodes having each.
    pub fn label_values(&self, key: &str) -> Option<&HashMap<String, i64>> {
        self.label_values.get(key)
    }

    /// Calls `f` with the pods matching `query` per value of `topology_key`,
    /// computing them by a scan of `nodes` the first time.
    pub fn with_counts<R>(
        &self,
        query: &PodQuery,
        topology_key: &str,
        scan: (&[NodeInfo], &HashMap<String, BTreeMap<String, String>>),
        f: impl FnOnce(&DomainCounts) -> R,
    ) -> R {
        let mut queries = self.queries.lock();
        let key = (query.clone(), topology_key.to_owned());
        if !queries.contains_key(&key) {
            if queries.len() >= MAX_QUERIES {
                queries.clear();
            }
            let counts = scan_counts(query, topology_key, scan.0, scan.1);
            queries.insert(key.clone(), counts);
        }
        let empty = DomainCounts::new();
        f(queries.get(&key).unwrap_or(&empty))
    }

    /// Drops cached queries that depend on namespace labels.
    pub fn forget_namespace_queries(&mut self) {
        self.queries
            .get_mut()
            .retain(|(query, _), _| !query.uses_namespace_labels());
    }
}

fn terms_of(pod: &PodInfo, kind: TermKind) -> Vec<(&AffinityTerm, i64)> {
    match kind {
        TermKind::RequiredAffinity => pod.required_affinity.iter().map(|t| (t, 1)).collect(),
        TermKind::RequiredAntiAffinity => {
            pod.required_anti_affinity.iter().map(|t| (t, 1)).collect()
        }
        TermKind::PreferredAffinity => pod
            .preferred_affinity
            .iter()
            .map(|w| (&w.term, w.weight))
            .collect(),
        TermKind::PreferredAntiAffinity => pod
            .preferred_anti_affinity
            .iter()
            .map(|w| (&w.term, w.weight))
            .collect(),
    }
}

fn scan_counts(
    query: &PodQuery,
    topology_key: &str,
    nodes: &[NodeInfo],
    namespaces: &HashMap<String, BTreeMap<String, String>>,
) -> DomainCounts {
    let mut counts = DomainCounts::new();
    for node in nodes {
        let Some(value) = node.labels().get(topology_key) else {
            continue;
        };
        for pod in node.pods() {
            if query.matches(pod, namespaces.get(pod.namespace())) {
                bump(&mut counts, value, 1);
            }
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Snapshot;
    use crate::testing::{HOSTNAME, ZONE, label_selector, node, pod, snapshot, term};

    fn spread_query() -> PodQuery {
        PodQuery::Spread {
            namespace: "default".into(),
            selector: LabelSelector::from_api(Some(&label_selector(&[("app", "web")])))
                .unwrap_or_else(|_| LabelSelector::nothing()),
        }
    }

    fn zone_counts(s: &Snapshot) -> Vec<(String, i64)> {
        let mut counts: Vec<_> = s.with_domain_counts(&spread_query(), ZONE, |c| {
            c.iter().map(|(k, v)| (k.clone(), *v)).collect()
        });
        counts.sort();
        counts
    }

    fn web(name: &str) -> std::sync::Arc<PodInfo> {
        pod(name).label("app", "web").info()
    }

    #[test]
    fn cached_counts_should_follow_assumed_deleted_and_relabelled_pods() {
        let mut s = snapshot(
            vec![node("n1").zone("z1"), node("n2").zone("z2")],
            vec![(pod("a").label("app", "web"), "n1")],
        );
        assert_eq!(zone_counts(&s), vec![("z1".into(), 1)]);
        s.add_pod(web("b"), "n2");
        s.add_pod(web("c"), "n2");
        s.add_pod(pod("other").info(), "n2");
        assert_eq!(zone_counts(&s), vec![("z1".into(), 1), ("z2".into(), 2)]);
        s.remove_pod("default/a");
        s.add_pod(pod("b").label("app", "web").terminating().info(), "n2");
        assert_eq!(zone_counts(&s), vec![("z2".into(), 1)]);
        assert!(s.upsert_node(node("n2").zone("z3").build()).is_ok());
        assert_eq!(zone_counts(&s), vec![("z3".into(), 1)]);
        assert_eq!(s.nodes_with_label(ZONE), 2);
        s.remove_node("n2");
        assert_eq!(zone_counts(&s), Vec::<(String, i64)>::new());
        assert_eq!(s.label_values(ZONE).map(|v| v.len()), Some(1));
    }

    #[test]
    fn existing_anti_affinity_terms_should_be_counted_once_per_distinct_term() {
        let anti = |name: &str| {
            pod(name)
                .label("app", "web")
                .required_anti_affinity(term(HOSTNAME, &[("app", "web")]))
        };
        let mut s = snapshot(
            vec![node("n1"), node("n2")],
            vec![(anti("a"), "n1"), (anti("b"), "n2")],
        );
        let terms = |s: &Snapshot| {
            s.existing_terms(TermKind::RequiredAntiAffinity)
                .map(|(_, counts)| counts.values().sum::<i64>())
                .collect::<Vec<_>>()
        };
        assert_eq!(terms(&s), vec![2]);
        s.remove_pod("default/a");
        s.remove_pod("default/b");
        assert!(terms(&s).is_empty());
    }
}
