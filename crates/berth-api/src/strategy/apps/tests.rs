use serde_json::{Value, json};

use crate::strategy::{Strategy, strategy_for};

fn template() -> Value {
    json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1"}]}})
}

fn workload(kind: &str) -> Value {
    json!({"metadata": {"name": "web", "namespace": "d", "uid": "u-1"}, "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template()}, "kind": kind})
}

fn defaulted(group: &str, kind: &str) -> Value {
    let mut obj = workload(kind);
    strategy_for(group, kind).default(&mut obj);
    obj
}

fn errors(strategy: &dyn Strategy, obj: &Value) -> Vec<String> {
    strategy
        .validate(obj)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn deployment_defaults_match_upstream() {
    let obj = defaulted("apps", "Deployment");
    let spec = &obj["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(
        spec["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Always");
    assert_eq!(
        spec["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    assert!(spec["template"]["spec"].get("enableServiceLinks").is_none());
    assert!(errors(strategy_for("apps", "Deployment"), &obj).is_empty());
}

#[test]
fn stateful_set_and_daemon_set_defaults_match_upstream() {
    let sts = defaulted("apps", "StatefulSet");
    assert_eq!(sts["spec"]["replicas"], 1);
    assert_eq!(sts["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        sts["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    );
    assert_eq!(sts["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(
        sts["spec"]["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    let ds = defaulted("apps", "DaemonSet");
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
    assert!(ds["spec"].get("replicas").is_none());
    assert_eq!(defaulted("apps", "ReplicaSet")["spec"]["replicas"], 1);
}

#[test]
fn workload_validation_checks_selector_replicas_and_template() {
    let deployment = strategy_for("apps", "Deployment");
    let mut obj = defaulted("apps", "Deployment");
    obj["spec"]["replicas"] = json!(-1);
    obj["spec"]["selector"] = json!({"matchLabels": {"app": "other"}});
    obj["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    assert_eq!(
        errors(deployment, &obj),
        [
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            "spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`",
            "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
        ]
    );
    obj["spec"].as_object_mut().map(|s| s.remove("selector"));
    obj["spec"]["replicas"] = json!(1);
    obj["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
    assert_eq!(errors(deployment, &obj), ["spec.selector: Required value"]);
}

#[test]
fn workload_selectors_are_immutable() {
    for kind in ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"] {
        let strategy = strategy_for("apps", kind);
        let old = defaulted("apps", kind);
        let mut new = old.clone();
        new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "tier": "x"}});
        new["spec"]["template"]["metadata"]["labels"]["tier"] = json!("x");
        let errs: Vec<String> = strategy
            .validate_update(&new, &old)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errs.len(), 1, "{kind}: {errs:?}");
        let want = if kind == "StatefulSet" {
            "are forbidden"
        } else {
            "field is immutable"
        };
        assert!(errs[0].ends_with(want), "{kind}: {errs:?}");
    }
}

#[test]
fn rolling_update_may_not_have_both_zero() {
    let mut obj = defaulted("apps", "Deployment");
    obj["spec"]["strategy"]["rollingUpdate"] = json!({"maxUnavailable": 0, "maxSurge": "0%"});
    assert_eq!(
        errors(strategy_for("apps", "Deployment"), &obj),
        [
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
        ]
    );
}

#[test]
fn job_defaults_and_generated_selector() {
    let job = strategy_for("batch", "Job");
    let mut obj = workload("Job");
    obj["spec"].as_object_mut().map(|s| s.remove("selector"));
    obj["spec"]["template"]["metadata"] = json!({});
    obj["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    job.default(&mut obj);
    job.prepare_for_create(&mut obj);
    let spec = &obj["spec"];
    for (field, want) in [
        ("completions", json!(1)),
        ("parallelism", json!(1)),
        ("backoffLimit", json!(6)),
        ("completionMode", json!("NonIndexed")),
        ("suspend", json!(false)),
        ("manualSelector", json!(false)),
        ("podReplacementPolicy", json!("TerminatingOrFailed")),
    ] {
        assert_eq!(spec[field], want, "{field}");
    }
    assert_eq!(
        spec["selector"],
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
    );
    let labels = json!({"batch.kubernetes.io/controller-uid": "u-1", "batch.kubernetes.io/job-name": "web", "controller-uid": "u-1", "job-name": "web"});
    assert_eq!(spec["template"]["metadata"]["labels"], labels);
    assert_eq!(obj["metadata"]["labels"], labels);
    assert_eq!(obj["metadata"]["generation"], 1);
    assert!(errors(job, &obj).is_empty(), "{:?}", errors(job, &obj));
}

#[test]
fn job_pods_may_not_restart_always() {
    let job = strategy_for("batch", "Job");
    let mut obj = workload("Job");
    job.default(&mut obj);
    assert_eq!(
        errors(job, &obj),
        [
            "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""
        ]
    );
}

#[test]
fn cron_job_defaults_and_schedule() {
    let cron = strategy_for("batch", "CronJob");
    let mut obj = json!({"metadata": {"name": "c", "namespace": "d"}, "spec": {"jobTemplate": {"spec": {"template": template()}}}});
    obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = json!("OnFailure");
    cron.default(&mut obj);
    for (field, want) in [
        ("concurrencyPolicy", json!("Allow")),
        ("suspend", json!(false)),
        ("successfulJobsHistoryLimit", json!(3)),
        ("failedJobsHistoryLimit", json!(1)),
    ] {
        assert_eq!(obj["spec"][field], want, "{field}");
    }
    assert_eq!(errors(cron, &obj), ["spec.schedule: Required value"]);
    obj["spec"]["schedule"] = json!("*/5 * * *");
    assert_eq!(
        errors(cron, &obj),
        [
            "spec.schedule: Invalid value: \"*/5 * * *\": expected exactly 5 fields, found 4: [*/5 * * *]"
        ]
    );
    obj["spec"]["schedule"] = json!("*/5 * * * *");
    assert!(errors(cron, &obj).is_empty());
}

#[test]
fn replication_controllers_default_selector_from_template() {
    let mut obj =
        json!({"metadata": {"name": "rc", "namespace": "d"}, "spec": {"template": template()}});
    let rc = strategy_for("", "ReplicationController");
    rc.default(&mut obj);
    assert_eq!(obj["spec"]["selector"], json!({"app": "web"}));
    assert_eq!(obj["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(obj["spec"]["replicas"], 1);
    assert!(errors(rc, &obj).is_empty());
}

#[test]
fn daemon_set_template_generation_starts_at_one_and_follows_template_changes() {
    let s = strategy_for("apps", "DaemonSet");
    let generation = |obj: &Value| {
        obj["metadata"]["annotations"]["deprecated.daemonset.template.generation"].clone()
    };
    let mut created = defaulted("apps", "DaemonSet");
    s.prepare_for_create(&mut created);
    assert_eq!(generation(&created), "1");
    let mut relabelled = created.clone();
    relabelled["spec"]["minReadySeconds"] = json!(5);
    relabelled["metadata"]["annotations"]["deprecated.daemonset.template.generation"] = json!("9");
    s.prepare_for_update(&mut relabelled, &created);
    assert_eq!(generation(&relabelled), "1", "not the client's to set");
    let mut updated = relabelled.clone();
    updated["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    s.prepare_for_update(&mut updated, &relabelled);
    assert_eq!(generation(&updated), "2");
}
