//! Component schemas of the built-in kinds for OpenAPI v3, generated from
//! the `k8s-openapi` types (their field documentation included), named as
//! upstream names them (`io.k8s.api.apps.v1.Deployment`) and marked with
//! `x-kubernetes-group-version-kind`, which kubectl reads.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use k8s_openapi::api;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

/// (group, version, kind, schema name) of every built-in kind.
struct Generated {
    kinds: Vec<(&'static str, &'static str, &'static str, String)>,
    definitions: Map<String, Value>,
}

macro_rules! register {
    ($gen:ident, $kinds:ident, $( ($g:literal, $v:literal, $k:literal, $t:ty) ),* $(,)?) => {
        $(
            let schema = $gen.subschema_for::<$t>();
            let name = schema
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.rsplit('/').next())
                .unwrap_or($k)
                .to_string();
            $kinds.push(($g, $v, $k, name));
        )*
    };
}

fn generate() -> Generated {
    let mut generator = SchemaGenerator::new(SchemaSettings::openapi3());
    let mut kinds = Vec::new();
    register!(
        generator,
        kinds,
        ("", "v1", "Namespace", api::core::v1::Namespace),
        ("", "v1", "Pod", api::core::v1::Pod),
        ("", "v1", "Service", api::core::v1::Service),
        ("", "v1", "Endpoints", api::core::v1::Endpoints),
        ("", "v1", "ConfigMap", api::core::v1::ConfigMap),
        ("", "v1", "Secret", api::core::v1::Secret),
        ("", "v1", "ServiceAccount", api::core::v1::ServiceAccount),
        ("", "v1", "Node", api::core::v1::Node),
        ("", "v1", "Event", api::core::v1::Event),
        (
            "",
            "v1",
            "PersistentVolume",
            api::core::v1::PersistentVolume
        ),
        (
            "",
            "v1",
            "PersistentVolumeClaim",
            api::core::v1::PersistentVolumeClaim
        ),
        ("", "v1", "LimitRange", api::core::v1::LimitRange),
        ("", "v1", "ResourceQuota", api::core::v1::ResourceQuota),
        (
            "",
            "v1",
            "ReplicationController",
            api::core::v1::ReplicationController
        ),
        ("", "v1", "PodTemplate", api::core::v1::PodTemplate),
        ("apps", "v1", "Deployment", api::apps::v1::Deployment),
        ("apps", "v1", "ReplicaSet", api::apps::v1::ReplicaSet),
        ("apps", "v1", "StatefulSet", api::apps::v1::StatefulSet),
        ("apps", "v1", "DaemonSet", api::apps::v1::DaemonSet),
        (
            "apps",
            "v1",
            "ControllerRevision",
            api::apps::v1::ControllerRevision
        ),
        ("batch", "v1", "Job", api::batch::v1::Job),
        ("batch", "v1", "CronJob", api::batch::v1::CronJob),
        (
            "autoscaling",
            "v1",
            "HorizontalPodAutoscaler",
            api::autoscaling::v1::HorizontalPodAutoscaler
        ),
        ("autoscaling", "v1", "Scale", api::autoscaling::v1::Scale),
        (
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            api::autoscaling::v2::HorizontalPodAutoscaler
        ),
        (
            "networking.k8s.io",
            "v1",
            "Ingress",
            api::networking::v1::Ingress
        ),
        (
            "networking.k8s.io",
            "v1",
            "IngressClass",
            api::networking::v1::IngressClass
        ),
        (
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            api::networking::v1::NetworkPolicy
        ),
        (
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
            api::discovery::v1::EndpointSlice
        ),
        (
            "coordination.k8s.io",
            "v1",
            "Lease",
            api::coordination::v1::Lease
        ),
        ("events.k8s.io", "v1", "Event", api::events::v1::Event),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            api::rbac::v1::Role
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            api::rbac::v1::RoleBinding
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            api::rbac::v1::ClusterRole
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            api::rbac::v1::ClusterRoleBinding
        ),
        (
            "storage.k8s.io",
            "v1",
            "StorageClass",
            api::storage::v1::StorageClass
        ),
        (
            "policy",
            "v1",
            "PodDisruptionBudget",
            api::policy::v1::PodDisruptionBudget
        ),
        ("policy", "v1", "Eviction", api::policy::v1::Eviction),
        (
            "scheduling.k8s.io",
            "v1",
            "PriorityClass",
            api::scheduling::v1::PriorityClass
        ),
        (
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            apiextensions::CustomResourceDefinition
        ),
    );
    let mut definitions: Map<String, Value> = generator.definitions().clone();
    definitions.values_mut().for_each(wrap_refs);
    for (g, v, k, name) in &kinds {
        if let Some(Value::Object(schema)) = definitions.get_mut(name) {
            schema.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": g, "version": v, "kind": k}]),
            );
        }
    }
    Generated { kinds, definitions }
}

/// `{"$ref": X, "description": D}` → `{"allOf": [{"$ref": X}], "description": D}`,
/// as upstream writes a documented reference (OpenAPI 3.0 ignores the
/// siblings of `$ref`; kubectl then shows the field's own description).
fn wrap_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.len() > 1
                && let Some(r) = m.remove("$ref")
            {
                m.insert("allOf".into(), json!([{"$ref": r}]));
            }
            m.values_mut().for_each(wrap_refs);
        }
        Value::Array(a) => a.iter_mut().for_each(wrap_refs),
        _ => {}
    }
}

fn generated() -> &'static Generated {
    static CELL: OnceLock<Generated> = OnceLock::new();
    CELL.get_or_init(generate)
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                out.push(r.rsplit('/').next().unwrap_or(r).to_string());
            }
            m.values().for_each(|c| refs(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| refs(c, out)),
        _ => {}
    }
}

/// The component schemas a group-version's document needs: its kinds and
/// every schema they reference.
pub fn for_group_version(group: &str, version: &str) -> Map<String, Value> {
    let g = generated();
    let mut todo: Vec<String> = g
        .kinds
        .iter()
        .filter(|(kg, kv, _, _)| *kg == group && *kv == version)
        .map(|k| k.3.clone())
        .collect();
    let mut seen = BTreeSet::new();
    let mut out = Map::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = g.definitions.get(&name) {
            refs(schema, &mut todo);
            out.insert(name, schema.clone());
        }
    }
    out
}

/// The schema name of a built-in kind, if it has one.
pub fn name_of(group: &str, version: &str, kind: &str) -> Option<String> {
    generated()
        .kinds
        .iter()
        .find(|(g, v, k, _)| *g == group && *v == version && *k == kind)
        .map(|k| k.3.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_versions_schemas_carry_its_kinds_and_their_references() {
        let apps = for_group_version("apps", "v1");
        let deployment = apps
            .get("io.k8s.api.apps.v1.Deployment")
            .expect("Deployment schema");
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"][0]["kind"],
            "Deployment"
        );
        assert!(
            apps.contains_key("io.k8s.api.core.v1.PodSpec"),
            "referenced schemas are included"
        );
        assert!(apps.contains_key("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
        assert!(
            !apps.contains_key("io.k8s.api.core.v1.Pod"),
            "unreferenced kinds are not"
        );
        assert_eq!(
            name_of("", "v1", "Pod").as_deref(),
            Some("io.k8s.api.core.v1.Pod")
        );
    }
}
