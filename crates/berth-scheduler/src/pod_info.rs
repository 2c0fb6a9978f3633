//! `PodInfo`: a pod plus everything the plugins derive from it, computed once.
//!
//! A `PodInfo` is built when a pod enters the queue or the snapshot and then
//! shared through `Arc`, so scheduling cycles never re-parse quantities,
//! selectors or affinity terms, and never clone the `Pod`.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodAffinityTerm, WeightedPodAffinityTerm};

use crate::error::SchedulerError;
use crate::resource::{self, MissingRequests, Resource};
use crate::selector::{LabelSelector, Requirement, SelectorError};

static EMPTY_LABELS: BTreeMap<String, String> = BTreeMap::new();

/// A compiled pod (anti-)affinity term.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AffinityTerm {
    /// Namespaces listed by the term (the owner's namespace when neither
    /// `namespaces` nor `namespaceSelector` is set).
    pub namespaces: Vec<String>,
    /// `namespaceSelector`; absent selects nothing, `{}` selects every namespace.
    pub namespace_selector: LabelSelector,
    /// `labelSelector`, with `matchLabelKeys` / `mismatchLabelKeys` merged in.
    pub selector: LabelSelector,
    /// The node label whose values define topology domains.
    pub topology_key: String,
}

impl AffinityTerm {
    fn compile(owner: &Pod, term: &PodAffinityTerm) -> Result<Self, SelectorError> {
        let mut selector = LabelSelector::from_api(term.label_selector.as_ref())?;
        let labels = owner.metadata.labels.as_ref().unwrap_or(&EMPTY_LABELS);
        if term.label_selector.is_some() {
            for key in term.match_label_keys.iter().flatten() {
                if let Some(value) = labels.get(key) {
                    selector.push(Requirement::is_in(key, vec![value.clone()]));
                }
            }
            for key in term.mismatch_label_keys.iter().flatten() {
                if let Some(value) = labels.get(key) {
                    selector.push(Requirement::not_in(key, vec![value.clone()]));
                }
            }
        }
        let listed = term.namespaces.clone().unwrap_or_default();
        let namespaces = if listed.is_empty() && term.namespace_selector.is_none() {
            vec![owner.metadata.namespace.clone().unwrap_or_default()]
        } else {
            listed
        };
        Ok(Self {
            namespaces,
            namespace_selector: LabelSelector::from_api(term.namespace_selector.as_ref())?,
            selector,
            topology_key: term.topology_key.clone(),
        })
    }

    /// True when `pod` is selected by this term. `namespace_labels` are the
    /// labels of the pod's namespace, when known.
    pub fn matches(
        &self,
        pod: &PodInfo,
        namespace_labels: Option<&BTreeMap<String, String>>,
    ) -> bool {
        let in_namespace = self.namespaces.iter().any(|ns| ns == pod.namespace())
            || self
                .namespace_selector
                .matches(namespace_labels.unwrap_or(&EMPTY_LABELS));
        in_namespace && self.selector.matches(pod.labels())
    }
}

/// An affinity term with its preference weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedAffinityTerm {
    /// The term.
    pub term: AffinityTerm,
    /// Its weight (1-100).
    pub weight: i64,
}

/// A host port a pod wants: `(hostIP, protocol, hostPort)` with upstream's
/// defaults applied (`0.0.0.0`, `TCP`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// The host IP, `0.0.0.0` meaning every address.
    pub ip: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// The port number (> 0).
    pub port: i32,
}

/// A pod with its derived scheduling data. Invariant: every field is derived
/// from `pod` and never changes; a pod update builds a new `PodInfo`.
#[derive(Debug, Clone)]
pub struct PodInfo {
    pod: Arc<Pod>,
    key: String,
    /// The effective request (missing requests count as zero).
    pub requests: Resource,
    /// The effective request with scoring defaults for missing cpu/memory.
    pub non_zero_requests: Resource,
    /// Required pod affinity terms.
    pub required_affinity: Vec<AffinityTerm>,
    /// Required pod anti-affinity terms.
    pub required_anti_affinity: Vec<AffinityTerm>,
    /// Preferred pod affinity terms.
    pub preferred_affinity: Vec<WeightedAffinityTerm>,
    /// Preferred pod anti-affinity terms.
    pub preferred_anti_affinity: Vec<WeightedAffinityTerm>,
    /// Host ports of app containers and sidecars.
    pub host_ports: Vec<HostPort>,
}

