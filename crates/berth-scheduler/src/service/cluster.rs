//! The scheduler's view of the cluster: the [`Snapshot`] plus what the
//! watchers told us that the snapshot does not hold (PriorityClasses,
//! workload selectors, the lifecycle of every pod), and the application of
//! watch events to it and to the queue (upstream's scheduler cache and
//! event handlers).

mod pods;

use std::collections::{BTreeMap, HashMap, HashSet};

use k8s_openapi::api::core::v1::{Namespace, Node};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::runtime::watcher::Event;

pub(crate) use pods::PodState;

use super::informer::{Update, Workload};
use super::priority::PriorityClasses;
use crate::framework::{ActionType, ClusterEvent, EventResource, node_update_actions};
use crate::queue::{SchedulingQueue, SystemClock};
use crate::snapshot::{DisruptionBudget, Snapshot, WorkloadSelector};

/// The kinds whose first complete list the loop waits for before scheduling.
const SYNCED_KINDS: [&str; 7] = [
    "PriorityClass",
    "Namespace",
    "Node",
    "Pod",
    "Service",
    "ReplicaSet",
    "StatefulSet",
];

/// The keys seen during a re-list of one kind, to find objects deleted
/// while the watch was down.
#[derive(Debug, Default)]
struct Relist {
    seen: HashMap<&'static str, HashSet<String>>,
}

/// Cluster state owned by the scheduling loop. Invariant: every pod in
/// `pods` as `Assigned` or `Assumed` is accounted in `snapshot` on that
/// node, and every `Pending` pod is in the queue or in flight.
pub(crate) struct ClusterState {
    pub snapshot: Snapshot,
    pub pods: HashMap<String, PodState>,
    scheduler_names: HashSet<String>,
    priority_classes: PriorityClasses,
    workloads: BTreeMap<String, WorkloadSelector>,
    workloads_dirty: bool,
    budgets: BTreeMap<String, DisruptionBudget>,
    budgets_dirty: bool,
    relist: Relist,
    synced: HashSet<&'static str>,
    /// Pod events received before the PriorityClasses were listed.
    early_pods: Vec<Event<k8s_openapi::api::core::v1::Pod>>,
}

/// The queue type the service uses.
pub(crate) type Queue = SchedulingQueue<SystemClock>;

impl ClusterState {
    /// An empty view for the given profiles' scheduler names.
    pub fn new(scheduler_names: HashSet<String>) -> Self {
        Self {
            snapshot: Snapshot::new(),
            pods: HashMap::new(),
            scheduler_names,
            priority_classes: PriorityClasses::default(),
            workloads: BTreeMap::new(),
            workloads_dirty: false,
            budgets: BTreeMap::new(),
            budgets_dirty: false,
            relist: Relist::default(),
            synced: HashSet::new(),
            early_pods: Vec::new(),
        }
    }

    /// True once every kind was listed completely at least once.
    pub fn is_synced(&self) -> bool {
        self.synced.len() == SYNCED_KINDS.len()
    }

    /// Applies one watch update to the snapshot and the queue.
    pub fn apply(&mut self, update: Update, queue: &mut Queue) {
        match update {
            Update::Node(event) => self.node_event(*event, queue),
            Update::Pod(event) if !self.synced.contains("PriorityClass") => {
                self.early_pods.push(*event);
            }
            Update::Pod(event) => self.pod_event(*event, queue),
            Update::Namespace(event) => self.namespace_event(*event),
            Update::PriorityClass(event) => self.priority_class_event(*event, queue),
            Update::Workload(kind, event) => self.workload_event(kind, event),
            Update::DisruptionBudget(event) => self.budget_event(event),
        }
    }

    fn budget_event(&mut self, event: Event<(String, DisruptionBudget)>) {
        match event {
            Event::Apply((key, budget)) | Event::InitApply((key, budget)) => {
                self.budgets.insert(key, budget);
            }
            Event::Delete((key, _)) => {
                self.budgets.remove(&key);
            }
            Event::Init => self.budgets.clear(),
            Event::InitDone => {}
        }
        self.budgets_dirty = true;
    }

    /// Pushes changed workload selectors and disruption budgets into the
    /// snapshot (once per batch).
    pub fn refresh_workloads(&mut self) {
        if std::mem::take(&mut self.budgets_dirty) {
            let budgets = self.budgets.values().cloned().collect();
            self.snapshot.set_disruption_budgets(budgets);
        }
        if std::mem::take(&mut self.workloads_dirty) {
            let selectors = self.workloads.values().cloned().collect();
            self.snapshot.set_workload_selectors(selectors);
        }
    }

    fn mark_synced(&mut self, kind: &'static str) {
        if self.synced.insert(kind) {
            tracing::debug!(kind, "initial list complete");
        }
    }

