//! Deleting everything in a namespace: discovery of the namespaced kinds,
//! a delete-collection per kind (list and delete one by one where that is
//! not served), then a count of what remains and which finalizers hold it.

use std::collections::BTreeMap;

use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::core::PartialObjectMeta;
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope, verbs};

use crate::Error;
use crate::error::{is_not_found, status_code};

/// What one deletion pass found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// `resource.group` → objects still there.
    pub remaining: BTreeMap<String, usize>,
    /// finalizer → objects it holds.
    pub finalizers: BTreeMap<String, usize>,
    /// Kinds whose deletion failed, with why.
    pub failures: Vec<String>,
    /// Groups discovery could not read.
    pub discovery_failure: Option<String>,
}

async fn namespaced_kinds(client: &Client) -> Result<Vec<(ApiResource, ApiCapabilities)>, Error> {
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .map_err(|e| Error::api("discovering", "API groups", e))?;
    Ok(discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .filter(|(_, caps)| caps.scope == Scope::Namespaced)
        .filter(|(_, caps)| {
            caps.supports_operation(verbs::LIST) && caps.supports_operation(verbs::DELETE)
        })
        .collect())
}

/// Deletes every namespaced object in `namespace` and reports what is left.
pub async fn delete_all_content(client: &Client, namespace: &str) -> Result<Outcome, Error> {
    let mut out = Outcome::default();
    let kinds = match namespaced_kinds(client).await {
        Ok(k) => k,
        Err(e) => {
            out.discovery_failure = Some(e.to_string());
            return Ok(out);
        }
    };
    for (ar, caps) in kinds {
        let key = format!("{}.{}", ar.plural, ar.group);
        if let Err(e) = delete_kind(client, namespace, &ar, &caps).await {
            out.failures.push(format!("{key}: {e}"));
        }
        count_remaining(client, namespace, &ar, &key, &mut out).await;
    }
    Ok(out)
}

async fn delete_kind(
    client: &Client,
    namespace: &str,
    ar: &ApiResource,
    caps: &ApiCapabilities,
) -> Result<(), kube::Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, ar);
    let dp = DeleteParams::background();
    if caps.supports_operation(verbs::DELETE_COLLECTION) {
        match api.delete_collection(&dp, &ListParams::default()).await {
            Ok(_) => return Ok(()),
            Err(e) if status_code(&e) == Some(405) => {}
            Err(e) => return Err(e),
        }
    }
    let meta: Api<PartialObjectMeta<DynamicObject>> =
        Api::namespaced_with(client.clone(), namespace, ar);
    for obj in meta.list(&ListParams::default()).await?.items {
        if obj.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = obj.metadata.name.clone().unwrap_or_default();
        match api.delete(&name, &dp).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn count_remaining(
    client: &Client,
    namespace: &str,
    ar: &ApiResource,
    key: &str,
    out: &mut Outcome,
) {
    let meta: Api<PartialObjectMeta<DynamicObject>> =
        Api::namespaced_with(client.clone(), namespace, ar);
    let items = match meta.list(&ListParams::default()).await {
        Ok(l) => l.items,
        Err(e) => {
            out.failures.push(format!("{key}: {e}"));
            return;
        }
    };
    if items.is_empty() {
        return;
    }
    out.remaining.insert(key.to_string(), items.len());
    for obj in items {
        for f in obj.metadata.finalizers.unwrap_or_default() {
            *out.finalizers.entry(f).or_default() += 1;
        }
    }
}
