//! Creating and deleting pods to reach `spec.replicas`.

use std::future::Future;
use std::sync::Arc;

use futures::future::join_all;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::api::{Api, PostParams};

use super::{BURST_REPLICAS, Context, rank};
use crate::Error;
use crate::controller_ref::new_controller_ref;
use crate::events::EventType;

/// Upstream's SlowStartInitialBatchSize.
const SLOW_START_INITIAL_BATCH: usize = 1;

/// Creates or deletes pods so that `pods` (the claimed active pods) moves
/// towards `spec.replicas`, at most [`BURST_REPLICAS`] at a time.
pub async fn manage_replicas(
    ctx: &Context,
    rs: &ReplicaSet,
    key: &str,
    pods: &[Arc<Pod>],
) -> Result<(), Error> {
    let want = rs
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1)
        .max(0) as usize;
    if pods.len() < want {
        create_pods(ctx, rs, key, (want - pods.len()).min(BURST_REPLICAS)).await
    } else if pods.len() > want {
        delete_pods(ctx, rs, key, pods, (pods.len() - want).min(BURST_REPLICAS)).await
    } else {
        Ok(())
    }
}

async fn create_pods(ctx: &Context, rs: &ReplicaSet, key: &str, count: usize) -> Result<(), Error> {
    ctx.expectations.expect_creations(key, count);
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &rs.namespace().unwrap_or_default());
    let pod = pod_from_template(rs);
    let (created, failed) = slow_start_batch(count, SLOW_START_INITIAL_BATCH, || {
        let api = api.clone();
        let pod = pod.clone();
        async move { api.create(&PostParams::default(), &pod).await }
    })
    .await;
    // Creations that failed or were skipped will never be observed.
    for _ in created.len()..count {
        ctx.expectations.creation_observed(key);
    }
    for p in &created {
        ctx.recorder.record(
            rs,
            EventType::Normal,
            "SuccessfulCreate",
            format!("Created pod: {}", p.name_any()),
        );
    }
    match failed {
        None => Ok(()),
        Some(e) => {
            ctx.recorder.record(
                rs,
                EventType::Warning,
                "FailedCreate",
                format!("Error creating: {e}"),
            );
            Err(Error::api("creating a pod for", rs.name_any(), e))
        }
    }
}

/// Runs `count` calls of `f` in batches of 1, 2, 4…, stopping after the
/// first batch with a failure; returns the successes and the first error.
pub async fn slow_start_batch<T, F, Fut>(
    count: usize,
    initial: usize,
    f: F,
) -> (Vec<T>, Option<kube::Error>)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut done = Vec::with_capacity(count);
    let mut remaining = count;
    let mut batch = remaining.min(initial);
    while batch > 0 {
        let results = join_all((0..batch).map(|_| f())).await;
        let mut first_error = None;
        for r in results {
            match r {
                Ok(v) => done.push(v),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if first_error.is_some() {
            return (done, first_error);
        }
        remaining -= batch;
        batch = (2 * batch).min(remaining);
    }
    (done, None)
}

fn pod_from_template(rs: &ReplicaSet) -> Pod {
    let template = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let prefix = format!("{}-", rs.name_any());
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(prefix),
            namespace: rs.namespace(),
            labels: tmeta.labels,
            annotations: tmeta.annotations,
            finalizers: tmeta.finalizers,
            owner_references: Some(vec![new_controller_ref(rs)]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    }
}

async fn delete_pods(
    ctx: &Context,
    rs: &ReplicaSet,
    key: &str,
    pods: &[Arc<Pod>],
    count: usize,
) -> Result<(), Error> {
    let victims = rank::pods_to_delete(pods, count);
    ctx.expectations
        .expect_deletions(key, victims.iter().map(|p| p.uid().unwrap_or_default()));
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &rs.namespace().unwrap_or_default());
    crate::pod_deletion::delete_pods(&api, &ctx.recorder, rs, &victims, |uid| {
        ctx.expectations.deletion_observed(key, uid)
    })
    .await
}
