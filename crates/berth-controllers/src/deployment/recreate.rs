//! The Recreate strategy, as upstream's `recreate.go`: scale every old
//! ReplicaSet to zero, wait until none of their pods is left running
//! (terminating ones included), only then create and scale up the new one.

use std::collections::HashSet;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::ResourceExt;
use kube::runtime::controller::Action;

use super::{
    Context, Scaling, finish_rollout, others, replicas, replicasets, with_new_rs_recorded,
};
use crate::{Error, pod_state};

pub async fn rollout(
    ctx: &Context,
    orig: &Deployment,
    all: &mut Vec<ReplicaSet>,
) -> Result<Action, Error> {
    let new_idx = replicasets::sync_new(ctx, orig, all, false).await?;
    let mut old = others(all, new_idx);
    let new_rs = new_idx.map(|i| all[i].clone());
    let downs: Vec<Scaling> = old
        .iter_mut()
        .filter(|rs| replicas(rs) > 0)
        .map(|rs| Scaling::of(rs, 0))
        .collect();
    if !downs.is_empty() {
        replicasets::apply(ctx, orig, &mut old, &downs).await?;
        return finish_rollout(ctx, orig, orig, &old, new_rs.as_ref(), false).await;
    }
    if old_pods_running(ctx, &old) {
        return finish_rollout(ctx, orig, orig, &old, new_rs.as_ref(), false).await;
    }
    let new_idx = match new_idx {
        Some(i) => i,
        None => match replicasets::sync_new(ctx, orig, all, true).await? {
            Some(i) => i,
            None => return Ok(Action::await_change()),
        },
    };
    let d = &with_new_rs_recorded(ctx, orig, Some(&all[new_idx])).await?;
    let mut new_rs = all[new_idx].clone();
    let want = super::rolling::desired(d);
    if replicas(&new_rs) != want {
        let s = Scaling::of(&mut new_rs, want);
        new_rs = replicasets::scale(ctx, d, &new_rs, &s).await?;
    }
    finish_rollout(ctx, orig, d, &old, Some(&new_rs), true).await
}

/// `oldPodsRunning`: old ReplicaSets still report replicas, or any of their
/// pods (terminating included) has not finished.
fn old_pods_running(ctx: &Context, old: &[ReplicaSet]) -> bool {
    if old
        .iter()
        .any(|rs| rs.status.as_ref().is_some_and(|s| s.replicas > 0))
    {
        return true;
    }
    let uids: HashSet<String> = old.iter().filter_map(|rs| rs.uid()).collect();
    ctx.pods.state().iter().any(|p| {
        crate::controller_ref::controller_of(&p.metadata).is_some_and(|r| uids.contains(&r.uid))
            && !pod_state::is_terminal(p)
    })
}
