//! Deleting a controller's pods as upstream's PodControl does: all at
//! once, each with a UID precondition (never a namesake), a
//! SuccessfulDelete or FailedDelete event on the owner, and the first real
//! failure returned (a pod already gone is not one).

use std::sync::Arc;

use futures::future::join_all;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::{Resource, ResourceExt};

use crate::Error;
use crate::error::is_not_found;
use crate::events::{EventType, Recorder};

/// Deletes `pods` of `owner`; `not_deleted` hears the UID of each pod whose
/// deletion failed (so expectations stop waiting for it).
pub async fn delete_pods<K: Resource<DynamicType = ()>>(
    api: &Api<Pod>,
    recorder: &Recorder,
    owner: &K,
    pods: &[Arc<Pod>],
    mut not_deleted: impl FnMut(&str),
) -> Result<(), Error> {
    let results = join_all(pods.iter().map(|pod| {
        let api = api.clone();
        async move {
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: pod.uid(),
                    resource_version: None,
                }),
                ..Default::default()
            };
            (pod, api.delete(&pod.name_any(), &dp).await)
        }
    }))
    .await;
    let mut first_error = None;
    for (pod, result) in results {
        let e = match result {
            Ok(_) => {
                let message = format!("Deleted pod: {}", pod.name_any());
                recorder.record(owner, EventType::Normal, "SuccessfulDelete", message);
                continue;
            }
            Err(e) => e,
        };
        not_deleted(&pod.uid().unwrap_or_default());
        if !is_not_found(&e) {
            let message = format!("Error deleting: {e}");
            recorder.record(owner, EventType::Warning, "FailedDelete", message);
            first_error.get_or_insert(Error::api("deleting a pod of", owner.name_any(), e));
        }
    }
    first_error.map_or(Ok(()), Err)
}
