//! One step of a DaemonSet RollingUpdate, as upstream's `rollingUpdate`:
//! without surge, delete old pods while at most `maxUnavailable` nodes lack
//! an available pod (the manage step then creates the new ones); with
//! surge, create new pods next to old ones (at most `maxSurge` at a time)
//! and delete each old pod once its replacement is available. Pure.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::eligibility::DaemonPod;
use super::manage::Plan;
use super::pods::NodePods;
use super::revisions::{CONTROLLER_REVISION_HASH, TEMPLATE_GENERATION};
use crate::deployment::rolling::scaled_value;
use crate::pod_state;

/// True when `pod` runs the current template: its revision hash or its
/// template generation is the DaemonSet's (upstream's IsPodUpdated).
pub fn is_updated(pod: &Pod, hash: &str, generation: Option<&str>) -> bool {
    let labels = pod.metadata.labels.as_ref();
    let label = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    (!hash.is_empty() && label(CONTROLLER_REVISION_HASH) == Some(hash))
        || generation.is_some_and(|g| label(TEMPLATE_GENERATION) == Some(g))
}

/// The RollingUpdate knobs.
fn rolling(ds: &DaemonSet) -> (Option<&IntOrString>, Option<&IntOrString>) {
    let r = ds
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    (
        r.and_then(|r| r.max_surge.as_ref()),
        r.and_then(|r| r.max_unavailable.as_ref()),
    )
}

/// True when the DaemonSet may run two pods on a node during an update.
pub fn allows_surge(ds: &DaemonSet) -> bool {
    scaled_value(rolling(ds).0, 1, true, 0) != 0
}

/// (maxSurge, maxUnavailable) over `desired` nodes, both rounded up; never
/// both zero (upstream's updatedDesiredNodeCounts).
pub fn limits(ds: &DaemonSet, desired: i32) -> (i32, i32) {
    let (surge, unavailable) = rolling(ds);
    let surge = scaled_value(surge, desired, true, 0);
    let mut unavailable = match unavailable {
        None => 1,
        v => scaled_value(v, desired, true, 0),
    };
    if desired > 0 && surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

/// A node's (new, old) live pods, either possibly missing.
type NewAndOld<'a> = (Option<&'a Arc<Pod>>, Option<&'a Arc<Pod>>);

/// A node's live pods split into the new and the old one; `None` when
/// there are several of either (the manage step cleans those up).
fn split<'a>(pods: &'a [Arc<Pod>], hash: &str, generation: Option<&str>) -> Option<NewAndOld<'a>> {
    let (mut new, mut old) = (None, None);
    for pod in pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
    {
        let slot = if is_updated(pod, hash, generation) {
            &mut new
        } else {
            &mut old
        };
        if slot.replace(pod).is_some() {
            return None;
        }
    }
    Some((new, old))
}

/// The inputs of one step.
pub struct Step<'a> {
    pub ds: &'a DaemonSet,
    pub daemon_pod: &'a DaemonPod,
    pub hash: &'a str,
    pub generation: Option<&'a str>,
    pub now: Timestamp,
}

impl Step<'_> {
    fn available(&self, pod: &Pod) -> bool {
        let min_ready = self
            .ds
            .spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0);
        pod_state::is_available(pod, min_ready, self.now)
    }

    /// The pods to delete and nodes to create on for this step.
    pub fn plan(&self, nodes: &[Arc<Node>], by_node: &NodePods) -> Plan {
        let mut view: HashMap<&str, &[Arc<Pod>]> = by_node
            .iter()
            .map(|(n, p)| (n.as_str(), p.as_slice()))
            .collect();
        let mut desired = 0;
        for node in nodes {
            if self.daemon_pod.placement(node).should_run {
                desired += 1;
                view.entry(node.metadata.name.as_deref().unwrap_or_default())
                    .or_insert(&[]);
            }
        }
        let (surge, unavailable) = limits(self.ds, desired);
        let mut names: Vec<&str> = view.keys().copied().collect();
        names.sort_unstable();
        if surge == 0 {
            self.without_surge(&names, &view, unavailable)
        } else {
            let nodes: HashMap<&str, &Node> = nodes
                .iter()
                .map(|n| (n.metadata.name.as_deref().unwrap_or_default(), &**n))
                .collect();
            self.with_surge(&names, &view, &nodes, surge, desired)
        }
    }

    fn without_surge(&self, names: &[&str], view: &HashMap<&str, &[Arc<Pod>]>, max: i32) -> Plan {
        let mut unavailable = 0;
        let (mut replace, mut candidates) = (Vec::new(), Vec::new());
        for name in names {
            let Some((new, old)) = split(view[name], self.hash, self.generation) else {
                unavailable += 1;
                continue;
            };
            match (new, old) {
                (None, None) | (Some(_), Some(_)) => unavailable += 1,
                (Some(new), None) => unavailable += i32::from(!self.available(new)),
                (None, Some(old)) if !self.available(old) => {
                    replace.push(old.clone());
                    unavailable += 1;
                }
                (None, Some(_)) if unavailable >= max => {}
                (None, Some(old)) => candidates.push(old.clone()),
            }
        }
        let room = usize::try_from(max - unavailable)
            .unwrap_or(0)
            .min(candidates.len());
        replace.extend(candidates.into_iter().take(room));
        Plan {
            delete: replace,
            ..Plan::default()
        }
    }

    fn with_surge(
        &self,
        names: &[&str],
        view: &HashMap<&str, &[Arc<Pod>]>,
        nodes: &HashMap<&str, &Node>,
        max_surge: i32,
        desired: i32,
    ) -> Plan {
        let mut plan = Plan::default();
        let (mut surging, mut available) = (0, 0);
        let (mut allowed, mut candidates, mut sunset) = (Vec::new(), Vec::new(), Vec::new());
        let should_run = |n: &str| {
            nodes
                .get(n)
                .is_some_and(|node| self.daemon_pod.placement(node).should_run)
        };
        for name in names {
            let Some((new, old)) = split(view[name], self.hash, self.generation) else {
                surging += 1;
                continue;
            };
            if old.or(new).is_some_and(|p| self.available(p)) {
                available += 1;
            }
            match (new, old) {
                (_, None) => {}
                (None, Some(old)) if !self.available(old) => {
                    if should_run(name) {
                        allowed.push(name.to_string());
                    } else {
                        plan.delete.push(old.clone());
                    }
                }
                (None, Some(old)) if !should_run(name) => sunset.push(old.clone()),
                (None, Some(_)) if surging >= max_surge => {}
                (None, Some(_)) => candidates.push(name.to_string()),
                (Some(new), Some(_)) if !self.available(new) => surging += 1,
                (Some(_), Some(old)) => plan.delete.push(old.clone()),
            }
        }
        let deletable = usize::try_from(available - desired)
            .unwrap_or(0)
            .min(sunset.len());
        plan.delete.extend(sunset.into_iter().take(deletable));
        let room = usize::try_from(max_surge - surging)
            .unwrap_or(0)
            .min(candidates.len());
        allowed.extend(candidates.into_iter().take(room));
        plan.create_on = allowed;
        plan
    }
}

#[cfg(test)]
mod tests;
