//! ReplicationControllers: a map selector defaulted from the template.

use k8s_openapi::api::core::v1 as core;
use serde_json::{Value, json};

use super::apps::default_spec_template;
use super::kind::{Generation, KindStrategy};
use super::pod::{validate_pod_template, validate_template_restart_policy};
use super::workload::{non_negative, selector_unchanged, status_replicas, template_labels};
use crate::resource::Scope::Namespaced;
use crate::validation::{ErrorList, FieldError, validate_labels};
use crate::wire::{default_at, object_at};

pub(super) static REPLICATION_CONTROLLER: KindStrategy = KindStrategy {
    status: true,
    generation: Generation::Spec,
    default: default_replication_controller,
    validate: validate_replication_controller,
    validate_update: selector_unchanged,
    fields: &["status.replicas"],
    field_value: status_replicas,
    ..KindStrategy::typed::<core::ReplicationController>("ReplicationController", Namespaced)
};

fn default_replication_controller(obj: &mut Value) {
    let labels = obj
        .pointer("/spec/template/metadata/labels")
        .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
        .cloned();
    if let Some(labels) = labels {
        let spec = object_at(obj, &["spec"]);
        if spec
            .get("selector")
            .and_then(Value::as_object)
            .is_none_or(|s| s.is_empty())
        {
            spec.insert("selector".into(), labels.clone());
        }
        let meta = object_at(obj, &["metadata"]);
        if meta
            .get("labels")
            .and_then(Value::as_object)
            .is_none_or(|l| l.is_empty())
        {
            meta.insert("labels".into(), labels);
        }
    }
    default_at(obj, &["spec", "replicas"], json!(1));
    default_spec_template(obj);
}

fn validate_replication_controller(obj: &Value) -> ErrorList {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let mut errs = non_negative(spec, "replicas");
    errs.extend(non_negative(spec, "minReadySeconds"));
    let selector = spec.get("selector").and_then(Value::as_object);
    let template = spec.get("template").unwrap_or(&Value::Null);
    match selector.filter(|s| !s.is_empty()) {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(selector) => {
            errs.extend(validate_labels(
                &Value::Object(selector.clone()),
                "spec.selector",
            ));
            let labels = template_labels(template);
            let matches = selector
                .iter()
                .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str());
            if !matches {
                let shown = template
                    .pointer("/metadata/labels")
                    .cloned()
                    .unwrap_or(Value::Null);
                errs.push(FieldError::invalid(
                    "spec.template.metadata.labels",
                    shown,
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    if template.is_null() {
        errs.push(FieldError::required("spec.template", ""));
    } else {
        errs.extend(validate_pod_template(template, "spec.template"));
        errs.extend(validate_template_restart_policy(
            template,
            "spec.template",
            &["Always"],
        ));
    }
    errs
}
