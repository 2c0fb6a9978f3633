//! rbac.authorization.k8s.io/v1: Roles, ClusterRoles and their bindings.

use k8s_openapi::api::rbac::v1 as rbac;
use serde_json::{Value, json};

use super::kind::KindStrategy;
use crate::resource::Scope::{Cluster, Namespaced};
use crate::validation::{ErrorList, FieldError, child, index, path_segment_name};
use crate::wire::{list_at, list_at_mut, str_at};

const GROUP: &str = "rbac.authorization.k8s.io";
const SUBJECT_KINDS: &[&str] = &["Group", "ServiceAccount", "User"];

pub(super) static ROLE: KindStrategy = KindStrategy {
    name: path_segment_name,
    validate: validate_namespaced_rules,
    ..KindStrategy::typed::<rbac::Role>("Role", Namespaced)
};

pub(super) static CLUSTER_ROLE: KindStrategy = KindStrategy {
    name: path_segment_name,
    validate: validate_cluster_rules,
    ..KindStrategy::typed::<rbac::ClusterRole>("ClusterRole", Cluster)
};

pub(super) static ROLE_BINDING: KindStrategy = KindStrategy {
    name: path_segment_name,
    default: default_subjects,
    validate: validate_role_binding,
    validate_update: role_ref_unchanged,
    ..KindStrategy::typed::<rbac::RoleBinding>("RoleBinding", Namespaced)
};

pub(super) static CLUSTER_ROLE_BINDING: KindStrategy = KindStrategy {
    name: path_segment_name,
    default: default_subjects,
    validate: validate_cluster_role_binding,
    validate_update: role_ref_unchanged,
    ..KindStrategy::typed::<rbac::ClusterRoleBinding>("ClusterRoleBinding", Cluster)
};

fn validate_namespaced_rules(obj: &Value) -> ErrorList {
    validate_rules(obj, true)
}

fn validate_cluster_rules(obj: &Value) -> ErrorList {
    validate_rules(obj, false)
}

fn validate_rules(obj: &Value, namespaced: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, rule) in list_at(obj, &["rules"]).iter().enumerate() {
        errs.extend(validate_rule(rule, &index("rules", i), namespaced));
    }
    errs
}

fn validate_rule(rule: &Value, path: &str, namespaced: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    let has = |field: &str| !list_at(rule, &[field]).is_empty();
    if !has("verbs") {
        errs.push(FieldError::required(
            &child(path, "verbs"),
            "verbs must contain at least one value",
        ));
    }
    if has("nonResourceURLs") {
        let urls = rule.get("nonResourceURLs").cloned().unwrap_or(Value::Null);
        let at = child(path, "nonResourceURLs");
        if namespaced {
            errs.push(FieldError::invalid(
                &at,
                urls.clone(),
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if has("apiGroups") || has("resources") || has("resourceNames") {
            errs.push(FieldError::invalid(
                &at,
                urls,
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return errs;
    }
    if !has("apiGroups") {
        errs.push(FieldError::required(
            &child(path, "apiGroups"),
            "resource rules must supply at least one api group",
        ));
    }
    if !has("resources") {
        errs.push(FieldError::required(
            &child(path, "resources"),
            "resource rules must supply at least one resource",
        ));
    }
    errs
}

/// Users and groups are in the RBAC group; service accounts in the core group.
fn default_subjects(obj: &mut Value) {
    for subject in list_at_mut(obj, &["subjects"]).into_iter().flatten() {
        let group = if str_at(subject, &["kind"]) == "ServiceAccount" {
            ""
        } else {
            GROUP
        };
        crate::wire::default_at(subject, &["apiGroup"], json!(group));
    }
}

fn validate_role_binding(obj: &Value) -> ErrorList {
    validate_binding(obj, &["ClusterRole", "Role"], false)
}

fn validate_cluster_role_binding(obj: &Value) -> ErrorList {
    validate_binding(obj, &["ClusterRole"], true)
}

fn validate_binding(obj: &Value, role_kinds: &[&str], cluster: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    let api_group = str_at(obj, &["roleRef", "apiGroup"]);
    if api_group != GROUP {
        errs.push(FieldError::not_supported(
            "roleRef.apiGroup",
            api_group,
            &[GROUP],
        ));
    }
    let kind = str_at(obj, &["roleRef", "kind"]);
    if !role_kinds.contains(&kind) {
        errs.push(FieldError::not_supported("roleRef.kind", kind, role_kinds));
    }
    let name = str_at(obj, &["roleRef", "name"]);
    if name.is_empty() {
        errs.push(FieldError::required("roleRef.name", ""));
    } else {
        errs.extend(
            path_segment_name(name, false)
                .iter()
                .map(|m| FieldError::invalid("roleRef.name", name, m)),
        );
    }
    for (i, subject) in list_at(obj, &["subjects"]).iter().enumerate() {
        errs.extend(validate_subject(subject, &index("subjects", i), cluster));
    }
    errs
}

fn validate_subject(subject: &Value, path: &str, cluster: bool) -> ErrorList {
    let mut errs = ErrorList::new();
    if str_at(subject, &["name"]).is_empty() {
        errs.push(FieldError::required(&child(path, "name"), ""));
    }
    let kind = str_at(subject, &["kind"]);
    let group = str_at(subject, &["apiGroup"]);
    match kind {
        "ServiceAccount" => {
            if !group.is_empty() {
                errs.push(FieldError::not_supported(
                    &child(path, "apiGroup"),
                    group,
                    &[""],
                ));
            }
            if cluster && str_at(subject, &["namespace"]).is_empty() {
                errs.push(FieldError::required(&child(path, "namespace"), ""));
            }
        }
        "User" | "Group" => {
            if group != GROUP {
                errs.push(FieldError::not_supported(
                    &child(path, "apiGroup"),
                    group,
                    &[GROUP],
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            &child(path, "kind"),
            other,
            SUBJECT_KINDS,
        )),
    }
    errs
}

fn role_ref_unchanged(new: &Value, old: &Value) -> ErrorList {
    if new.get("roleRef") == old.get("roleRef") {
        return Vec::new();
    }
    let shown = new.get("roleRef").cloned().unwrap_or(Value::Null);
    vec![FieldError::invalid(
        "roleRef",
        shown,
        "cannot change roleRef",
    )]
}
