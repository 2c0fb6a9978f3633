//! The NoExecute taint manager: a pod on a node with NoExecute taints is
//! deleted at once if it does not tolerate one of them, or when the
//! shortest `tolerationSeconds` (counted from the taint's timeAdded) runs
//! out; a toleration without seconds tolerates forever.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::json;

use super::Context;
use super::taints::tolerates;
use crate::events::EventType;
use crate::{Error, pod_state};

fn pods_on(ctx: &Context, node: &str) -> Vec<std::sync::Arc<Pod>> {
    ctx.pods
        .state()
        .into_iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node))
        .collect()
}

/// When the pod must go: None if it tolerates every taint forever.
pub fn eviction_time(pod: &Pod, taints: &[&Taint], now: Timestamp) -> Option<Timestamp> {
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    let mut earliest: Option<Timestamp> = None;
    for taint in taints {
        let matching: Vec<_> = tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        let deadline = if matching.is_empty() {
            Some(now)
        } else if matching.iter().any(|t| t.toleration_seconds.is_none()) {
            None
        } else {
            let secs = matching
                .iter()
                .filter_map(|t| t.toleration_seconds)
                .min()
                .unwrap_or(0)
                .max(0);
            let added = taint.time_added.as_ref().map_or(now, |t| t.0);
            Some(added + jiff::SignedDuration::from_secs(secs))
        };
        if let Some(d) = deadline {
            earliest = Some(earliest.map_or(d, |e| e.min(d)));
        }
    }
    earliest
}

/// Deletes the pods whose time is up; returns when the next one is due.
pub async fn evict(ctx: &Context, node: &Node, now: Timestamp) -> Result<Option<Duration>, Error> {
    let all = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let taints: Vec<&Taint> = all.iter().filter(|t| t.effect == "NoExecute").collect();
    if taints.is_empty() {
        return Ok(None);
    }
    let mut next: Option<Duration> = None;
    for pod in pods_on(ctx, &node.name_any()) {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some(at) = eviction_time(&pod, &taints, now) else {
            continue;
        };
        if at <= now {
            delete(ctx, &pod).await?;
        } else {
            let wait = Duration::try_from(at.duration_since(now)).unwrap_or_default();
            next = Some(next.map_or(wait, |n| n.min(wait)));
        }
    }
    Ok(next)
}

async fn delete(ctx: &Context, pod: &Pod) -> Result<(), Error> {
    let ns = pod.namespace().unwrap_or_default();
    ctx.recorder.record(
        pod,
        EventType::Normal,
        "TaintManagerEviction",
        format!("Marking for deletion Pod {ns}/{}", pod.name_any()),
    );
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: pod.uid(),
            resource_version: None,
        }),
        ..Default::default()
    };
    match Api::<Pod>::namespaced(ctx.client.clone(), &ns)
        .delete(&pod.name_any(), &dp)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::error::is_not_found(&e) || crate::error::is_conflict(&e) => Ok(()),
        Err(e) => Err(Error::api("evicting", pod.name_any(), e)),
    }
}

/// Upstream's MarkPodsNotReady: pods on a node that is not Ready get Ready=False.
pub async fn mark_pods_not_ready(ctx: &Context, node: &str) -> Result<(), Error> {
    for pod in pods_on(ctx, node) {
        if !pod_state::is_ready(&pod) || pod_state::is_terminal(&pod) {
            continue;
        }
        let now = Timestamp::now().to_string();
        let patch = json!({"status": {"conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now}]}});
        let api: Api<Pod> =
            Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
        match api
            .patch_status(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Strategic(patch),
            )
            .await
        {
            Ok(_) => {}
            Err(e) if crate::error::is_not_found(&e) => {}
            Err(e) => return Err(Error::api("marking not ready", pod.name_any(), e)),
        }
    }
    Ok(())
}
