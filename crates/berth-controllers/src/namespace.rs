//! The namespace controller, as upstream's `pkg/controller/namespace`: a
//! Terminating namespace has everything in it deleted (every namespaced
//! kind found through discovery, custom resources included), and once
//! nothing is left its `kubernetes` finalizer is removed through
//! `PUT …/finalize`. Until then its status conditions say what remains and
//! which finalizers hold it, with upstream's reasons and messages.

mod deleter;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::informer::{Change, Informer};
use crate::{Error, workqueue};

/// The finalizer this controller owns.
pub const FINALIZER: &str = "kubernetes";

pub struct Context {
    pub client: Client,
}

/// Wires the controller to the namespace informer; returns its run future.
pub fn register(
    client: Client,
    namespaces: &mut Informer<Namespace>,
    concurrency: u16,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let (queue, rx) = workqueue::queue::<Namespace>();
    let q = queue.clone();
    namespaces.on_change(move |change| {
        if let Change::Applied { new, .. } = change {
            q.add(ObjectRef::from_obj(*new));
        }
    });
    let ctx = Arc::new(Context { client });
    workqueue::run(
        "namespace",
        namespaces.primary(),
        (queue, rx),
        reconcile,
        ctx,
        concurrency,
    )
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Context>) -> Result<Action, Error> {
    let finalizers = ns
        .spec
        .as_ref()
        .and_then(|s| s.finalizers.clone())
        .unwrap_or_default();
    if ns.metadata.deletion_timestamp.is_none() || !finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let name = ns.name_any();
    let outcome = deleter::delete_all_content(&ctx.client, &name).await?;
    write_conditions(&ctx.client, &ns, conditions(&outcome)).await?;
    if outcome.remaining.is_empty()
        && outcome.failures.is_empty()
        && outcome.discovery_failure.is_none()
    {
        finalize(&ctx.client, &ns).await?;
        return Ok(Action::await_change());
    }
    Ok(Action::requeue(Duration::from_secs(2)))
}

fn condition(type_: &str, problem: Option<(&str, String)>, ok: (&str, &str)) -> NamespaceCondition {
    let (status, reason, message) = match problem {
        Some((reason, message)) => ("True", reason.to_string(), message),
        None => ("False", ok.0.to_string(), ok.1.to_string()),
    };
    NamespaceCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason),
        message: Some(message),
        last_transition_time: Some(Time(Timestamp::now())),
    }
}

/// The five deletion conditions upstream sets on a Terminating namespace.
fn conditions(o: &deleter::Outcome) -> Vec<NamespaceCondition> {
    let joined = |v: &[String]| v.join(", ");
    let remaining: Vec<String> = o
        .remaining
        .iter()
        .map(|(r, n)| format!("{r} has {n} resource instances"))
        .collect();
    let finalizers: Vec<String> = o
        .finalizers
        .iter()
        .map(|(f, n)| format!("{f} in {n} resource instances"))
        .collect();
    vec![
        condition(
            "NamespaceDeletionDiscoveryFailure",
            o.discovery_failure.clone().map(|m| {
                (
                    "DiscoveryFailed",
                    format!("Discovery failed for some groups: {m}"),
                )
            }),
            (
                "ResourcesDiscovered",
                "All resources successfully discovered",
            ),
        ),
        condition(
            "NamespaceDeletionGroupVersionParsingFailure",
            None,
            (
                "ParsedGroupVersions",
                "All legacy kube types successfully parsed",
            ),
        ),
        condition(
            "NamespaceDeletionContentFailure",
            (!o.failures.is_empty()).then(|| {
                (
                    "ContentDeletionFailed",
                    format!(
                        "Failed to delete all resource types, {} remaining: {}",
                        o.failures.len(),
                        joined(&o.failures)
                    ),
                )
            }),
            (
                "ContentDeleted",
                "All content successfully deleted, may be waiting on finalization",
            ),
        ),
        condition(
            "NamespaceContentRemaining",
            (!remaining.is_empty()).then(|| {
                (
                    "SomeResourcesRemain",
                    format!("Some resources are remaining: {}", joined(&remaining)),
                )
            }),
            ("ContentRemoved", "All content successfully removed"),
        ),
        condition(
            "NamespaceFinalizersRemaining",
            (!finalizers.is_empty()).then(|| {
                (
                    "SomeFinalizersRemain",
                    format!(
                        "Some content in the namespace has finalizers remaining: {}",
                        joined(&finalizers)
                    ),
                )
            }),
            (
                "ContentHasNoFinalizers",
                "All content-preserving finalizers finished",
            ),
        ),
    ]
}

/// Writes the conditions, keeping the transition time of unchanged ones.
async fn write_conditions(
    client: &Client,
    ns: &Namespace,
    mut new: Vec<NamespaceCondition>,
) -> Result<(), Error> {
    let old = ns
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let mut changed = false;
    for c in &mut new {
        match old.iter().find(|o| o.type_ == c.type_) {
            Some(o) if o.status == c.status && o.reason == c.reason && o.message == c.message => {
                c.last_transition_time = o.last_transition_time.clone();
            }
            Some(o) if o.status == c.status => {
                c.last_transition_time = o.last_transition_time.clone();
                changed = true;
            }
            _ => changed = true,
        }
    }
    if !changed {
        return Ok(());
    }
    let api: Api<Namespace> = Api::all(client.clone());
    api.patch_status(
        &ns.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"conditions": new}})),
    )
    .await
    .map_err(|e| Error::api("updating the conditions of namespace", ns.name_any(), e))?;
    Ok(())
}

/// `PUT /api/v1/namespaces/{name}/finalize` without our finalizer.
async fn finalize(client: &Client, ns: &Namespace) -> Result<(), Error> {
    let api: Api<Namespace> = Api::all(client.clone());
    let mut fresh = match api.get_opt(&ns.name_any()).await {
        Ok(Some(n)) => n,
        Ok(None) => return Ok(()),
        Err(e) => return Err(Error::api("reading namespace", ns.name_any(), e)),
    };
    if let Some(spec) = fresh.spec.as_mut() {
        spec.finalizers = Some(
            spec.finalizers
                .take()
                .unwrap_or_default()
                .into_iter()
                .filter(|f| f != FINALIZER)
                .collect(),
        );
    }
    match api
        .replace_subresource("finalize", &ns.name_any(), &PostParams::default(), &fresh)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::error::is_not_found(&e) => Ok(()),
        Err(e) => Err(Error::api("finalizing namespace", ns.name_any(), e)),
    }
}
