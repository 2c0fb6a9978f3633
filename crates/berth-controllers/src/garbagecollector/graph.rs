//! The ownership graph: every object of every watched kind with its
//! ownerReferences, and the reverse index owner uid → dependent uids.
//!
//! Invariant: `dependents[o]` holds exactly the uids of nodes that have an
//! ownerReference to `o` (the owner itself may be absent from `nodes`).
//! Updating the graph returns the [`Work`] it makes necessary, as upstream's
//! `processGraphChanges` does; "owner absent" work is only produced once
//! the graph is synced (every kind listed), since before that an absent
//! owner may simply not have been listed yet.

use std::collections::{HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";

/// Which object a node is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectId {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
}

/// One object as the collector sees it.
#[derive(Clone, Debug)]
pub struct Node {
    pub id: ObjectId,
    pub owners: Vec<OwnerReference>,
    pub being_deleted: bool,
    pub finalizers: Vec<String>,
}

impl Node {
    pub fn new(id: ObjectId, meta: &ObjectMeta) -> Self {
        Self {
            id,
            owners: meta.owner_references.clone().unwrap_or_default(),
            being_deleted: meta.deletion_timestamp.is_some(),
            finalizers: meta.finalizers.clone().unwrap_or_default(),
        }
    }

    /// Being deleted in the foreground: waits for its blocking dependents.
    pub fn deleting_dependents(&self) -> bool {
        self.being_deleted && self.finalizers.iter().any(|f| f == FOREGROUND)
    }

    /// Being deleted with the orphan policy.
    pub fn orphaning(&self) -> bool {
        self.being_deleted && self.finalizers.iter().any(|f| f == ORPHAN)
    }
}

/// What the collector must do about an object (by uid).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Work {
    /// Check the object's owners; delete it if none is left.
    AttemptToDelete(String),
    /// A foreground-deleting owner: finalize it once no blocking dependent is left.
    DeletingDependents(String),
    /// An orphan-deleting owner: strip its dependents' references, then finalize it.
    Orphan(String),
}

#[derive(Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    dependents: HashMap<String, HashSet<String>>,
    synced: bool,
}

