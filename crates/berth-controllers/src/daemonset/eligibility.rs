//! Which nodes a DaemonSet's pod belongs on, as upstream's
//! `NodeShouldRunDaemonPod`: the template's `nodeName`, `nodeSelector` and
//! required node affinity must match the node, and its taints must be
//! tolerated by the template's tolerations plus the ones every daemon pod
//! gets automatically.
//!
//! Pure: no API calls; the controller builds one [`DaemonPod`] per sync and
//! asks it about every node.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Toleration,
};

use crate::nodelifecycle::taints::tolerates;

/// The node field a DaemonSet pod's affinity pins it with.
pub const NODE_NAME_FIELD: &str = "metadata.name";

/// Upstream's automatic daemon pod tolerations (key, effect); the last one
/// only for `hostNetwork` pods.
const DAEMON_TOLERATIONS: [(&str, &str); 6] = [
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
];
const NETWORK_UNAVAILABLE: (&str, &str) = ("node.kubernetes.io/network-unavailable", "NoSchedule");

/// What a node must offer: upstream's (shouldRun, shouldContinueRunning).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// A daemon pod should be started here if none runs.
    pub should_run: bool,
    /// A daemon pod already here may stay (only NoExecute taints evict).
    pub should_continue_running: bool,
}

/// The parts of a DaemonSet's pod template that decide placement.
#[derive(Clone, Debug, Default)]
pub struct DaemonPod {
    node_name: Option<String>,
    node_selector: BTreeMap<String, String>,
    required: Option<NodeSelector>,
    tolerations: Vec<Toleration>,
}

impl DaemonPod {
    /// The daemon pod of `ds`, with the automatic tolerations added.
    pub fn of(ds: &DaemonSet) -> Self {
        let spec = ds
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.clone())
            .unwrap_or_default();
        let required = spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .clone()
            });
        let mut with_tolerations = spec.clone();
        add_daemon_tolerations(&mut with_tolerations);
        Self {
            node_name: spec.node_name.filter(|n| !n.is_empty()),
            node_selector: spec.node_selector.unwrap_or_default(),
            required,
            tolerations: with_tolerations.tolerations.unwrap_or_default(),
        }
    }

    /// Upstream's NodeShouldRunDaemonPod.
    pub fn placement(&self, node: &Node) -> Placement {
        let never = Placement {
            should_run: false,
            should_continue_running: false,
        };
        let name = node.metadata.name.as_deref().unwrap_or_default();
        if self.node_name.as_deref().is_some_and(|n| n != name) || !self.fits_affinity(node) {
            return never;
        }
        let taints = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_deref())
            .unwrap_or_default();
        let untolerated = |effects: &[&str]| {
            taints.iter().any(|t| {
                effects.contains(&t.effect.as_str())
                    && !self.tolerations.iter().any(|tol| tolerates(tol, t))
            })
        };
        if untolerated(&["NoSchedule", "NoExecute"]) {
            return Placement {
                should_run: false,
                should_continue_running: !untolerated(&["NoExecute"]),
            };
        }
        Placement {
            should_run: true,
            should_continue_running: true,
        }
    }

    fn fits_affinity(&self, node: &Node) -> bool {
        let empty = BTreeMap::new();
        let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
        let selector_fits = self
            .node_selector
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v));
        selector_fits
            && self.required.as_ref().is_none_or(|r| {
                let name = node.metadata.name.as_deref().unwrap_or_default();
                r.node_selector_terms
                    .iter()
                    .any(|t| term_matches(t, labels, name))
            })
    }
}

/// A term matches when it has requirements and all of them hold; an empty
/// term matches nothing (as upstream).
fn term_matches(term: &NodeSelectorTerm, labels: &BTreeMap<String, String>, name: &str) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            r.key == NODE_NAME_FIELD
                && matches!(r.operator.as_str(), "In" | "NotIn")
                && requirement_matches(r, Some(name))
        })
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    let number = |s: &str| s.parse::<i64>().ok();
    let compare = |want: std::cmp::Ordering| {
        let (Some(v), [bound]) = (value.and_then(number), values) else {
            return false;
        };
        number(bound).is_some_and(|b| v.cmp(&b) == want)
    };
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" => compare(std::cmp::Ordering::Greater),
        "Lt" => compare(std::cmp::Ordering::Less),
        _ => false,
    }
}

/// Upstream's AddOrUpdateDaemonPodTolerations: every daemon pod tolerates
/// node conditions it must survive (and `network-unavailable` when it uses
/// the host's network).
pub fn add_daemon_tolerations(spec: &mut PodSpec) {
    let host_network = spec.host_network == Some(true);
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    let extra = host_network.then_some(NETWORK_UNAVAILABLE);
    for (key, effect) in DAEMON_TOLERATIONS.into_iter().chain(extra) {
        let wanted = Toleration {
            key: Some(key.to_string()),
            operator: Some("Exists".into()),
            effect: Some(effect.to_string()),
            ..Default::default()
        };
        let same_target = |t: &Toleration| {
            t.key == wanted.key && t.effect == wanted.effect && t.operator == wanted.operator
        };
        match tolerations.iter_mut().find(|t| same_target(t)) {
            Some(existing) => *existing = wanted,
            None => tolerations.push(wanted),
        }
    }
}

