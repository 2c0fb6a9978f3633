//! Which pods belong to a Job: the ones it controls that match its
//! selector, plus matching orphans it adopts (after a fresh read shows the
//! Job alive), as upstream's ControllerRefManager.

use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::Api;

use super::{Context, spec};
use crate::controller_ref::{self, controller_of};
use crate::{Error, pod_state};

/// The Job's pods, adopting matching active orphans.
pub async fn claim_pods(ctx: &Context, job: &Job) -> Result<Vec<Arc<Pod>>, Error> {
    let ns = job.namespace().unwrap_or_default();
    let uid = job.uid().unwrap_or_default();
    let selector = spec(job).selector.clone().unwrap_or_default();
    let selector = berth_api::LabelSelector::from_meta(&selector).map_err(|e| Error::Selector {
        object: format!("job {ns}/{}", job.name_any()),
        message: e.to_string(),
    })?;
    let may_adopt = job.metadata.deletion_timestamp.is_none();
    let mut claimed = Vec::new();
    let mut orphans = Vec::new();
    for pod in ctx.pods.state() {
        if pod.metadata.namespace.as_deref() != Some(ns.as_str()) {
            continue;
        }
        let matches = |pod: &Pod| !selector.is_empty() && selector.matches(pod.labels());
        match controller_of(&pod.metadata) {
            Some(r) if r.uid == uid && matches(&pod) => claimed.push(pod),
            None if may_adopt && pod_state::is_active(&pod) && matches(&pod) => orphans.push(pod),
            _ => {}
        }
    }
    if orphans.is_empty() || !crate::controller_ref::can_adopt(&ctx.client, job).await? {
        return Ok(claimed);
    }
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    for pod in orphans {
        controller_ref::adopt(&api, &pod.name_any(), &pod.uid().unwrap_or_default(), job).await?;
        claimed.push(pod);
    }
    Ok(claimed)
}
