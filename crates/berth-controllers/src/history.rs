//! ControllerRevisions: the history that StatefulSets and DaemonSets keep of
//! their pod templates, as upstream's `controller/history` package.
//!
//! A revision holds a patch-like `data` (the owner's template), a revision
//! number that only grows, and a name `<owner>-<hash>` where the hash covers
//! the data and the owner's `collisionCount`. Two revisions of one owner
//! with equal data are the same revision: the controller re-uses the older
//! one (bumping its number) instead of creating a duplicate.
//!
//! It is not a controller: StatefulSet and DaemonSet call these helpers.

use std::collections::HashSet;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::Error;
use crate::controller_ref::is_controlled_by;
use crate::error::is_conflict;

/// The label a StatefulSet's or DaemonSet's pods carry: their revision's
/// name (StatefulSet) or hash (DaemonSet).
pub const CONTROLLER_REVISION_HASH: &str = "controller-revision-hash";

/// Upstream's SafeEncodeString alphabet: no vowels, no look-alikes.
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// FNV-32a over `bytes` (and the collision count), safe-encoded: the hash
/// upstream puts in `pod-template-hash` and ControllerRevision names.
pub fn safe_hash(bytes: &[u8], collision_count: Option<i32>) -> String {
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u32::from(*b);
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    feed(bytes);
    if let Some(c) = collision_count {
        feed(&(c as u32).to_le_bytes());
    }
    h.to_string()
        .bytes()
        .map(|b| char::from(ALPHANUMS[usize::from(b) % ALPHANUMS.len()]))
        .collect()
}

/// The hash of a revision's data.
pub fn hash(data: &Value, collision_count: Option<i32>) -> String {
    let bytes = serde_json::to_vec(data).unwrap_or_default();
    safe_hash(&bytes, collision_count)
}

/// `<owner>-<hash>`, the owner's name cut so the whole stays a valid name.
pub fn revision_name(owner_name: &str, hash: &str) -> String {
    let prefix: String = owner_name.chars().take(223).collect();
    format!("{prefix}-{hash}")
}

/// A new (unsaved) revision of `owner` holding `data`.
pub fn new_revision(
    owner: OwnerReference,
    namespace: &str,
    labels: std::collections::BTreeMap<String, String>,
    data: Value,
    revision: i64,
    collision_count: Option<i32>,
) -> ControllerRevision {
    let h = hash(&data, collision_count);
    let mut labels = labels;
    labels.insert(CONTROLLER_REVISION_HASH.to_string(), h.clone());
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(revision_name(&owner.name, &h)),
            namespace: Some(namespace.to_string()),
            labels: Some(labels),
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        data: Some(RawExtension(data)),
        revision,
    }
}

/// The revisions controlled by the owner with `uid`, oldest first.
pub fn owned_by<'a>(revisions: &'a [ControllerRevision], uid: &str) -> Vec<&'a ControllerRevision> {
    let mut owned: Vec<_> = revisions
        .iter()
        .filter(|r| is_controlled_by(&r.metadata, uid))
        .collect();
    owned.sort_by_key(|r| (r.revision, r.metadata.name.clone()));
    owned
}

/// One more than the highest revision number (1 for no history).
pub fn next_revision(revisions: &[&ControllerRevision]) -> i64 {
    revisions.iter().map(|r| r.revision).max().unwrap_or(0) + 1
}

/// True when the revision holds exactly `data`.
pub fn equal_data(revision: &ControllerRevision, data: &Value) -> bool {
    revision.data.as_ref().is_some_and(|d| &d.0 == data)
}

/// The newest revision holding `data`, if any.
pub fn find_equal<'a>(
    revisions: &[&'a ControllerRevision],
    data: &Value,
) -> Option<&'a ControllerRevision> {
    revisions
        .iter()
        .rev()
        .find(|r| equal_data(r, data))
        .copied()
}

/// What saving a revision did: the saved object and the collision count
/// the owner must record if it changed.
pub struct Saved {
    pub revision: ControllerRevision,
    pub collision_count: Option<i32>,
}

