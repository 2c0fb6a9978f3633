use serde_json::{Value, json};

use super::*;

fn decode(group: &str, kind: &str, obj: Value) -> Result<Decoded, DecodeError> {
    strategy_for(group, kind).decode(obj)
}

#[test]
fn decode_reports_unknown_fields_with_paths() {
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "bogus": 1, "labels": {"x": "y"}}, "data": {"k": "v"}, "extra": {"a": 1}, "nothing": null});
    let decoded = match decode("", "ConfigMap", obj) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(decoded.unknown_fields, ["extra", "metadata.bogus"]);
    assert_eq!(
        decoded.object,
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "y"}}, "data": {"k": "v"}})
    );
}

#[test]
fn decode_finds_unknown_fields_inside_lists() {
    let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {
        "replica": 3,
        "selector": {"matchLabels": {"app": "d"}},
        "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "i", "imagee": "x"}]}}}});
    let decoded = decode("apps", "Deployment", obj).map_err(|e| e.0);
    let unknown = decoded.map(|d| d.unknown_fields);
    assert_eq!(
        unknown,
        Ok(vec![
            "spec.replica".to_string(),
            "spec.template.spec.containers[0].imagee".to_string()
        ])
    );
}

#[test]
fn decode_type_errors_read_like_upstream() {
    let cases = [
        (
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": "3"}}),
            "apps",
            "Deployment",
            "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field Deployment.spec.replicas of type int32",
        ),
        (
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": 5}]}}),
            "",
            "Pod",
            "Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal number into Go struct field Pod.spec.containers[0].image of type string",
        ),
        (
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": []}}),
            "",
            "ConfigMap",
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot unmarshal array into Go struct field ConfigMap.metadata.labels of type object",
        ),
    ];
    for (obj, group, kind, want) in cases {
        assert_eq!(
            decode(group, kind, obj).map(|d| d.object),
            Err(DecodeError(want.to_string()))
        );
    }
}

#[test]
fn decode_keeps_quantities_given_as_numbers() {
    let obj = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i", "resources": {"limits": {"cpu": 1}}}]}});
    let decoded = decode("", "Pod", obj)
        .map(|d| d.object["spec"]["containers"][0]["resources"]["limits"]["cpu"].clone());
    assert_eq!(decoded, Ok(json!("1")));
}

#[test]
fn unknown_kinds_get_the_generic_strategy() {
    assert!(!is_builtin_kind("example.com", "Widget"));
    let obj = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "d", "junk": 1}, "spec": {"anything": true}});
    let decoded =
        decode("example.com", "Widget", obj).map(|d| (d.unknown_fields, d.object["spec"].clone()));
    assert_eq!(
        decoded,
        Ok((vec!["metadata.junk".to_string()], json!({"anything": true})))
    );
    let strategy = custom_resource_strategy(true, true);
    let mut obj =
        json!({"metadata": {"name": "w"}, "spec": {"size": 1}, "status": {"ready": true}});
    strategy.prepare_for_create(&mut obj);
    assert_eq!(obj["status"], json!({}));
    assert_eq!(obj["metadata"]["generation"], 1);
    let errs: Vec<String> = strategy
        .validate(&obj)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errs, ["metadata.namespace: Required value"]);
}

#[test]
fn updates_keep_status_and_bump_generation_on_spec_changes() {
    let deployment = strategy_for("apps", "Deployment");
    let old = json!({"metadata": {"name": "d", "generation": 3}, "spec": {"replicas": 1}, "status": {"replicas": 1}});
    let cases = [
        (
            json!({"metadata": {"name": "d"}, "spec": {"replicas": 2}, "status": {}}),
            4,
        ),
        (
            json!({"metadata": {"name": "d", "labels": {"a": "b"}}, "spec": {"replicas": 1}}),
            3,
        ),
        (
            json!({"metadata": {"name": "d", "annotations": {"a": "b"}}, "spec": {"replicas": 1}}),
            4,
        ),
    ];
    for (mut new, generation) in cases {
        deployment.prepare_for_update(&mut new, &old);
        assert_eq!(new["metadata"]["generation"], generation, "{new}");
        assert_eq!(new["status"], json!({"replicas": 1}));
    }
    let config_map = strategy_for("", "ConfigMap");
    let mut new = json!({"metadata": {"name": "c"}, "data": {"a": "b"}});
    config_map.prepare_for_update(&mut new, &json!({"metadata": {"name": "c"}}));
    assert!(new["metadata"].get("generation").is_none());
}

