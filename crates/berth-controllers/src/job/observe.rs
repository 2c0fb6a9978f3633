//! One look at a Job's pods: which are active, ready, terminating, and
//! which finished pods are newly recorded (with the pod failure policy's
//! verdicts), as the first half of upstream's trackJobStatus.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::{Client, ResourceExt};

use super::conditions::Finish;
use super::failure_policy::{self, Verdict};
use super::indexes::IndexSet;
use super::pods::{completion_index, has_tracking_finalizer, index_failure_count};
use super::{MAX_PODS_PER_SYNC, spec};
use crate::pod_state;

/// What the pods say, before any action is taken.
#[derive(Debug, Default)]
pub struct Observed {
    pub active: Vec<Arc<Pod>>,
    pub ready: i32,
    pub terminating: i32,
    /// `status.uncountedTerminatedPods`, plus the pods recorded now.
    pub uncounted_succeeded: BTreeSet<String>,
    pub uncounted_failed: BTreeSet<String>,
    /// Pods newly recorded as failed / succeeded in this sync.
    pub new_failed: usize,
    pub new_succeeded: usize,
    /// Pods whose finalizer may be removed now.
    pub releasable: Vec<Arc<Pod>>,
    /// Indexed: completed indexes (recorded and new); failed indexes.
    pub succeeded_indexes: IndexSet,
    pub failed_indexes: IndexSet,
    /// Indexed: failures so far per index (for the next pod's annotation).
    pub index_failures: std::collections::HashMap<i32, i32>,
    /// A FailJob rule matched a newly failed pod.
    pub fail_job: Option<String>,
    /// More finished pods than one sync records: sync again soon.
    pub more: bool,
}

/// How a finished (or finishing) pod is to be accounted.
enum Outcome {
    Succeeded,
    Failed,
    /// Release without counting (Ignore rule, pods of a successful Job…).
    Release,
    /// Not finished: leave it.
    Keep,
}

fn outcome(job: &Job, pod: &Pod, finishing: Option<&Finish>) -> Outcome {
    let phase = pod_state::phase(pod);
    if phase == "Succeeded" {
        return Outcome::Succeeded;
    }
    let deleting = pod.metadata.deletion_timestamp.is_some();
    let only_failed = spec(job).pod_replacement_policy.as_deref() == Some("Failed");
    let suspended = spec(job).suspend == Some(true);
    let failure = finishing.is_some_and(|f| !f.success);
    if phase == "Failed" || (deleting && !only_failed && !suspended) || failure {
        return Outcome::Failed;
    }
    if deleting || finishing.is_some() {
        return Outcome::Release;
    }
    Outcome::Keep
}

/// Classifies `pods` (claimed, with the finalizer expectations `pending`
/// already removed from consideration).
pub async fn observe(
    client: &Client,
    job: &Job,
    pods: &[Arc<Pod>],
    pending: &std::collections::HashSet<String>,
    finishing: Option<&Finish>,
) -> Observed {
    let status = job.status.clone().unwrap_or_default();
    let uncounted = status.uncounted_terminated_pods.unwrap_or_default();
    let completions = spec(job).completions.unwrap_or(0);
    let indexed = spec(job).completion_mode.as_deref() == Some("Indexed");
    let mut o = Observed {
        uncounted_succeeded: uncounted
            .succeeded
            .unwrap_or_default()
            .into_iter()
            .collect(),
        uncounted_failed: uncounted.failed.unwrap_or_default().into_iter().collect(),
        succeeded_indexes: IndexSet::parse(
            status.completed_indexes.as_deref().unwrap_or(""),
            completions,
        ),
        failed_indexes: IndexSet::parse(
            status.failed_indexes.as_deref().unwrap_or(""),
            completions,
        ),
        ..Default::default()
    };
    for pod in pods {
        count_active(&mut o, pod);
        if indexed {
            note_index_failures(&mut o, pod);
        }
        let uid = pod.uid().unwrap_or_default();
        if !has_tracking_finalizer(pod) || pending.contains(&uid) {
            continue;
        }
        let recorded = o.uncounted_succeeded.contains(&uid) || o.uncounted_failed.contains(&uid);
        if recorded {
            o.releasable.push(pod.clone());
            continue;
        }
        if o.new_failed + o.new_succeeded >= MAX_PODS_PER_SYNC {
            o.more = true;
            continue;
        }
        match outcome(job, pod, finishing) {
            Outcome::Keep => {}
            Outcome::Release => o.releasable.push(pod.clone()),
            Outcome::Succeeded => {
                record_success(&mut o, pod, uid, indexed, completions);
                o.releasable.push(pod.clone());
            }
            Outcome::Failed => {
                record_failure(client, job, &mut o, pod, uid, indexed, completions).await;
                o.releasable.push(pod.clone());
            }
        }
    }
    o
}

fn count_active(o: &mut Observed, pod: &Arc<Pod>) {
    if pod_state::is_active(pod) {
        if pod_state::is_ready(pod) {
            o.ready += 1;
        }
        o.active.push(pod.clone());
    } else if pod.metadata.deletion_timestamp.is_some() && !pod_state::is_terminal(pod) {
        o.terminating += 1;
    }
}

/// The failures an index has seen: the highest count a pod of it carries,
/// plus one if that pod failed.
fn note_index_failures(o: &mut Observed, pod: &Pod) {
    let Some(ix) = completion_index(pod) else {
        return;
    };
    let failed = i32::from(pod_state::phase(pod) == "Failed");
    let n = index_failure_count(pod) + failed;
    let e = o.index_failures.entry(ix).or_insert(0);
    *e = (*e).max(n);
}

fn record_success(o: &mut Observed, pod: &Pod, uid: String, indexed: bool, completions: i32) {
    if !indexed {
        o.uncounted_succeeded.insert(uid);
        o.new_succeeded += 1;
        return;
    }
    // The index alone keeps an Indexed success from being counted twice.
    if let Some(ix) = completion_index(pod).filter(|ix| *ix < completions)
        && o.succeeded_indexes.insert(ix)
    {
        o.new_succeeded += 1;
    }
}

async fn record_failure(
    client: &Client,
    job: &Job,
    o: &mut Observed,
    pod: &Pod,
    uid: String,
    indexed: bool,
    completions: i32,
) {
    let ix = completion_index(pod);
    if indexed && ix.is_none_or(|ix| ix >= completions) {
        return;
    }
    let mut fail_index = false;
    if let (Some(policy), "Failed") = (&spec(job).pod_failure_policy, pod_state::phase(pod)) {
        let fresh = fresh_pod(client, pod).await;
        match failure_policy::evaluate(policy, fresh.as_ref().unwrap_or(pod)) {
            Verdict::Ignore => return,
            Verdict::FailJob(message) => {
                o.fail_job.get_or_insert(message);
            }
            Verdict::FailIndex => fail_index = true,
            Verdict::Count => {}
        }
    }
    o.uncounted_failed.insert(uid);
    o.new_failed += 1;
    if let (Some(limit), Some(ix)) = (spec(job).backoff_limit_per_index, ix) {
        let failures = index_failure_count(pod) + 1;
        if fail_index || failures > limit {
            o.failed_indexes.insert(ix);
        }
    }
}

/// The pod as the API has it now (the informer's copy lacks container
/// states); `None` if it cannot be read.
async fn fresh_pod(client: &Client, pod: &Pod) -> Option<Pod> {
    let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    api.get_opt(&pod.name_any()).await.ok().flatten()
}
