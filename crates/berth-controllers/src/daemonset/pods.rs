//! Finding a DaemonSet's pods without scanning every pod: an index kept by
//! the pod handler (pods by controlling DaemonSet, orphans by namespace),
//! the claim (adopt matching orphans, release owned pods that stopped
//! matching) and the grouping of claimed pods by their target node.
//!
//! Invariant: the handler updates the index before it reports a creation
//! to the expectations, so once expectations are satisfied the index holds
//! every pod the controller created.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};

use super::Context;
use super::eligibility::target_node;
use crate::Error;
use crate::controller_ref::{self, controller_of};

/// Pods by node name (the node they are bound to or pinned to).
pub type NodePods = HashMap<String, Vec<Arc<Pod>>>;

#[derive(Default)]
struct Inner {
    /// DaemonSet uid → its pods.
    owned: HashMap<String, HashSet<ObjectRef<Pod>>>,
    /// Namespace → pods without a controller.
    orphans: HashMap<String, HashSet<ObjectRef<Pod>>>,
}

/// Pods that a DaemonSet owns or could adopt.
#[derive(Default)]
pub struct PodIndex {
    inner: Mutex<Inner>,
}

/// Where a pod is filed: under its controlling DaemonSet's uid, under its
/// namespace as an orphan, or nowhere (someone else's pod).
enum Slot {
    Owned(String),
    Orphan(String),
    Elsewhere,
}

fn slot(pod: &Pod) -> Slot {
    match controller_of(&pod.metadata) {
        Some(r) if r.kind == "DaemonSet" => Slot::Owned(r.uid.clone()),
        Some(_) => Slot::Elsewhere,
        None => Slot::Orphan(pod.namespace().unwrap_or_default()),
    }
}

impl PodIndex {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Files `pod` (created or updated; `old` is its previous state).
    pub fn applied(&self, old: Option<&Pod>, pod: &Pod) {
        let r = ObjectRef::from_obj(pod);
        let mut inner = self.lock();
        if let Some(old) = old {
            inner.remove(&slot(old), &r);
        }
        inner.insert(slot(pod), r);
    }

    /// Forgets a deleted pod.
    pub fn deleted(&self, pod: &Pod) {
        self.lock().remove(&slot(pod), &ObjectRef::from_obj(pod));
    }

    /// The pods owned by the DaemonSet with `uid` and the orphans of `ns`.
    pub fn candidates(&self, ns: &str, uid: &str) -> Vec<ObjectRef<Pod>> {
        let inner = self.lock();
        let owned = inner.owned.get(uid).into_iter().flatten();
        let orphans = inner.orphans.get(ns).into_iter().flatten();
        owned.chain(orphans).cloned().collect()
    }
}

impl Inner {
    fn insert(&mut self, slot: Slot, r: ObjectRef<Pod>) {
        match slot {
            Slot::Owned(uid) => self.owned.entry(uid).or_default().insert(r),
            Slot::Orphan(ns) => self.orphans.entry(ns).or_default().insert(r),
            Slot::Elsewhere => false,
        };
    }

    fn remove(&mut self, slot: &Slot, r: &ObjectRef<Pod>) {
        let (map, key) = match slot {
            Slot::Owned(uid) => (&mut self.owned, uid),
            Slot::Orphan(ns) => (&mut self.orphans, ns),
            Slot::Elsewhere => return,
        };
        if let Some(set) = map.get_mut(key) {
            set.remove(r);
            if set.is_empty() {
                map.remove(key);
            }
        }
    }
}

/// Upstream's ClaimPods over the indexed candidates: owned pods that match
/// are kept (all of them while the DaemonSet is being deleted), owned pods
/// that do not are released, matching orphans are adopted once a fresh
/// read shows the DaemonSet alive.
pub async fn claim(
    ctx: &Context,
    ds: &DaemonSet,
    selector: &berth_api::LabelSelector,
) -> Result<Vec<Arc<Pod>>, Error> {
    let uid = ds.uid().unwrap_or_default();
    let ns = ds.namespace().unwrap_or_default();
    let deleting = ds.metadata.deletion_timestamp.is_some();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let mut claimed = Vec::new();
    let mut can_adopt: Option<bool> = None;
    for pod in resolve(&ctx.pods, ctx.index.candidates(&ns, &uid)) {
        let matches = !selector.is_empty() && selector.matches(pod.labels());
        let pod_uid = pod.uid().unwrap_or_default();
        match controller_of(&pod.metadata) {
            Some(r) if r.uid == uid => {
                if matches || deleting {
                    claimed.push(pod);
                } else {
                    controller_ref::release(&api, &pod.name_any(), &pod_uid, &uid).await?;
                }
            }
            Some(_) => {}
            None if matches && !deleting && pod.metadata.deletion_timestamp.is_none() => {
                let live = match can_adopt {
                    Some(live) => live,
                    None => {
                        *can_adopt.insert(crate::controller_ref::can_adopt(&ctx.client, ds).await?)
                    }
                };
                if live {
                    controller_ref::adopt(&api, &pod.name_any(), &pod_uid, ds).await?;
                    claimed.push(pod);
                }
            }
            None => {}
        }
    }
    Ok(claimed)
}

fn resolve(store: &Store<Pod>, refs: Vec<ObjectRef<Pod>>) -> impl Iterator<Item = Arc<Pod>> + '_ {
    refs.into_iter().filter_map(|r| store.get(&r))
}

/// Groups pods by target node; pods with none are left out (as upstream).
pub fn by_node(pods: &[Arc<Pod>]) -> NodePods {
    let mut map = NodePods::new();
    for pod in pods {
        if let Some(node) = target_node(pod.spec.as_ref()) {
            map.entry(node.to_string()).or_default().push(pod.clone());
        }
    }
    map
}

/// Upstream's podByCreationTimestampAndPhase: bound pods first, then oldest,
/// then by name.
pub fn oldest_first(pods: &mut [Arc<Pod>]) {
    pods.sort_by(|a, b| {
        let unbound = |p: &Pod| {
            p.spec
                .as_ref()
                .and_then(|s| s.node_name.as_deref())
                .is_none_or(str::is_empty)
        };
        let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
        unbound(a)
            .cmp(&unbound(b))
            .then_with(|| created(a).cmp(&created(b)))
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, owner: Option<(&str, &str)>) -> Pod {
        let refs = owner.map(|(kind, uid)| {
            json!([{"apiVersion": "apps/v1", "kind": kind,
            "name": "x", "uid": uid, "controller": true}])
        });
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": "ns",
            "ownerReferences": refs}}))
        .expect("pod")
    }

    #[test]
    fn the_index_follows_owners_and_orphans() {
        let index = PodIndex::default();
        let orphan = pod("a", None);
        index.applied(None, &orphan);
        index.applied(None, &pod("b", Some(("DaemonSet", "u1"))));
        index.applied(None, &pod("c", Some(("ReplicaSet", "u2"))));
        let names = |uid: &str| {
            let mut n: Vec<String> = index
                .candidates("ns", uid)
                .into_iter()
                .map(|r| r.name)
                .collect();
            n.sort();
            n
        };
        assert_eq!(names("u1"), ["a", "b"]);
        let adopted = pod("a", Some(("DaemonSet", "u1")));
        index.applied(Some(&orphan), &adopted);
        assert_eq!(names("u3"), Vec::<String>::new(), "no orphans left");
        assert_eq!(names("u1"), ["a", "b"]);
        index.deleted(&adopted);
        assert_eq!(names("u1"), ["b"]);
    }
}