fn errors(group: &str, kind: &str, obj: &Value) -> Vec<String> {
    strategy_for(group, kind)
        .validate(obj)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn names_follow_each_kind_rule() {
    let cases = [
        ("", "Namespace", "a.b", false),
        ("", "Namespace", "team-a", true),
        ("", "Service", "1web", false),
        ("", "Service", "web", true),
        ("", "ConfigMap", "a.b", true),
        (
            "rbac.authorization.k8s.io",
            "ClusterRole",
            "system:admin",
            true,
        ),
        ("rbac.authorization.k8s.io", "ClusterRole", "a/b", false),
    ];
    for (group, kind, name, ok) in cases {
        let cluster = matches!(kind, "Namespace" | "ClusterRole");
        let meta = if cluster {
            json!({"name": name})
        } else {
            json!({"name": name, "namespace": "d"})
        };
        let obj = json!({"metadata": meta, "spec": {"ports": [{"port": 80, "protocol": "TCP"}]}});
        let errs = errors(group, kind, &obj);
        assert_eq!(errs.is_empty(), ok, "{kind} {name}: {errs:?}");
    }
}

#[test]
fn namespaces_get_finalizer_phase_and_name_label() {
    let ns = strategy_for("", "Namespace");
    let mut obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}});
    ns.default(&mut obj);
    ns.prepare_for_create(&mut obj);
    assert_eq!(obj["spec"], json!({"finalizers": ["kubernetes"]}));
    assert_eq!(obj["status"], json!({"phase": "Active"}));
    assert_eq!(
        obj["metadata"]["labels"],
        json!({"kubernetes.io/metadata.name": "team"})
    );
    assert_eq!(
        ns.field_value(&obj, "status.phase").as_deref(),
        Some("Active")
    );
}

#[test]
fn secrets_default_type_and_fold_string_data() {
    let secret = strategy_for("", "Secret");
    let mut obj = json!({"metadata": {"name": "s", "namespace": "d"}, "stringData": {"user": "admin"}, "data": {"a": "Yg=="}});
    secret.default(&mut obj);
    assert_eq!(
        obj,
        json!({"metadata": {"name": "s", "namespace": "d"}, "type": "Opaque", "data": {"a": "Yg==", "user": "YWRtaW4="}})
    );
    assert_eq!(secret.field_value(&obj, "type").as_deref(), Some("Opaque"));
    let tls = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "", "bad/key": ""}});
    assert_eq!(
        errors("", "Secret", &tls),
        [
            "data[bad/key]: Invalid value: \"bad/key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
            "data[tls.key]: Required value",
        ]
    );
}

#[test]
fn immutable_config_maps_refuse_data_changes() {
    let cm = strategy_for("", "ConfigMap");
    let old =
        json!({"metadata": {"name": "c", "namespace": "d"}, "immutable": true, "data": {"a": "1"}});
    let new =
        json!({"metadata": {"name": "c", "namespace": "d"}, "immutable": true, "data": {"a": "2"}});
    let errs: Vec<String> = cm
        .validate_update(&new, &old)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        ["data: Forbidden: field is immutable when `immutable` is set"]
    );
    assert!(cm.validate_update(&old, &old).is_empty());
}