impl Graph {
    pub fn get(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    /// The uids of the objects that name `uid` as an owner.
    pub fn dependents(&self, uid: &str) -> Vec<String> {
        self.dependents
            .get(uid)
            .map(|d| d.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Dependents whose reference to `owner` has `blockOwnerDeletion: true`.
    pub fn blocking_dependents(&self, owner: &str) -> Vec<&Node> {
        self.dependents(owner)
            .iter()
            .filter_map(|d| self.nodes.get(d))
            .filter(|n| {
                n.owners
                    .iter()
                    .any(|r| r.uid == owner && r.block_owner_deletion == Some(true))
            })
            .collect()
    }

    /// Every kind has been listed: returns the work for dependents of absent owners.
    pub fn mark_synced(&mut self) -> Vec<Work> {
        self.synced = true;
        self.nodes
            .values()
            .filter(|n| n.owners.iter().any(|r| !self.nodes.contains_key(&r.uid)))
            .map(|n| Work::AttemptToDelete(n.id.uid.clone()))
            .collect()
    }

    /// An object was added or updated.
    pub fn apply(&mut self, node: Node) -> Vec<Work> {
        let uid = node.id.uid.clone();
        let old = self.nodes.remove(&uid);
        let mut work = Vec::new();
        if let Some(old) = &old {
            for r in &old.owners {
                self.unlink(&r.uid, &uid);
                if !node.owners.iter().any(|n| n.uid == r.uid) {
                    self.if_deleting_dependents(&r.uid, &mut work);
                }
            }
        }
        for r in &node.owners {
            self.dependents
                .entry(r.uid.clone())
                .or_default()
                .insert(uid.clone());
            match self.nodes.get(&r.uid) {
                None if self.synced => work.push(Work::AttemptToDelete(uid.clone())),
                Some(owner) if owner.deleting_dependents() => {
                    work.push(Work::AttemptToDelete(uid.clone()))
                }
                _ => {}
            }
        }
        if node.deleting_dependents() {
            work.push(Work::DeletingDependents(uid.clone()));
            work.extend(self.dependents(&uid).into_iter().map(Work::AttemptToDelete));
        }
        if node.orphaning() {
            work.push(Work::Orphan(uid.clone()));
        }
        if node.being_deleted && !node.deleting_dependents() {
            for r in &node.owners {
                self.if_deleting_dependents(&r.uid, &mut work);
            }
        }
        self.nodes.insert(uid, node);
        work
    }

    /// An object is gone.
    pub fn delete(&mut self, uid: &str) -> Vec<Work> {
        let Some(node) = self.nodes.remove(uid) else {
            return Vec::new();
        };
        let mut work: Vec<Work> = self
            .dependents(uid)
            .into_iter()
            .map(Work::AttemptToDelete)
            .collect();
        for r in &node.owners {
            self.unlink(&r.uid, uid);
            self.if_deleting_dependents(&r.uid, &mut work);
        }
        work
    }

    fn unlink(&mut self, owner: &str, dependent: &str) {
        if let Some(set) = self.dependents.get_mut(owner) {
            set.remove(dependent);
            if set.is_empty() {
                self.dependents.remove(owner);
            }
        }
    }

    fn if_deleting_dependents(&self, owner: &str, work: &mut Vec<Work>) {
        if self.nodes.get(owner).is_some_and(Node::deleting_dependents) {
            work.push(Work::DeletingDependents(owner.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(uid: &str, owners: &[&str], deleting: Option<&str>) -> Node {
        let meta: ObjectMeta = serde_json::from_value(json!({
            "name": uid, "uid": uid,
            "ownerReferences": owners.iter().map(|o| json!({"apiVersion": "v1", "kind": "X",
                "name": o, "uid": o, "blockOwnerDeletion": true})).collect::<Vec<_>>(),
            "deletionTimestamp": deleting.map(|_| "2024-01-01T00:00:00Z"),
            "finalizers": deleting.map(|f| vec![f]).unwrap_or_default(),
        }))
        .expect("meta");
        let id = ObjectId {
            api_version: "v1".into(),
            kind: "X".into(),
            namespace: None,
            name: uid.into(),
            uid: uid.into(),
        };
        Node::new(id, &meta)
    }

    #[test]
    fn deleting_an_owner_asks_to_delete_its_dependents() {
        let mut g = Graph::default();
        g.apply(node("owner", &[], None));
        g.apply(node("pod", &["owner"], None));
        assert!(g.mark_synced().is_empty(), "every owner is present");
        assert_eq!(g.delete("owner"), vec![Work::AttemptToDelete("pod".into())]);
    }

    #[test]
    fn a_foreground_owner_is_finalized_when_its_last_blocking_dependent_goes() {
        let mut g = Graph::default();
        g.mark_synced();
        g.apply(node("owner", &[], None));
        g.apply(node("pod", &["owner"], None));
        let work = g.apply(node("owner", &[], Some(FOREGROUND)));
        assert!(work.contains(&Work::AttemptToDelete("pod".into())));
        assert_eq!(g.blocking_dependents("owner").len(), 1);
        assert!(
            g.delete("pod")
                .contains(&Work::DeletingDependents("owner".into()))
        );
        assert!(g.blocking_dependents("owner").is_empty());
    }

    #[test]
    fn an_orphaning_owner_is_reported_and_absent_owners_wait_for_sync() {
        let mut g = Graph::default();
        assert!(
            g.apply(node("pod", &["ghost"], None)).is_empty(),
            "not synced yet"
        );
        assert_eq!(g.mark_synced(), vec![Work::AttemptToDelete("pod".into())]);
        g.apply(node("rs", &[], None));
        assert_eq!(
            g.apply(node("rs", &[], Some(ORPHAN))),
            vec![Work::Orphan("rs".into())]
        );
    }
}