/// The node a DaemonSet pod is for: `spec.nodeName` once bound, else the
/// `metadata.name In [node]` term of its required node affinity.
pub fn target_node(spec: Option<&PodSpec>) -> Option<&str> {
    let spec = spec?;
    if let Some(n) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        return Some(n);
    }
    spec.affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|r| r.key == NODE_NAME_FIELD && r.operator == "In")
        .and_then(|r| match r.values.as_deref() {
            Some([one]) => Some(one.as_str()),
            _ => None,
        })
}

/// Upstream's ReplaceDaemonSetPodNodeNameNodeAffinity: the pod's required
/// node affinity becomes the single term `metadata.name In [node]` (the
/// controller has already checked the node fits the original terms).
pub fn pin_to_node(spec: &mut PodSpec, node: &str) {
    let term = NodeSelectorTerm {
        match_fields: Some(vec![NodeSelectorRequirement {
            key: NODE_NAME_FIELD.into(),
            operator: "In".into(),
            values: Some(vec![node.to_string()]),
        }]),
        match_expressions: None,
    };
    let affinity = spec.affinity.get_or_insert_with(Default::default);
    let node_affinity = affinity.node_affinity.get_or_insert_with(Default::default);
    node_affinity.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
        node_selector_terms: vec![term],
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ds(spec: serde_json::Value) -> DaemonSet {
        serde_json::from_value(json!({"metadata": {"name": "d"}, "spec": {
            "selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}}, "spec": spec}}}))
        .expect("daemonset")
    }

    fn node(name: &str, labels: serde_json::Value, taints: serde_json::Value) -> Node {
        serde_json::from_value(json!({"metadata": {"name": name, "labels": labels},
            "spec": {"taints": taints}}))
        .expect("node")
    }

    fn placement(spec: serde_json::Value, n: &Node) -> (bool, bool) {
        let p = DaemonPod::of(&ds(spec)).placement(n);
        (p.should_run, p.should_continue_running)
    }

    #[test]
    fn taints_keep_daemon_pods_off_unless_tolerated() {
        let containers = json!([{"name": "c", "image": "i"}]);
        let plain = node("a", json!({}), json!([]));
        let no_schedule = node(
            "b",
            json!({}),
            json!([{"key": "k", "effect": "NoSchedule"}]),
        );
        let no_execute = node("c", json!({}), json!([{"key": "k", "effect": "NoExecute"}]));
        let spec = json!({"containers": containers});
        assert_eq!(placement(spec.clone(), &plain), (true, true));
        assert_eq!(placement(spec.clone(), &no_schedule), (false, true));
        assert_eq!(placement(spec.clone(), &no_execute), (false, false));
        let tolerant = json!({"containers": containers,
            "tolerations": [{"key": "k", "operator": "Exists"}]});
        assert_eq!(placement(tolerant, &no_execute), (true, true));
        let cordoned = node(
            "d",
            json!({}),
            json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
                   {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]),
        );
        assert_eq!(
            placement(spec, &cordoned),
            (true, true),
            "automatic tolerations"
        );
    }

    #[test]
    fn selectors_and_required_affinity_must_match() {
        let edge = node("edge-1", json!({"role": "edge", "cores": "8"}), json!([]));
        let core = node("core-1", json!({"role": "core"}), json!([]));
        let by_label = json!({"containers": [], "nodeSelector": {"role": "edge"}});
        assert_eq!(placement(by_label.clone(), &edge), (true, true));
        assert_eq!(placement(by_label, &core), (false, false));
        let affinity = |term: serde_json::Value| {
            json!({"containers": [], "affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}})
        };
        let gt = affinity(
            json!({"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["4"]}]}),
        );
        assert_eq!(placement(gt.clone(), &edge), (true, true));
        assert_eq!(placement(gt, &core), (false, false));
        let by_name = affinity(
            json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["core-1"]}]}),
        );
        assert_eq!(placement(by_name.clone(), &core), (true, true));
        assert_eq!(placement(by_name, &edge), (false, false));
        assert_eq!(
            placement(affinity(json!({})), &edge),
            (false, false),
            "empty term"
        );
        let named = json!({"containers": [], "nodeName": "core-1"});
        assert_eq!(placement(named, &edge), (false, false));
    }

    #[test]
    fn pods_are_pinned_by_one_name_term_and_found_by_it() {
        let mut spec: PodSpec = serde_json::from_value(json!({"containers": [],
            "hostNetwork": true,
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["old"]}]},
                                       {"matchExpressions": [{"key": "x", "operator": "Exists"}]}]}}}}))
        .expect("spec");
        pin_to_node(&mut spec, "n1");
        let terms = &spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .expect("required")
            .node_selector_terms;
        assert_eq!(terms.len(), 1);
        assert_eq!(target_node(Some(&spec)), Some("n1"));
        spec.node_name = Some("bound".into());
        assert_eq!(target_node(Some(&spec)), Some("bound"));
        add_daemon_tolerations(&mut spec);
        add_daemon_tolerations(&mut spec);
        assert_eq!(
            spec.tolerations.as_ref().map(Vec::len),
            Some(7),
            "no duplicates; hostNetwork adds one"
        );
    }
}
