//! batch/v1: Jobs and CronJobs.

use k8s_openapi::api::batch::v1 as batch;
use serde_json::{Value, json};

use super::kind::{Generation, KindStrategy};
use super::pod::{default_pod_template, validate_pod_template, validate_template_restart_policy};
use super::workload::{
    field_unchanged, non_negative, selector_unchanged, validate_selector_and_template,
};
use crate::resource::Scope::Namespaced;
use crate::validation::{ErrorList, FieldError};
use crate::wire::{default_at, object_at, str_at};

const JOB_RESTART_POLICIES: &[&str] = &["OnFailure", "Never"];
const CONCURRENCY_POLICIES: &[&str] = &["Allow", "Forbid", "Replace"];

pub(super) static JOB: KindStrategy = KindStrategy {
    status: true,
    generation: Generation::Spec,
    default: default_job,
    prepare_create: generate_job_selector,
    validate: validate_job,
    validate_update: validate_job_update,
    fields: &["status.successful"],
    field_value: job_field,
    ..KindStrategy::typed::<batch::Job>("Job", Namespaced)
};

pub(super) static CRON_JOB: KindStrategy = KindStrategy {
    status: true,
    generation: Generation::Spec,
    default: default_cron_job,
    validate: validate_cron_job,
    ..KindStrategy::typed::<batch::CronJob>("CronJob", Namespaced)
};

fn default_job(obj: &mut Value) {
    let spec = object_at(obj, &["spec"]);
    if spec.get("completions").is_none_or(Value::is_null)
        && spec.get("parallelism").is_none_or(Value::is_null)
    {
        spec.insert("completions".into(), json!(1));
    }
    let backoff = if spec
        .get("backoffLimitPerIndex")
        .is_some_and(|b| !b.is_null())
    {
        i32::MAX
    } else {
        6
    };
    let replacement = if spec.get("podFailurePolicy").is_some_and(|p| !p.is_null()) {
        "Failed"
    } else {
        "TerminatingOrFailed"
    };
    for (field, value) in [
        ("parallelism", json!(1)),
        ("backoffLimit", json!(backoff)),
        ("completionMode", json!("NonIndexed")),
        ("suspend", json!(false)),
        ("podReplacementPolicy", json!(replacement)),
        ("manualSelector", json!(false)),
    ] {
        crate::wire::default_key(spec, field, value);
    }
    copy_template_labels_if_unlabelled(obj);
    if let Some(template) = obj.pointer_mut("/spec/template") {
        default_pod_template(template);
    }
}

/// A Job without labels takes its pod template's.
fn copy_template_labels_if_unlabelled(obj: &mut Value) {
    let has_labels = obj
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .is_some_and(|l| !l.is_empty());
    let template_labels = obj
        .pointer("/spec/template/metadata/labels")
        .filter(|l| l.is_object())
        .cloned();
    if let (false, Some(labels)) = (has_labels, template_labels) {
        object_at(obj, &["metadata"]).insert("labels".into(), labels);
    }
}

/// Labels the pod template with the job's name and uid and selects on the
/// uid, unless the user manages the selector (`manualSelector: true`).
fn generate_job_selector(obj: &mut Value) {
    if obj.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let name = str_at(obj, &["metadata", "name"]).to_string();
    let uid = str_at(obj, &["metadata", "uid"]).to_string();
    let labels = object_at(obj, &["spec", "template", "metadata", "labels"]);
    for (key, value) in [
        ("batch.kubernetes.io/controller-uid", &uid),
        ("batch.kubernetes.io/job-name", &name),
        ("controller-uid", &uid),
        ("job-name", &name),
    ] {
        labels.entry(key).or_insert_with(|| json!(value));
    }
    let match_labels = object_at(obj, &["spec", "selector", "matchLabels"]);
    match_labels
        .entry("batch.kubernetes.io/controller-uid")
        .or_insert_with(|| json!(uid));
    copy_template_labels_if_unlabelled(obj);
}

fn spec(obj: &Value) -> &Value {
    obj.get("spec").unwrap_or(&Value::Null)
}