/// Saves `revision`. When its name is taken by a revision with other data
/// (a hash collision), bumps the collision count and retries with a new
/// name, as upstream does; an equal revision of the same owner is re-used.
pub async fn create(
    api: &Api<ControllerRevision>,
    mut revision: ControllerRevision,
    mut collision_count: Option<i32>,
) -> Result<Saved, Error> {
    let data = revision
        .data
        .as_ref()
        .map(|d| d.0.clone())
        .unwrap_or_default();
    let owner_uid = revision
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
        .map(|r| r.uid.clone())
        .unwrap_or_default();
    for _ in 0..16 {
        let name = revision.metadata.name.clone().unwrap_or_default();
        match api.create(&PostParams::default(), &revision).await {
            Ok(saved) => {
                return Ok(Saved {
                    revision: saved,
                    collision_count,
                });
            }
            Err(e) if is_conflict(&e) => {
                let existing = api
                    .get(&name)
                    .await
                    .map_err(|e| Error::api("getting revision", &name, e))?;
                if equal_data(&existing, &data) && is_controlled_by(&existing.metadata, &owner_uid)
                {
                    return Ok(Saved {
                        revision: existing,
                        collision_count,
                    });
                }
                let next = collision_count.unwrap_or(0) + 1;
                collision_count = Some(next);
                rename(&mut revision, &data, next);
            }
            Err(e) => return Err(Error::api("creating revision", name, e)),
        }
    }
    Err(Error::Invalid {
        object: revision.metadata.name.unwrap_or_default(),
        message: "too many ControllerRevision hash collisions".into(),
    })
}

fn rename(revision: &mut ControllerRevision, data: &Value, collision_count: i32) {
    let h = hash(data, Some(collision_count));
    let owner = revision
        .metadata
        .owner_references
        .iter()
        .flatten()
        .next()
        .map(|o| o.name.clone())
        .unwrap_or_default();
    revision.metadata.name = Some(revision_name(&owner, &h));
    if let Some(labels) = revision.metadata.labels.as_mut() {
        labels.insert(CONTROLLER_REVISION_HASH.to_string(), h);
    }
}

/// Gives an existing revision a new (higher) number: a rollback to an old
/// template re-uses its revision.
pub async fn bump(
    api: &Api<ControllerRevision>,
    revision: &ControllerRevision,
    number: i64,
) -> Result<ControllerRevision, Error> {
    let name = revision.metadata.name.clone().unwrap_or_default();
    api.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"revision": number})),
    )
    .await
    .map_err(|e| Error::api("updating revision", name, e))
}

/// The names of the oldest revisions beyond `limit` that no live object
/// uses (`live` holds names of revisions in use), oldest first.
pub fn to_prune(
    revisions: &[&ControllerRevision],
    live: &HashSet<String>,
    limit: i32,
) -> Vec<String> {
    let unused: Vec<String> = revisions
        .iter()
        .filter_map(|r| r.metadata.name.clone())
        .filter(|n| !live.contains(n))
        .collect();
    let excess = unused
        .len()
        .saturating_sub(usize::try_from(limit).unwrap_or(0));
    unused.into_iter().take(excess).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(uid: &str) -> OwnerReference {
        OwnerReference {
            api_version: "apps/v1".into(),
            kind: "StatefulSet".into(),
            name: "web".into(),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    fn rev(uid: &str, data: Value, n: i64) -> ControllerRevision {
        new_revision(owner(uid), "default", Default::default(), data, n, None)
    }

    #[test]
    fn equal_data_gives_equal_names_and_collisions_change_them() {
        let a = rev("u", json!({"spec": {"x": 1}}), 1);
        let b = rev("u", json!({"spec": {"x": 1}}), 2);
        let c = rev("u", json!({"spec": {"x": 2}}), 3);
        assert_eq!(a.metadata.name, b.metadata.name);
        assert_ne!(a.metadata.name, c.metadata.name);
        let h = hash(&json!({"spec": {"x": 1}}), None);
        assert_ne!(h, hash(&json!({"spec": {"x": 1}}), Some(1)));
        assert!(
            a.metadata
                .name
                .as_deref()
                .is_some_and(|n| n == format!("web-{h}"))
        );
        assert_eq!(
            a.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(CONTROLLER_REVISION_HASH)),
            Some(&h)
        );
    }

    #[test]
    fn history_is_ordered_owned_and_numbered() {
        let all = vec![
            rev("u", json!({"v": 2}), 2),
            rev("other", json!({"v": 9}), 7),
            rev("u", json!({"v": 1}), 1),
        ];
        let owned = owned_by(&all, "u");
        assert_eq!(
            owned.iter().map(|r| r.revision).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(next_revision(&owned), 3);
        assert_eq!(next_revision(&[]), 1);
        assert_eq!(
            find_equal(&owned, &json!({"v": 1})).map(|r| r.revision),
            Some(1)
        );
        assert!(find_equal(&owned, &json!({"v": 3})).is_none());
    }

    #[test]
    fn pruning_keeps_the_limit_and_every_live_revision() {
        let all: Vec<_> = (1..=5).map(|i| rev("u", json!({"v": i}), i)).collect();
        let owned = owned_by(&all, "u");
        let name = |i: usize| owned[i].metadata.name.clone().unwrap_or_default();
        let live: HashSet<String> = [name(0), name(4)].into();
        assert_eq!(to_prune(&owned, &live, 1), vec![name(1), name(2)]);
        assert!(to_prune(&owned, &live, 10).is_empty());
    }
}