impl PodInfo {
    /// Derives the scheduling data of a pod.
    pub fn new(pod: Arc<Pod>) -> Result<Self, SchedulerError> {
        let key = pod_key(&pod);
        let resource_err = |source| SchedulerError::InvalidPodResources {
            pod: key.clone(),
            source,
        };
        let requests = resource::pod_requests(&pod, MissingRequests::Zero).map_err(resource_err)?;
        let non_zero_requests =
            resource::pod_requests(&pod, MissingRequests::NonZeroDefaults).map_err(resource_err)?;
        let selector_err = |source| SchedulerError::InvalidPodSelector {
            pod: key.clone(),
            source,
        };
        let affinity = pod.spec.as_ref().and_then(|s| s.affinity.as_ref());
        let pod_affinity = affinity.and_then(|a| a.pod_affinity.as_ref());
        let anti = affinity.and_then(|a| a.pod_anti_affinity.as_ref());
        let required_affinity = compile_terms(
            &pod,
            pod_affinity.and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_deref()
            }),
        )
        .map_err(selector_err)?;
        let required_anti_affinity = compile_terms(
            &pod,
            anti.and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_deref()
            }),
        )
        .map_err(selector_err)?;
        let preferred_affinity = compile_weighted(
            &pod,
            pod_affinity.and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_deref()
            }),
        )
        .map_err(selector_err)?;
        let preferred_anti_affinity = compile_weighted(
            &pod,
            anti.and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_deref()
            }),
        )
        .map_err(selector_err)?;
        let host_ports = host_ports(&pod);
        Ok(Self {
            pod,
            key,
            requests,
            non_zero_requests,
            required_affinity,
            required_anti_affinity,
            preferred_affinity,
            preferred_anti_affinity,
            host_ports,
        })
    }

    /// The pod.
    pub fn pod(&self) -> &Arc<Pod> {
        &self.pod
    }

    /// `namespace/name`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The pod's namespace.
    pub fn namespace(&self) -> &str {
        self.pod.metadata.namespace.as_deref().unwrap_or_default()
    }

    /// The pod's labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        self.pod.metadata.labels.as_ref().unwrap_or(&EMPTY_LABELS)
    }

    /// `spec.priority`, 0 when unset.
    pub fn priority(&self) -> i32 {
        self.pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
    }

    /// True when the pod is being deleted.
    pub fn is_terminating(&self) -> bool {
        self.pod.metadata.deletion_timestamp.is_some()
    }

    /// True when the pod has any pod affinity or anti-affinity term.
    pub fn has_affinity(&self) -> bool {
        !(self.required_affinity.is_empty()
            && self.required_anti_affinity.is_empty()
            && self.preferred_affinity.is_empty()
            && self.preferred_anti_affinity.is_empty())
    }
}

/// `namespace/name` of a pod.
pub fn pod_key(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    )
}

fn compile_terms(
    pod: &Pod,
    terms: Option<&[PodAffinityTerm]>,
) -> Result<Vec<AffinityTerm>, SelectorError> {
    terms
        .unwrap_or_default()
        .iter()
        .map(|t| AffinityTerm::compile(pod, t))
        .collect()
}

fn compile_weighted(
    pod: &Pod,
    terms: Option<&[WeightedPodAffinityTerm]>,
) -> Result<Vec<WeightedAffinityTerm>, SelectorError> {
    terms
        .unwrap_or_default()
        .iter()
        .map(|t| {
            Ok(WeightedAffinityTerm {
                term: AffinityTerm::compile(pod, &t.pod_affinity_term)?,
                weight: i64::from(t.weight),
            })
        })
        .collect()
}

fn host_ports(pod: &Pod) -> Vec<HostPort> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| resource::is_restartable(c));
    sidecars
        .chain(spec.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let port = p.host_port.filter(|port| *port > 0)?;
            Some(HostPort {
                ip: p
                    .host_ip
                    .clone()
                    .filter(|ip| !ip.is_empty())
                    .unwrap_or_else(|| "0.0.0.0".to_owned()),
                protocol: p
                    .protocol
                    .clone()
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "TCP".to_owned()),
                port,
            })
        })
        .collect()
}
