//! A StatefulSet's ControllerRevisions, as upstream's
//! `getStatefulSetRevisions` and `truncateHistory`: the update revision
//! holds the set's current template (`{"spec":{"template":{…,"$patch":
//! "replace"}}}`, the strategic merge patch `kubectl rollout undo`
//! applies), the current revision is the one `status.currentRevision`
//! names, and history beyond `revisionHistoryLimit` that no pod uses is
//! deleted.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use super::identity::pod_revision;
use crate::controller_ref::new_controller_ref;
use crate::error::is_not_found;
use crate::{Error, history};

/// The revisions a sync works with.
#[derive(Clone, Debug)]
pub struct Revisions {
    /// What `status.currentRevision` names (the update revision at first).
    pub current: ControllerRevision,
    /// The revision of the set's template now.
    pub update: ControllerRevision,
    /// `status.collisionCount` after saving the update revision.
    pub collision_count: i32,
}

impl Revisions {
    pub fn current_name(&self) -> &str {
        self.current.metadata.name.as_deref().unwrap_or_default()
    }

    pub fn update_name(&self) -> &str {
        self.update.metadata.name.as_deref().unwrap_or_default()
    }
}

/// The revision data of `set`: its template, to be replaced wholesale.
pub fn revision_data(set: &StatefulSet) -> Value {
    let template = set.spec.as_ref().map(|s| &s.template);
    let mut template = serde_json::to_value(template).unwrap_or(Value::Null);
    if !template.is_object() {
        template = json!({});
    }
    template["$patch"] = json!("replace");
    json!({"spec": {"template": template}})
}

/// `set` with the template `revision` holds (upstream's ApplyRevision).
pub fn apply_revision(set: &StatefulSet, revision: &ControllerRevision) -> StatefulSet {
    let mut out = set.clone();
    let template = revision
        .data
        .as_ref()
        .and_then(|d| d.0.pointer("/spec/template"))
        .cloned()
        .map(|mut t| {
            if let Some(map) = t.as_object_mut() {
                map.remove("$patch");
            }
            t
        });
    if let (Some(spec), Some(Ok(template))) = (
        out.spec.as_mut(),
        template.map(serde_json::from_value::<k8s_openapi::api::core::v1::PodTemplateSpec>),
    ) {
        spec.template = template;
    }
    out
}

/// Finds or saves the update revision and finds the current one.
/// `owned` is the set's history, oldest first.
pub async fn resolve(
    client: &Client,
    set: &StatefulSet,
    owned: &[&ControllerRevision],
) -> Result<Revisions, Error> {
    let ns = set.namespace().unwrap_or_default();
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), &ns);
    let collision_count = set
        .status
        .as_ref()
        .and_then(|s| s.collision_count)
        .unwrap_or(0);
    let (update, collision_count) =
        update_revision(&api, set, owned, revision_data(set), collision_count).await?;
    let current_name = set
        .status
        .as_ref()
        .and_then(|s| s.current_revision.as_deref());
    let current = owned
        .iter()
        .find(|r| {
            r.metadata
                .name
                .as_deref()
                .is_some_and(|n| Some(n) == current_name)
        })
        .map_or_else(|| update.clone(), |r| (*r).clone());
    Ok(Revisions {
        current,
        update,
        collision_count,
    })
}

/// The revision holding `data`: the newest one when it already does, an
/// older one given a new number (a rollback), or a new one.
async fn update_revision(
    api: &Api<ControllerRevision>,
    set: &StatefulSet,
    owned: &[&ControllerRevision],
    data: Value,
    mut collision_count: i32,
) -> Result<(ControllerRevision, i32), Error> {
    let next = history::next_revision(owned);
    let update = match history::find_equal(owned, &data) {
        Some(equal)
            if owned
                .last()
                .is_some_and(|last| last.metadata.name == equal.metadata.name) =>
        {
            equal.clone()
        }
        // An older template came back (a rollback): re-use its revision.
        Some(equal) => history::bump(api, equal, next).await?,
        None => {
            let labels = set
                .spec
                .as_ref()
                .and_then(|s| s.template.metadata.as_ref())
                .and_then(|m| m.labels.clone())
                .unwrap_or_default();
            let revision = history::new_revision(
                new_controller_ref(set),
                &set.namespace().unwrap_or_default(),
                labels,
                data,
                next,
                Some(collision_count),
            );
            let saved = history::create(api, revision, Some(collision_count)).await?;
            collision_count = saved.collision_count.unwrap_or(collision_count);
            saved.revision
        }
    };
    Ok((update, collision_count))
}

/// Deletes the oldest revisions beyond `revisionHistoryLimit` (default 10)
/// that neither the current nor the update revision nor any pod uses.
pub async fn truncate(
    client: &Client,
    set: &StatefulSet,
    owned: &[&ControllerRevision],
    pods: &[Arc<Pod>],
    revisions: &Revisions,
) -> Result<(), Error> {
    let limit = set
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(10);
    let mut live: HashSet<String> = pods.iter().map(|p| pod_revision(p).to_string()).collect();
    live.insert(revisions.current_name().to_string());
    live.insert(revisions.update_name().to_string());
    let api: Api<ControllerRevision> =
        Api::namespaced(client.clone(), &set.namespace().unwrap_or_default());
    for name in history::to_prune(owned, &live, limit) {
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(Error::api("deleting revision", name, e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(image: &str) -> StatefulSet {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "serviceName": "web",
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": image}]}}}
        }))
        .expect("valid set")
    }

    #[test]
    fn revision_data_replaces_the_template_and_applies_back() {
        let v1 = set("a:1");
        let data = revision_data(&v1);
        assert_eq!(data["spec"]["template"]["$patch"], "replace");
        assert_eq!(
            data["spec"]["template"]["spec"]["containers"][0]["image"],
            "a:1"
        );
        let revision = history::new_revision(
            new_controller_ref(&v1),
            "ns",
            Default::default(),
            data,
            1,
            None,
        );
        let back = apply_revision(&set("b:2"), &revision);
        assert_eq!(revision_data(&back), revision_data(&v1));
    }
}
