//! Pod tracking with the `batch.kubernetes.io/job-tracking` finalizer.
//!
//! Protocol (upstream's trackJobStatusAndRemoveFinalizers): a finished pod
//! is (1) recorded by UID in `status.uncountedTerminatedPods` (Indexed
//! successes go straight into `completedIndexes`), (2) stripped of its
//! finalizer, (3) moved into `succeeded`/`failed` in the same status write
//! that drops it from the uncounted lists. Every status write carries the
//! resourceVersion it was computed from, so a stale Job never writes.
//!
//! Invariant: a UID is counted exactly once — it enters the counts only by
//! leaving the uncounted lists, and a pod whose finalizer removal is not
//! yet seen by the informer ([`FinalizerExpectations`]) is never recorded
//! again.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::StreamExt;
use k8s_openapi::api::batch::v1::{Job, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use super::TRACKING_FINALIZER;
use crate::Error;
use crate::error::{is_not_found, status_code};

/// Finalizer removals in flight per API call batch.
const RELEASE_CONCURRENCY: usize = 64;

/// Pods whose finalizer this controller removed, until the informer shows
/// them without it (or gone): they must not be recorded again.
#[derive(Debug, Default)]
pub struct FinalizerExpectations {
    inner: Mutex<HashMap<String, HashSet<String>>>,
}

impl FinalizerExpectations {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, HashSet<String>>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn expect(&self, key: &str, uids: impl IntoIterator<Item = String>) {
        self.lock().entry(key.to_string()).or_default().extend(uids);
    }

    pub fn observed(&self, key: &str, uid: &str) {
        let mut all = self.lock();
        if let Some(set) = all.get_mut(key) {
            set.remove(uid);
            if set.is_empty() {
                all.remove(key);
            }
        }
    }

    pub fn pending(&self, key: &str) -> HashSet<String> {
        self.lock().get(key).cloned().unwrap_or_default()
    }

    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }
}

/// Removes the tracking finalizer from one pod (a no-op if it is gone).
async fn release_one(api: &Api<Pod>, pod: &Pod) -> Result<(), kube::Error> {
    let patch = json!({"metadata": {
        "$deleteFromPrimitiveList/finalizers": [TRACKING_FINALIZER],
        "uid": pod.uid(),
    }});
    match api
        .patch(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Strategic(patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) || status_code(&e) == Some(409) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes the finalizer from `pods` with bounded concurrency; returns the
/// UIDs released and the first error.
pub async fn release(
    client: &Client,
    namespace: &str,
    pods: &[Arc<Pod>],
) -> (Vec<String>, Option<Error>) {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let results: Vec<(String, Result<(), kube::Error>)> = futures::stream::iter(pods.to_vec())
        .map(move |p| {
            let api = api.clone();
            async move { (p.uid().unwrap_or_default(), release_one(&api, &p).await) }
        })
        .buffer_unordered(RELEASE_CONCURRENCY)
        .collect()
        .await;
    let mut released = Vec::with_capacity(results.len());
    let mut first_error = None;
    for (uid, r) in results {
        match r {
            Ok(()) => released.push(uid),
            Err(e) => {
                first_error.get_or_insert(Error::api("removing the tracking finalizer of", uid, e));
            }
        }
    }
    (released, first_error)
}

/// Releases pods whose Job is gone.
pub async fn release_orphans(client: &Client, pods: Vec<Arc<Pod>>) {
    let mut by_ns: HashMap<String, Vec<Arc<Pod>>> = HashMap::new();
    for p in pods {
        by_ns
            .entry(p.namespace().unwrap_or_default())
            .or_default()
            .push(p);
    }
    for (ns, pods) in by_ns {
        if let (_, Some(e)) = release(client, &ns, &pods).await {
            tracing::warn!(error = %e, "releasing orphaned job pods");
        }
    }
}

/// A fresh read: no Job `name` with this uid exists any more.
pub async fn job_is_gone(client: &Client, ns: &str, name: &str, uid: &str) -> bool {
    let api: Api<Job> = Api::namespaced(client.clone(), ns);
    match api.get_opt(name).await {
        Ok(found) => found.is_none_or(|j| j.uid().as_deref() != Some(uid)),
        Err(_) => false,
    }
}

/// Writes `status` over the Job's, guarded by the resourceVersion `job`
/// was read at; returns the Job as written (unchanged if nothing differs).
pub async fn write_status(client: &Client, job: &Job, status: JobStatus) -> Result<Job, Error> {
    if job.status.as_ref() == Some(&status) {
        return Ok(job.clone());
    }
    let api: Api<Job> = Api::namespaced(client.clone(), &job.namespace().unwrap_or_default());
    let body = serde_json::to_value(&status).map_err(|e| Error::Invalid {
        object: job.name_any(),
        message: e.to_string(),
    })?;
    let mut body = body;
    for field in [
        "completedIndexes",
        "failedIndexes",
        "completionTime",
        "startTime",
    ] {
        if body.get(field).is_none() {
            body[field] = serde_json::Value::Null;
        }
    }
    for list in ["succeeded", "failed"] {
        if body["uncountedTerminatedPods"].get(list).is_none() {
            body["uncountedTerminatedPods"][list] = serde_json::Value::Null;
        }
    }
    let patch = json!({
        "metadata": {"resourceVersion": job.metadata.resource_version},
        "status": body,
    });
    api.patch_status(
        &job.name_any(),
        &PatchParams::default(),
        &Patch::Merge(patch),
    )
    .await
    .map_err(|e| Error::api("updating the status of", job.name_any(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finalizer_expectations_clear_when_observed() {
        let f = FinalizerExpectations::default();
        f.expect("ns/j", ["a".to_string(), "b".to_string()]);
        f.observed("ns/j", "a");
        assert_eq!(f.pending("ns/j").len(), 1);
        f.observed("ns/j", "b");
        assert!(f.pending("ns/j").is_empty());
    }
}
