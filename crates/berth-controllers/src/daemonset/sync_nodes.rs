//! Upstream's `syncNodes`: carries out a [`Plan`] — expectations first,
//! then pod creations in slow-start batches (1, 2, 4…; a failing batch
//! stops the rest) each pinned to its node, and deletions all at once, at
//! most [`BURST_REPLICAS`] of each per sync.

use std::sync::Arc;

use futures::future::join_all;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::api::{Api, PostParams};

use super::eligibility::{add_daemon_tolerations, pin_to_node};
use super::manage::Plan;
use super::revisions::{CONTROLLER_REVISION_HASH, TEMPLATE_GENERATION, template_generation};
use super::{Context, key};
use crate::Error;
use crate::controller_ref::new_controller_ref;
use crate::events::EventType;

/// Upstream's DaemonSet BurstReplicas.
pub const BURST_REPLICAS: usize = 250;

/// Upstream's CreatePodTemplate: the template with the daemon tolerations
/// and the revision labels.
pub fn pod_template(ds: &DaemonSet, hash: &str) -> PodTemplateSpec {
    let mut template = ds
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    add_daemon_tolerations(template.spec.get_or_insert_with(Default::default));
    let labels = template
        .metadata
        .get_or_insert_with(Default::default)
        .labels
        .get_or_insert_with(Default::default);
    if let Some(generation) = template_generation(ds) {
        labels.insert(TEMPLATE_GENERATION.into(), generation.to_string());
    }
    if !hash.is_empty() {
        labels.insert(CONTROLLER_REVISION_HASH.into(), hash.to_string());
    }
    template
}

fn pod_for(ds: &DaemonSet, template: &PodTemplateSpec, node: &str) -> Pod {
    let meta = template.metadata.clone().unwrap_or_default();
    let mut spec = template.spec.clone().unwrap_or_default();
    pin_to_node(&mut spec, node);
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", ds.name_any())),
            namespace: ds.namespace(),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![new_controller_ref(ds)]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// Creates and deletes as planned; returns the first error.
pub async fn run(ctx: &Context, ds: &DaemonSet, plan: &Plan, hash: &str) -> Result<(), Error> {
    let ds_key = key(&ds.namespace().unwrap_or_default(), &ds.name_any());
    let create_on = &plan.create_on[..plan.create_on.len().min(BURST_REPLICAS)];
    let delete = &plan.delete[..plan.delete.len().min(BURST_REPLICAS)];
    ctx.expectations.expect(
        &ds_key,
        create_on.len(),
        delete.iter().map(|p| p.uid().unwrap_or_default()),
    );
    let created = create(ctx, ds, &ds_key, create_on, hash).await;
    let deleted = delete_pods(ctx, ds, &ds_key, delete).await;
    created.and(deleted)
}

async fn create(
    ctx: &Context,
    ds: &DaemonSet,
    ds_key: &str,
    nodes: &[String],
    hash: &str,
) -> Result<(), Error> {
    let template = pod_template(ds, hash);
    let mut pos = 0;
    let mut batch = nodes.len().min(1);
    while batch > 0 {
        let failed = create_batch(ctx, ds, ds_key, &template, &nodes[pos..pos + batch]).await;
        pos += batch;
        if let Some(e) = failed {
            // The rest of the creations are skipped: never to be observed.
            for _ in pos..nodes.len() {
                ctx.expectations.creation_observed(ds_key);
            }
            return creation_failed(ctx, ds, e);
        }
        batch = (2 * batch).min(nodes.len() - pos);
    }
    Ok(())
}

/// Creates one pod per node at once; returns the first error.
async fn create_batch(
    ctx: &Context,
    ds: &DaemonSet,
    ds_key: &str,
    template: &PodTemplateSpec,
    nodes: &[String],
) -> Option<kube::Error> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ds.namespace().unwrap_or_default());
    let results = join_all(nodes.iter().map(|node| {
        let pod = pod_for(ds, template, node);
        let api = api.clone();
        async move { api.create(&PostParams::default(), &pod).await }
    }))
    .await;
    let mut first_error = None;
    for result in results {
        match result {
            Ok(pod) => ctx.recorder.record(
                ds,
                EventType::Normal,
                "SuccessfulCreate",
                format!("Created pod: {}", pod.name_any()),
            ),
            Err(e) => {
                ctx.expectations.creation_observed(ds_key);
                first_error.get_or_insert(e);
            }
        }
    }
    first_error
}

/// A terminating namespace is no failure (every later creation would fail
/// too); anything else is reported as upstream's FailedCreate.
fn creation_failed(ctx: &Context, ds: &DaemonSet, e: kube::Error) -> Result<(), Error> {
    if crate::error::status_code(&e) == Some(403) && e.to_string().contains("being terminated") {
        return Ok(());
    }
    let message = format!("Error creating: {e}");
    ctx.recorder
        .record(ds, EventType::Warning, "FailedCreate", message);
    Err(Error::api("creating a pod for", ds.name_any(), e))
}

async fn delete_pods(
    ctx: &Context,
    ds: &DaemonSet,
    ds_key: &str,
    pods: &[Arc<Pod>],
) -> Result<(), Error> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ds.namespace().unwrap_or_default());
    crate::pod_deletion::delete_pods(&api, &ctx.recorder, ds, pods, |uid| {
        ctx.expectations.deletion_observed(ds_key, uid)
    })
    .await
}
