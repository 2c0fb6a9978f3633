//! A DaemonSet's history, as upstream's `constructHistory` and
//! `cleanupHistory`: one ControllerRevision per distinct pod template
//! (data `{"spec":{"template":{…,"$patch":"replace"}}}`, the patch `kubectl
//! rollout undo` applies), the current one found or created and numbered
//! highest, old ones pruned beyond `revisionHistoryLimit` unless a pod
//! still runs them.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams};
use kube::runtime::reflector::Store;
use serde_json::{Value, json};

use crate::controller_ref::{is_controlled_by, new_controller_ref};
use crate::error::is_not_found;
use crate::{Error, history};

pub use crate::history::CONTROLLER_REVISION_HASH;

/// The pod label holding the DaemonSet's template generation.
pub const TEMPLATE_GENERATION: &str = "pod-template-generation";
/// Where apps/v1 DaemonSets carry their template generation.
pub const TEMPLATE_GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";

/// The current revision's hash, the old revisions, and the collision count
/// the DaemonSet must record.
pub struct History {
    pub hash: String,
    pub old: Vec<ControllerRevision>,
    pub collision_count: Option<i32>,
}

/// The template generation of `ds`, if it carries one.
pub fn template_generation(ds: &DaemonSet) -> Option<&str> {
    ds.metadata
        .annotations
        .as_ref()?
        .get(TEMPLATE_GENERATION_ANNOTATION)
        .map(String::as_str)
}

/// Upstream's getPatch: the template, to be replaced wholesale on undo.
pub fn revision_data(ds: &DaemonSet) -> Value {
    let template = ds.spec.as_ref().map(|s| &s.template);
    let mut template = serde_json::to_value(template).unwrap_or_else(|_| json!({}));
    if let Some(obj) = template.as_object_mut() {
        obj.insert("$patch".into(), json!("replace"));
    }
    json!({"spec": {"template": template}})
}

/// The revisions `ds` controls, oldest first.
fn owned(store: &Store<ControllerRevision>, ds: &DaemonSet) -> Vec<ControllerRevision> {
    let ns = ds.namespace();
    let uid = ds.uid().unwrap_or_default();
    let mut owned: Vec<ControllerRevision> = store
        .state()
        .iter()
        .filter(|r| r.namespace() == ns && is_controlled_by(&r.metadata, &uid))
        .map(|r| (**r).clone())
        .collect();
    owned.sort_by_key(|r| (r.revision, r.metadata.name.clone()));
    owned
}

/// Finds or creates the revision of the current template, numbered above
/// every old one.
pub async fn construct(
    api: &Api<ControllerRevision>,
    store: &Store<ControllerRevision>,
    ds: &DaemonSet,
) -> Result<History, Error> {
    let data = revision_data(ds);
    let (current, old): (Vec<_>, Vec<_>) = owned(store, ds)
        .into_iter()
        .partition(|r| history::equal_data(r, &data));
    let next = old.iter().map(|r| r.revision).max().unwrap_or(0) + 1;
    let collision_count = ds.status.as_ref().and_then(|s| s.collision_count);
    let (cur, collision_count) = match current.into_iter().max_by_key(|r| r.revision) {
        Some(cur) if cur.revision < next => {
            (history::bump(api, &cur, next).await?, collision_count)
        }
        Some(cur) => (cur, collision_count),
        None => {
            let saved = history::create(
                api,
                snapshot(ds, data, next, collision_count),
                collision_count,
            )
            .await?;
            (saved.revision, saved.collision_count)
        }
    };
    let hash = cur
        .labels()
        .get(CONTROLLER_REVISION_HASH)
        .cloned()
        .unwrap_or_else(|| cur.name_any());
    Ok(History {
        hash,
        old,
        collision_count,
    })
}

fn snapshot(
    ds: &DaemonSet,
    data: Value,
    number: i64,
    collision_count: Option<i32>,
) -> ControllerRevision {
    let labels = ds
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let ns = ds.namespace().unwrap_or_default();
    let mut revision = history::new_revision(
        new_controller_ref(ds),
        &ns,
        labels,
        data,
        number,
        collision_count,
    );
    revision.metadata.annotations = ds.metadata.annotations.clone();
    revision
}

/// Deletes old revisions, oldest first, until at most
/// `revisionHistoryLimit` remain, skipping any a pod of `pods` still runs.
pub async fn cleanup(
    api: &Api<ControllerRevision>,
    ds: &DaemonSet,
    old: &[ControllerRevision],
    pods: &[Arc<Pod>],
) -> Result<(), Error> {
    let limit = ds
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(10);
    if old.len() <= usize::try_from(limit).unwrap_or(0) {
        return Ok(());
    }
    let live_hashes: HashSet<&str> = pods
        .iter()
        .filter_map(|p| p.labels().get(CONTROLLER_REVISION_HASH).map(String::as_str))
        .collect();
    let mut to_kill = old.len() - usize::try_from(limit).unwrap_or(0);
    for revision in old {
        if to_kill == 0 {
            break;
        }
        let hash = revision.labels().get(CONTROLLER_REVISION_HASH);
        if hash.is_some_and(|h| live_hashes.contains(h.as_str())) {
            continue;
        }
        let name = revision.name_any();
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(Error::api("deleting revision", name, e)),
        }
        to_kill -= 1;
    }
    Ok(())
}