    fn node_event(&mut self, event: Event<Node>, queue: &mut Queue) {
        match event {
            Event::Apply(node) => self.upsert_node(node, queue),
            Event::InitApply(node) => {
                self.relist
                    .see("Node", node.metadata.name.as_deref().unwrap_or_default());
                self.upsert_node(node, queue);
            }
            Event::Delete(node) => {
                self.snapshot
                    .remove_node(node.metadata.name.as_deref().unwrap_or_default());
            }
            Event::Init => self.relist.begin("Node"),
            Event::InitDone => {
                let known: Vec<String> = self
                    .snapshot
                    .nodes()
                    .iter()
                    .map(|n| n.name().to_owned())
                    .collect();
                for name in self.relist.finish("Node", known) {
                    self.snapshot.remove_node(&name);
                }
                self.mark_synced("Node");
            }
        }
    }

    fn upsert_node(&mut self, node: Node, queue: &mut Queue) {
        let name = node.metadata.name.clone().unwrap_or_default();
        let action = match self.snapshot.node_by_name(&name) {
            Some(old) => node_update_actions(old.node(), &node),
            None => ActionType::ADD,
        };
        if let Err(error) = self.snapshot.upsert_node(node) {
            tracing::warn!(%error, node = %name, "ignoring node");
            return;
        }
        if action != ActionType::NONE {
            queue.move_all_to_active_or_backoff(&ClusterEvent::new(EventResource::Node, action));
        }
    }

    fn namespace_event(&mut self, event: Event<Namespace>) {
        let labels = |ns: &Namespace| ns.metadata.labels.clone().unwrap_or_default();
        match event {
            Event::Apply(ns) | Event::InitApply(ns) => {
                let name = ns.metadata.name.clone().unwrap_or_default();
                self.snapshot.set_namespace_labels(&name, labels(&ns));
            }
            Event::Delete(ns) => {
                let name = ns.metadata.name.clone().unwrap_or_default();
                self.snapshot.set_namespace_labels(&name, BTreeMap::new());
            }
            Event::Init => {}
            Event::InitDone => self.mark_synced("Namespace"),
        }
    }

    fn priority_class_event(&mut self, event: Event<PriorityClass>, queue: &mut Queue) {
        match event {
            Event::Apply(class) => self.priority_classes.upsert(&class),
            Event::InitApply(class) => {
                self.relist.see(
                    "PriorityClass",
                    class.metadata.name.as_deref().unwrap_or_default(),
                );
                self.priority_classes.upsert(&class);
            }
            Event::Delete(class) => {
                self.priority_classes
                    .remove(class.metadata.name.as_deref().unwrap_or_default());
            }
            Event::Init => self.relist.begin("PriorityClass"),
            Event::InitDone => {
                let known = self.priority_classes.names();
                for name in self.relist.finish("PriorityClass", known) {
                    self.priority_classes.remove(&name);
                }
                self.mark_synced("PriorityClass");
                for event in std::mem::take(&mut self.early_pods) {
                    self.pod_event(event, queue);
                }
            }
        }
    }

    fn workload_event(&mut self, kind: &'static str, event: Event<Workload>) {
        match event {
            Event::Apply(w) => self.upsert_workload(w),
            Event::InitApply(w) => {
                self.relist.see(kind, &w.key);
                self.upsert_workload(w);
            }
            Event::Delete(w) => {
                self.workloads_dirty |= self.workloads.remove(&w.key).is_some();
            }
            Event::Init => self.relist.begin(kind),
            Event::InitDone => {
                let prefix = format!("{kind}/");
                let known = self
                    .workloads
                    .keys()
                    .filter(|k| k.starts_with(&prefix))
                    .cloned()
                    .collect();
                for key in self.relist.finish(kind, known) {
                    self.workloads_dirty |= self.workloads.remove(&key).is_some();
                }
                self.mark_synced(kind);
            }
        }
    }

    fn upsert_workload(&mut self, workload: Workload) {
        let changed = match workload.selector {
            Some(selector) => {
                self.workloads.insert(workload.key, selector.clone()) != Some(selector)
            }
            None => self.workloads.remove(&workload.key).is_some(),
        };
        self.workloads_dirty |= changed;
    }
}

impl Relist {
    fn begin(&mut self, kind: &'static str) {
        self.seen.insert(kind, HashSet::new());
    }

    fn see(&mut self, kind: &'static str, key: &str) {
        if let Some(seen) = self.seen.get_mut(kind) {
            seen.insert(key.to_owned());
        }
    }

    /// Ends a re-list; returns the `known` keys it did not see (deleted).
    fn finish(&mut self, kind: &'static str, known: Vec<String>) -> Vec<String> {
        let Some(seen) = self.seen.remove(kind) else {
            return Vec::new();
        };
        known.into_iter().filter(|k| !seen.contains(k)).collect()
    }
}