#[test]
fn event_field_selectors_cover_involved_object() {
    let core = json!({"involvedObject": {"kind": "Pod", "name": "p", "uid": "u"}, "reason": "Started", "source": {"component": "kubelet"}, "type": "Normal"});
    let strategy = strategy_for("", "Event");
    for (field, want) in [
        ("involvedObject.kind", "Pod"),
        ("involvedObject.name", "p"),
        ("reason", "Started"),
        ("source", "kubelet"),
        ("type", "Normal"),
        ("involvedObject.fieldPath", ""),
    ] {
        assert_eq!(
            strategy.field_value(&core, field).as_deref(),
            Some(want),
            "{field}"
        );
    }
    let new = json!({"regarding": {"kind": "Pod", "name": "p"}, "reportingController": "kubelet"});
    let strategy = strategy_for("events.k8s.io", "Event");
    // events.k8s.io selects on its own names, as upstream.
    assert!(strategy.selectable_fields().contains(&"regarding.name"));
    assert!(
        !strategy
            .selectable_fields()
            .contains(&"involvedObject.name")
    );
    assert_eq!(
        strategy.field_value(&new, "regarding.name").as_deref(),
        Some("p")
    );
    assert_eq!(
        strategy.field_value(&new, "reportingController").as_deref(),
        Some("kubelet")
    );
}

#[test]
fn node_secret_and_replica_set_fields_are_selectable() {
    let node = strategy_for("", "Node");
    assert_eq!(
        node.field_value(
            &json!({"spec": {"unschedulable": true}}),
            "spec.unschedulable"
        )
        .as_deref(),
        Some("true")
    );
    assert_eq!(
        node.field_value(&json!({}), "spec.unschedulable")
            .as_deref(),
        Some("false")
    );
    let rs = strategy_for("apps", "ReplicaSet");
    assert_eq!(
        rs.field_value(&json!({"status": {"replicas": 2}}), "status.replicas")
            .as_deref(),
        Some("2")
    );
    let job = strategy_for("batch", "Job");
    assert_eq!(
        job.field_value(&json!({"status": {"succeeded": 1}}), "status.successful")
            .as_deref(),
        Some("1")
    );
}

#[test]
fn decode_keeps_timestamps_and_secret_bytes_as_written() {
    let obj = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "creationTimestamp": "2024-05-01T10:00:00Z"}, "data": {"a": "aGVsbG8="}});
    let decoded = decode("", "Secret", obj.clone()).map(|d| d.object);
    assert_eq!(decoded, Ok(obj));
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}, "spec": {"renewTime": "2024-05-01T10:00:00.123456Z"}});
    assert_eq!(
        decode("coordination.k8s.io", "Lease", lease.clone()).map(|d| d.object),
        Ok(lease)
    );
    let bad = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "not base64!"}});
    assert!(decode("", "Secret", bad).is_err_and(|e| {
        e.0.starts_with("Secret in version \"v1\" cannot be handled as a Secret: ")
    }));
}

#[test]
fn horizontal_pod_autoscalers_decode_and_default_by_version() {
    let hpa = strategy_for("autoscaling", "HorizontalPodAutoscaler");
    let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "namespace": "d"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3, "targetCPUUtilizationPercentage": 50}});
    let decoded = hpa.decode(v1.clone()).map(|d| d.unknown_fields);
    assert_eq!(decoded, Ok(Vec::new()));
    let mut v2 = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "namespace": "d"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3}});
    hpa.default(&mut v2);
    assert_eq!(v2["spec"]["minReplicas"], 1);
    assert_eq!(
        v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        80
    );
    assert!(hpa.validate(&v2).is_empty());
    v2["spec"]["maxReplicas"] = json!(0);
    let errs: Vec<String> = hpa.validate(&v2).iter().map(ToString::to_string).collect();
    assert_eq!(
        errs,
        ["spec.maxReplicas: Invalid value: 0: must be greater than 0"]
    );
}
