//! The root CA publisher: every active namespace has the `kube-root-ca.crt`
//! ConfigMap holding the cluster CA (`ca.crt`), kept equal to it, as
//! upstream's `pkg/controller/certificates/rootcacertpublisher`.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};

use crate::error::is_conflict;
use crate::informer::{Change, Informer};
use crate::serviceaccount::is_active;
use crate::{Error, workqueue};

pub const NAME: &str = "kube-root-ca.crt";
const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

pub struct Context {
    client: Client,
    config_maps: Store<ConfigMap>,
    ca: String,
}

/// Wires the publisher; `config_maps` should watch only `metadata.name=kube-root-ca.crt`.
pub fn register(
    client: Client,
    ca: String,
    namespaces: &mut Informer<Namespace>,
    config_maps: &mut Informer<ConfigMap>,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let (queue, rx) = workqueue::queue::<Namespace>();
    let q = queue.clone();
    namespaces.on_change(move |change| {
        if let Change::Applied { new, old: None } = change {
            q.add(ObjectRef::from_obj(*new));
        }
    });
    let q = queue.clone();
    config_maps.on_change(move |change| {
        q.add_named(None, &change.object().namespace().unwrap_or_default())
    });
    let ctx = Arc::new(Context {
        client,
        config_maps: config_maps.store(),
        ca,
    });
    workqueue::run(
        "root-ca-cert-publisher",
        namespaces.primary(),
        (queue, rx),
        reconcile,
        ctx,
        2,
    )
}

fn desired(ctx: &Context, namespace: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(NAME.into()),
            namespace: Some(namespace.into()),
            annotations: Some(BTreeMap::from([(
                "kubernetes.io/description".to_string(),
                DESCRIPTION.to_string(),
            )])),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("ca.crt".to_string(), ctx.ca.clone())])),
        ..Default::default()
    }
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Context>) -> Result<Action, Error> {
    let name = ns.name_any();
    if !is_active(&ns) {
        return Ok(Action::await_change());
    }
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &name);
    let want = desired(&ctx, &name);
    let result = match ctx.config_maps.get(&ObjectRef::new(NAME).within(&name)) {
        None => api.create(&PostParams::default(), &want).await,
        Some(cm) if cm.data == want.data => return Ok(Action::await_change()),
        Some(cm) => {
            let mut updated = (*cm).clone();
            updated.data = want.data;
            api.replace(NAME, &PostParams::default(), &updated).await
        }
    };
    match result {
        Ok(_) => Ok(Action::await_change()),
        Err(e) if crate::error::status_code(&e) == Some(403) => Ok(Action::await_change()),
        Err(e) if is_conflict(&e) => Err(Error::api("writing kube-root-ca.crt in", name, e)),
        Err(e) => Err(Error::api("writing kube-root-ca.crt in", name, e)),
    }
}
