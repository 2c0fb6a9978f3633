//! Which strategy serves which (group, kind).

use k8s_openapi::api::{apps::v1 as apps, core::v1 as core};
use serde_json::Value;

use super::decode::TypeMismatch;
use super::kind::{Generation, KindStrategy};
use crate::resource::Scope::{Cluster, Namespaced};

pub(super) static GENERIC: KindStrategy = KindStrategy::generic();

static CUSTOM_NAMESPACED: KindStrategy = custom(true, false);
static CUSTOM_NAMESPACED_STATUS: KindStrategy = custom(true, true);
static CUSTOM_CLUSTER: KindStrategy = custom(false, false);
static CUSTOM_CLUSTER_STATUS: KindStrategy = custom(false, true);

const fn custom(namespaced: bool, status: bool) -> KindStrategy {
    let mut strategy = KindStrategy::generic();
    strategy.scope = Some(if namespaced { Namespaced } else { Cluster });
    strategy.status = status;
    strategy.generation = Generation::Spec;
    strategy
}

pub(super) fn custom_resource(namespaced: bool, status: bool) -> &'static KindStrategy {
    match (namespaced, status) {
        (true, false) => &CUSTOM_NAMESPACED,
        (true, true) => &CUSTOM_NAMESPACED_STATUS,
        (false, false) => &CUSTOM_CLUSTER,
        (false, true) => &CUSTOM_CLUSTER_STATUS,
    }
}

static CONFIG_MAP: KindStrategy = KindStrategy::typed::<core::ConfigMap>("ConfigMap", Namespaced);
static CONTROLLER_REVISION: KindStrategy = KindStrategy::typed::<apps::ControllerRevision>("ControllerRevision", Namespaced);

pub(super) fn builtin(group: &str, kind: &str) -> Option<&'static KindStrategy> {
    let strategy = match (group, kind) {
        ("", "ConfigMap") => &CONFIG_MAP,
        ("apps", "ControllerRevision") => &CONTROLLER_REVISION,
        _ => return None,
    };
    Some(strategy)
}

#[allow(dead_code)]
fn unused(_: &Value) -> Option<TypeMismatch> {
    None
}
