//! ownerReferences as controllers use them: the controller reference of an
//! object, new controller references, and the adopt/release patches of
//! upstream's ControllerRefManager (strategic merge, keyed by uid).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::Error;

/// The owner reference with `controller: true`, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// True when `meta` is controlled by the object with `uid`.
pub fn is_controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    controller_of(meta).is_some_and(|r| r.uid == uid)
}

/// A controller reference to `owner` that blocks its foreground deletion.
pub fn new_controller_ref<K: Resource<DynamicType = ()>>(owner: &K) -> OwnerReference {
    let meta = owner.meta();
    OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Makes `owner` the controller of the object `name` (whose uid is `uid`).
pub async fn adopt<K, O>(api: &Api<K>, name: &str, uid: &str, owner: &O) -> Result<(), Error>
where
    K: Resource + Clone + k8s_openapi::serde::de::DeserializeOwned + std::fmt::Debug,
    O: Resource<DynamicType = ()>,
{
    let patch = json!({"metadata": {
        "ownerReferences": [new_controller_ref(owner)],
        "uid": uid,
    }});
    api.patch(name, &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .map_err(|e| Error::api("adopting", name, e))?;
    Ok(())
}

/// Removes the owner reference with `owner_uid` from the object `name`.
pub async fn release<K>(api: &Api<K>, name: &str, uid: &str, owner_uid: &str) -> Result<(), Error>
where
    K: Resource + Clone + k8s_openapi::serde::de::DeserializeOwned + std::fmt::Debug,
{
    let patch = json!({"metadata": {
        "ownerReferences": [{"$patch": "delete", "uid": owner_uid}],
        "uid": uid,
    }});
    match api
        .patch(name, &PatchParams::default(), &Patch::Strategic(patch))
        .await
    {
        Ok(_) => Ok(()),
        // Gone or already someone else's: nothing left to release.
        Err(e) if crate::error::is_not_found(&e) || crate::error::status_code(&e) == Some(422) => {
            Ok(())
        }
        Err(e) => Err(Error::api("releasing", name, e)),
    }
}

/// Upstream's canAdopt: a fresh read (not the informer's copy) shows the
/// same namespaced `owner`, not being deleted, so it may adopt orphans.
pub async fn can_adopt<K>(client: &kube::Client, owner: &K) -> Result<bool, Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + k8s_openapi::serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let meta = owner.meta();
    let name = meta.name.clone().unwrap_or_default();
    let api: Api<K> = Api::namespaced(
        client.clone(),
        meta.namespace.as_deref().unwrap_or_default(),
    );
    let fresh = api
        .get_opt(&name)
        .await
        .map_err(|e| Error::api("reading", name, e))?;
    Ok(fresh.is_some_and(|f| f.meta().uid == meta.uid && f.meta().deletion_timestamp.is_none()))
}
