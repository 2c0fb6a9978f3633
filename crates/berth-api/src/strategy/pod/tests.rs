use serde_json::{Value, json};

use crate::strategy::{Strategy, strategy_for};

fn pod() -> &'static dyn Strategy {
    strategy_for("", "Pod")
}

fn errors(obj: &Value) -> Vec<String> {
    pod()
        .validate(obj)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn nginx(image: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 80}]}]}})
}

#[test]
fn pod_defaults_match_upstream() {
    let mut obj = nginx("nginx");
    pod().default(&mut obj);
    let spec = &obj["spec"];
    assert_eq!(spec["restartPolicy"], "Always");
    assert_eq!(spec["terminationGracePeriodSeconds"], 30);
    assert_eq!(spec["dnsPolicy"], "ClusterFirst");
    assert_eq!(spec["schedulerName"], "default-scheduler");
    assert_eq!(spec["securityContext"], json!({}));
    assert_eq!(spec["enableServiceLinks"], true);
    let container = &spec["containers"][0];
    assert_eq!(container["imagePullPolicy"], "Always");
    assert_eq!(container["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(container["terminationMessagePolicy"], "File");
    assert_eq!(container["resources"], json!({}));
    assert_eq!(container["ports"][0]["protocol"], "TCP");
}

#[test]
fn image_pull_policy_follows_the_tag() {
    let cases = [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("localhost:5000/nginx", "Always"),
        ("localhost:5000/nginx:v1", "IfNotPresent"),
        ("nginx@sha256:abcd", "IfNotPresent"),
    ];
    for (image, policy) in cases {
        let mut obj = nginx(image);
        pod().default(&mut obj);
        assert_eq!(
            obj["spec"]["containers"][0]["imagePullPolicy"], policy,
            "{image}"
        );
    }
}

#[test]
fn pod_create_is_pending_with_its_qos_class() {
    let cases = [
        (json!({}), "BestEffort"),
        (json!({"requests": {"cpu": "100m"}}), "Burstable"),
        (
            json!({"limits": {"cpu": "1", "memory": "1Gi"}}),
            "Guaranteed",
        ),
        (
            json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}),
            "Burstable",
        ),
    ];
    for (resources, qos) in cases {
        let mut obj = nginx("nginx");
        obj["spec"]["containers"][0]["resources"] = resources.clone();
        obj["status"] = json!({"phase": "Running"});
        pod().default(&mut obj);
        pod().prepare_for_create(&mut obj);
        assert_eq!(
            obj["status"],
            json!({"phase": "Pending", "qosClass": qos}),
            "{resources}"
        );
        assert_eq!(obj["metadata"]["generation"], 1);
    }
}

#[test]
fn pod_validation_reports_every_bad_field() {
    let obj = json!({"metadata": {"name": "Bad_Name", "namespace": "default"}, "spec": {
    "restartPolicy": "Sometimes",
    "containers": [
        {"name": "a", "image": "", "ports": [{"containerPort": 70000, "protocol": "TCP"}]},
        {"name": "a", "image": "x", "volumeMounts": [{"name": "missing", "mountPath": "/m"}]},
    ]}});
    let errs = errors(&obj);
    let expected = [
        "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain",
        "spec.containers[0].image: Required value",
        "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        "spec.containers[1].name: Duplicate value: \"a\"",
        "spec.containers[1].volumeMounts[0].name: Not found: \"missing\"",
        "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
    ];
    assert_eq!(errs.len(), expected.len(), "{errs:#?}");
    for (got, want) in errs.iter().zip(expected) {
        assert!(got.starts_with(want), "{got} vs {want}");
    }
    assert_eq!(
        errors(&json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {}})),
        ["spec.containers: Required value"]
    );
}

#[test]
fn requests_may_not_exceed_limits() {
    let mut obj = nginx("nginx");
    obj["spec"]["containers"][0]["resources"] =
        json!({"limits": {"cpu": "1"}, "requests": {"cpu": "2"}});
    pod().default(&mut obj);
    assert_eq!(
        errors(&obj),
        [
            "spec.containers[0].resources.requests[cpu]: Invalid value: \"2\": must be less than or equal to cpu limit of 1"
        ]
    );
}

#[test]
fn pod_updates_may_change_only_images_and_a_few_fields() {
    let mut old = nginx("nginx:1");
    pod().default(&mut old);
    let mut new = old.clone();
    new["spec"]["containers"][0]["image"] = json!("nginx:2");
    new["spec"]["activeDeadlineSeconds"] = json!(30);
    assert!(pod().validate_update(&new, &old).is_empty());
    new["spec"]["restartPolicy"] = json!("Never");
    let errs = pod().validate_update(&new, &old);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0]
            .to_string()
            .starts_with("spec: Forbidden: pod updates may not change fields other than")
    );
}

#[test]
fn pod_field_selectors_read_spec_and_status() {
    let obj = json!({"spec": {"nodeName": "n1"}, "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}]}});
    let cases = [
        ("spec.nodeName", Some("n1")),
        ("spec.hostNetwork", Some("false")),
        ("status.phase", Some("Running")),
        ("status.podIP", Some("10.0.0.1")),
        ("spec.restartPolicy", None),
        ("spec.unknown", None),
    ];
    for (field, want) in cases {
        assert_eq!(pod().field_value(&obj, field).as_deref(), want, "{field}");
    }
    assert!(
        pod()
            .selectable_fields()
            .contains(&"status.nominatedNodeName")
    );
}

#[test]
fn status_updates_keep_spec_but_take_labels() {
    let old = json!({"metadata": {"name": "p", "labels": {"a": "1"}, "generation": 1}, "spec": {"nodeName": ""}, "status": {"phase": "Pending"}});
    let mut new = json!({"metadata": {"name": "p", "labels": {"a": "2"}, "generation": 5}, "spec": {"nodeName": "x"}, "status": {"phase": "Running"}});
    pod().prepare_for_status_update(&mut new, &old);
    assert_eq!(
        new,
        json!({"metadata": {"name": "p", "labels": {"a": "2"}, "generation": 1}, "spec": {"nodeName": ""}, "status": {"phase": "Running"}})
    );
}
