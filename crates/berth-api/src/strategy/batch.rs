//! batch/v1: Jobs and CronJobs.

pub mod cron;

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
    default_pod_failure_policy(obj);
}

/// `onPodConditions[].status` defaults to True, as upstream's.
fn default_pod_failure_policy(obj: &mut Value) {
    let Some(rules) = obj
        .pointer_mut("/spec/podFailurePolicy/rules")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    let patterns = rules
        .iter_mut()
        .filter_map(|r| r.get_mut("onPodConditions").and_then(Value::as_array_mut))
        .flatten();
    for pattern in patterns.filter_map(Value::as_object_mut) {
        crate::wire::default_key(pattern, "status", json!("True"));
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
    errs.extend(validate_job_failure_handling(spec));
    errs
}

const FAILURE_POLICY_ACTIONS: &[&str] = &["FailJob", "FailIndex", "Ignore", "Count"];

/// `backoffLimitPerIndex`, `maxFailedIndexes` and `podFailurePolicy`, as
/// upstream's validateJobSpec checks them.
fn validate_job_failure_handling(spec: &Value) -> ErrorList {
    let mut errs: ErrorList = ["backoffLimitPerIndex", "maxFailedIndexes"]
        .iter()
        .flat_map(|f| non_negative(spec, f))
        .collect();
    let per_index = spec
        .get("backoffLimitPerIndex")
        .is_some_and(|v| !v.is_null());
    if per_index && str_at(spec, &["completionMode"]) != "Indexed" {
        errs.push(FieldError::invalid(
            "spec.backoffLimitPerIndex",
            spec["backoffLimitPerIndex"].clone(),
            "requires indexed completion mode",
        ));
    }
    if let Some(max) = spec.get("maxFailedIndexes").filter(|v| !v.is_null()) {
        if !per_index {
            errs.push(FieldError::required(
                "spec.backoffLimitPerIndex",
                "when maxFailedIndexes is specified",
            ));
        }
        let completions = spec.get("completions").and_then(Value::as_i64);
        if max.as_i64().zip(completions).is_some_and(|(m, c)| m > c) {
            errs.push(FieldError::invalid(
                "spec.maxFailedIndexes",
                max.clone(),
                "must be less than or equal to completions",
            ));
        }
    }
    let Some(rules) = spec
        .pointer("/podFailurePolicy/rules")
        .and_then(Value::as_array)
    else {
        return errs;
    };
    let restart = str_at(spec, &["template", "spec", "restartPolicy"]);
    if !restart.is_empty() && restart != "Never" {
        errs.push(FieldError::invalid(
            "spec.template.spec.restartPolicy",
            restart,
            "only \"Never\" is supported when podFailurePolicy is specified",
        ));
    }
    for (i, rule) in rules.iter().enumerate() {
        errs.extend(validate_failure_policy_rule(rule, i, per_index));
    }
    errs
}

fn validate_failure_policy_rule(rule: &Value, i: usize, per_index: bool) -> ErrorList {
    let path = format!("spec.podFailurePolicy.rules[{i}]");
    let mut errs = Vec::new();
    let action = str_at(rule, &["action"]);
    if !FAILURE_POLICY_ACTIONS.contains(&action) {
        errs.push(FieldError::not_supported(
            &format!("{path}.action"),
            action,
            FAILURE_POLICY_ACTIONS,
        ));
    } else if action == "FailIndex" && !per_index {
        errs.push(FieldError::invalid(
            &format!("{path}.action"),
            action,
            "requires the backoffLimitPerIndex to be set",
        ));
    }
    let codes = rule.get("onExitCodes").filter(|v| !v.is_null());
    let conditions = rule.get("onPodConditions").filter(|v| !v.is_null());
    match (codes, conditions) {
        (None, None) => errs.push(FieldError::invalid(
            &path,
            Value::String(String::new()),
            "specifying one of OnExitCodes and OnPodConditions is required",
        )),
        (Some(_), Some(_)) => errs.push(FieldError::invalid(
            &path,
            Value::String(String::new()),
            "specifying both OnExitCodes and OnPodConditions is not supported",
        )),
        (Some(codes), None) => errs.extend(validate_on_exit_codes(codes, &path)),
        (None, Some(_)) => {}
    }
    errs
}

fn validate_on_exit_codes(codes: &Value, path: &str) -> ErrorList {
    let mut errs = Vec::new();
    let operator = str_at(codes, &["operator"]);
    if !["In", "NotIn"].contains(&operator) {
        errs.push(FieldError::not_supported(
            &format!("{path}.onExitCodes.operator"),
            operator,
            &["In", "NotIn"],
        ));
    }
    let values = codes.get("values").and_then(Value::as_array);
    if values.is_none_or(Vec::is_empty) {
        errs.push(FieldError::required(
            &format!("{path}.onExitCodes.values"),
            "at least one value is required",
        ));
    }
    for (j, v) in values.into_iter().flatten().enumerate() {
        if operator == "In" && v.as_i64() == Some(0) {
            errs.push(FieldError::invalid(
                &format!("{path}.onExitCodes.values[{j}]"),
                0,
                "must not be 0 for the In operator",
            ));
        }
    }
    errs
}

fn validate_job_update(new: &Value, old: &Value) -> ErrorList {
    let mut errs = selector_unchanged(new, old);
    for field in [
        "template",
        "completionMode",
        "podFailurePolicy",
        "backoffLimitPerIndex",
    ] {
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
    if let Some(tz) = spec.get("timeZone").and_then(Value::as_str)
        && let Some(detail) = time_zone_error(tz)
    {
        errs.push(FieldError::invalid("spec.timeZone", tz, &detail));
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

/// Why `spec.timeZone` is not an IANA time zone name, as far as a check
/// without the time zone database can tell (upstream also loads it; the
/// CronJob controller reports names it cannot load with an UnknownTimeZone
/// event).
pub fn time_zone_error(tz: &str) -> Option<String> {
    if tz.is_empty() {
        return Some("timeZone must be nil or non-empty string".into());
    }
    let valid_part = |p: &str| {
        (1..=14).contains(&p.len())
            && p != "."
            && p != ".."
            && !p.starts_with('-')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
    };
    if !tz.split('/').all(valid_part) {
        return Some(format!("unknown time zone {tz}"));
    }
    if tz.eq_ignore_ascii_case("Local") {
        return Some(
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
                .into(),
        );
    }
    None
}

/// Why a schedule is not one upstream accepts: `TZ=`/`CRON_TZ=` prefixes
/// (use `spec.timeZone`), or what its parser ([`cron::CronSchedule`]) says.
pub fn schedule_error(schedule: &str) -> Option<String> {
    if schedule.contains("TZ") {
        return Some("cannot use TZ or CRON_TZ in schedule, use timeZone field instead".into());
    }
    cron::CronSchedule::parse(schedule)
        .err()
        .map(|e| e.to_string())
}

#[cfg(test)]
mod cron_job_tests {
    use super::time_zone_error;

    #[test]
    fn time_zones_are_checked_as_upstream_does_without_the_database() {
        assert_eq!(time_zone_error("Europe/Berlin"), None);
        assert_eq!(time_zone_error("Etc/GMT+5"), None);
        assert_eq!(
            time_zone_error("").as_deref(),
            Some("timeZone must be nil or non-empty string")
        );
        assert_eq!(
            time_zone_error("../etc/passwd").as_deref(),
            Some("unknown time zone ../etc/passwd")
        );
        assert!(time_zone_error("local").is_some_and(|e| e.contains("explicit time zone")));
    }
}
