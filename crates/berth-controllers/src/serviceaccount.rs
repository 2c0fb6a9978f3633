//! The ServiceAccount controller: every active namespace has a `default`
//! ServiceAccount, recreated if deleted, as upstream's
//! `pkg/controller/serviceaccount` does (tokens are not part of it).

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};

use crate::error::is_conflict;
use crate::informer::{Change, Informer};
use crate::{Error, workqueue};

pub const DEFAULT: &str = "default";

pub struct Context {
    client: Client,
    accounts: Store<ServiceAccount>,
}

/// True for a namespace that takes new content.
pub fn is_active(ns: &Namespace) -> bool {
    ns.metadata.deletion_timestamp.is_none()
        && ns.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Terminating")
}

/// Wires the controller; `accounts` should watch only `metadata.name=default`.
pub fn register(
    client: Client,
    namespaces: &mut Informer<Namespace>,
    accounts: &mut Informer<ServiceAccount>,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let (queue, rx) = workqueue::queue::<Namespace>();
    let q = queue.clone();
    namespaces.on_change(move |change| {
        if let Change::Applied { new, old: None } = change {
            q.add(ObjectRef::from_obj(*new));
        }
    });
    let q = queue.clone();
    accounts.on_change(move |change| {
        if let Change::Deleted(sa) = change {
            q.add_named(None, &sa.namespace().unwrap_or_default());
        }
    });
    let ctx = Arc::new(Context {
        client,
        accounts: accounts.store(),
    });
    workqueue::run(
        "serviceaccount",
        namespaces.primary(),
        (queue, rx),
        reconcile,
        ctx,
        2,
    )
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Context>) -> Result<Action, Error> {
    let name = ns.name_any();
    tracing::debug!(namespace = %name, "ensuring the default ServiceAccount");
    if !is_active(&ns)
        || ctx
            .accounts
            .get(&ObjectRef::new(DEFAULT).within(&name))
            .is_some()
    {
        return Ok(Action::await_change());
    }
    let sa = ServiceAccount {
        metadata: ObjectMeta {
            name: Some(DEFAULT.into()),
            namespace: Some(name.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    match Api::<ServiceAccount>::namespaced(ctx.client.clone(), &name)
        .create(&PostParams::default(), &sa)
        .await
    {
        Ok(_) => Ok(Action::await_change()),
        Err(e) if is_conflict(&e) || crate::error::status_code(&e) == Some(403) => {
            Ok(Action::await_change())
        }
        Err(e) => Err(Error::api(
            "creating the default ServiceAccount in",
            name,
            e,
        )),
    }
}