fn validate_job(obj: &Value) -> ErrorList {
    let spec = spec(obj);
    let mut errs: ErrorList = [
        "parallelism",
        "completions",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ]
    .iter()
    .flat_map(|f| non_negative(spec, f))
    .collect();
    if let Some(deadline) = spec
        .get("activeDeadlineSeconds")
        .and_then(Value::as_i64)
        .filter(|d| *d <= 0)
    {
        errs.push(FieldError::invalid(
            "spec.activeDeadlineSeconds",
            deadline,
            "must be greater than 0",
        ));
    }
    let mode = str_at(spec, &["completionMode"]);
    if !mode.is_empty() && !["NonIndexed", "Indexed"].contains(&mode) {
        errs.push(FieldError::not_supported(
            "spec.completionMode",
            mode,
            &["NonIndexed", "Indexed"],
        ));
    }
    if mode == "Indexed" && spec.get("completions").is_none_or(Value::is_null) {
        errs.push(FieldError::required(
            "spec.completions",
            "when completion mode is Indexed",
        ));
    }
    let mut template_errs = validate_selector_and_template(spec, "job");
    template_errs.retain(|e| e.field != "spec.template.spec.restartPolicy");
    errs.extend(template_errs);
    let template = spec.get("template").unwrap_or(&Value::Null);
    errs.extend(validate_template_restart_policy(
        template,
        "spec.template",
        JOB_RESTART_POLICIES,
    ));
    errs
}

fn validate_job_update(new: &Value, old: &Value) -> ErrorList {
    let mut errs = selector_unchanged(new, old);
    for field in ["template", "completionMode"] {
        errs.extend(field_unchanged(new, old, field));
    }
    if str_at(new, &["spec", "completionMode"]) != "Indexed" {
        errs.extend(field_unchanged(new, old, "completions"));
    }
    errs
}

fn job_field(obj: &Value, field: &str) -> Option<String> {
    match field {
        "status.successful" => Some(
            obj.pointer("/status/succeeded")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .to_string(),
        ),
        _ => None,
    }
}

fn default_cron_job(obj: &mut Value) {
    default_at(obj, &["spec", "concurrencyPolicy"], json!("Allow"));
    default_at(obj, &["spec", "suspend"], json!(false));
    default_at(obj, &["spec", "successfulJobsHistoryLimit"], json!(3));
    default_at(obj, &["spec", "failedJobsHistoryLimit"], json!(1));
    object_at(obj, &["spec", "jobTemplate", "spec", "template"]);
    if let Some(template) = obj.pointer_mut("/spec/jobTemplate/spec/template") {
        default_pod_template(template);
    }
}

fn validate_cron_job(obj: &Value) -> ErrorList {
    let spec = spec(obj);
    let mut errs: ErrorList = [
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    ]
    .iter()
    .flat_map(|f| non_negative(spec, f))
    .collect();
    let schedule = str_at(spec, &["schedule"]);
    if schedule.is_empty() {
        errs.push(FieldError::required("spec.schedule", ""));
    } else if let Some(detail) = schedule_error(schedule) {
        errs.push(FieldError::invalid("spec.schedule", schedule, &detail));
    }
    let policy = str_at(spec, &["concurrencyPolicy"]);
    if !policy.is_empty() && !CONCURRENCY_POLICIES.contains(&policy) {
        errs.push(FieldError::not_supported(
            "spec.concurrencyPolicy",
            policy,
            CONCURRENCY_POLICIES,
        ));
    }
    let template = spec
        .pointer("/jobTemplate/spec/template")
        .unwrap_or(&Value::Null);
    errs.extend(validate_pod_template(
        template,
        "spec.jobTemplate.spec.template",
    ));
    errs.extend(validate_template_restart_policy(
        template,
        "spec.jobTemplate.spec.template",
        JOB_RESTART_POLICIES,
    ));
    errs
}

const DESCRIPTORS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// Why a standard five-field cron schedule (or `@daily`-style descriptor)
/// does not parse.
pub fn schedule_error(schedule: &str) -> Option<String> {
    if schedule.contains("TZ") {
        return Some("cannot use TZ or CRON_TZ in schedule, use timeZone field instead".into());
    }
    if DESCRIPTORS.contains(&schedule) || schedule.starts_with("@every ") {
        return None;
    }
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != 5 {
        return Some(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    let bad = fields.iter().find(|f| {
        !f.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '/' | ',' | '-' | '?'))
    });
    bad.map(|f| format!("failed to parse field: {f}"))
}
