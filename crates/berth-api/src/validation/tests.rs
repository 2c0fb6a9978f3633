use serde_json::json;

use super::*;

#[test]
fn error_types_have_upstream_reasons_and_words() {
    let cases = [
        (FieldErrorType::NotFound, "FieldValueNotFound", "Not found"),
        (
            FieldErrorType::Required,
            "FieldValueRequired",
            "Required value",
        ),
        (
            FieldErrorType::Duplicate,
            "FieldValueDuplicate",
            "Duplicate value",
        ),
        (
            FieldErrorType::Invalid,
            "FieldValueInvalid",
            "Invalid value",
        ),
        (
            FieldErrorType::NotSupported,
            "FieldValueNotSupported",
            "Unsupported value",
        ),
        (
            FieldErrorType::Forbidden,
            "FieldValueForbidden",
            "Forbidden",
        ),
        (FieldErrorType::TooLong, "FieldValueTooLong", "Too long"),
        (FieldErrorType::TooMany, "FieldValueTooMany", "Too many"),
        (FieldErrorType::Internal, "InternalError", "Internal error"),
        (
            FieldErrorType::TypeInvalid,
            "FieldValueTypeInvalid",
            "Invalid value",
        ),
    ];
    for (kind, reason, words) in cases {
        assert_eq!(kind.reason(), reason);
        assert_eq!(kind.description(), words);
    }
}

#[test]
fn messages_print_values_as_upstream() {
    let cases = [
        (
            FieldError::invalid("spec.replicas", -1, "must be greater than or equal to 0"),
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            FieldError::required("spec.containers", ""),
            "spec.containers: Required value",
        ),
        (
            FieldError::required("metadata.name", "name or generateName is required"),
            "metadata.name: Required value: name or generateName is required",
        ),
        (
            FieldError::duplicate("spec.ports[1]", "80/TCP"),
            "spec.ports[1]: Duplicate value: \"80/TCP\"",
        ),
        (
            FieldError::not_supported(
                "spec.restartPolicy",
                "Sometimes",
                &["Always", "OnFailure", "Never"],
            ),
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
        ),
        (
            FieldError::forbidden("metadata.namespace", "not allowed on this type"),
            "metadata.namespace: Forbidden: not allowed on this type",
        ),
        (
            FieldError::too_long("metadata.annotations", 262144),
            "metadata.annotations: Too long: may not be more than 262144 bytes",
        ),
        (
            FieldError::too_many("spec.items", 5, 3),
            "spec.items: Too many: 5: must have at most 3 items",
        ),
        (
            FieldError::invalid("spec.suspend", true, "nope"),
            "spec.suspend: Invalid value: true: nope",
        ),
    ];
    for (err, text) in cases {
        assert_eq!(err.to_string(), text);
    }
}

#[test]
fn subdomain_message_matches_upstream_words() {
    let err = FieldError::invalid("metadata.name", "Foo", &dns1123_subdomain("Foo")[0]);
    assert_eq!(
        err.message(),
        "Invalid value: \"Foo\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    );
}

#[test]
fn dns_names_are_checked_as_upstream() {
    let long_label = "a".repeat(64);
    let cases: &[(&str, bool, bool, bool)] = &[
        // value, label, subdomain, 1035 label
        ("abc", true, true, true),
        ("a-b-c", true, true, true),
        ("123-abc", true, true, false),
        ("a.b", false, true, false),
        ("-abc", false, false, false),
        ("abc-", false, false, false),
        ("Abc", false, false, false),
        ("a_b", false, false, false),
        ("", false, false, false),
        ("a..b", false, false, false),
        (&long_label, false, true, false),
    ];
    for (value, label, subdomain, dns1035) in cases {
        assert_eq!(is_dns1123_label(value), *label, "label {value:?}");
        assert_eq!(
            is_dns1123_subdomain(value),
            *subdomain,
            "subdomain {value:?}"
        );
        assert_eq!(is_dns1035_label(value), *dns1035, "1035 {value:?}");
    }
    assert_eq!(dns1123_label("a.b"), ["must not contain dots"]);
    assert_eq!(
        dns1123_label(&long_label),
        ["must be no more than 63 characters"]
    );
    assert!(
        dns1123_label("A")
            .iter()
            .any(|m| m.contains("(e.g. 'my-name',  or '123-abc', regex"))
    );
    assert!(!is_dns1123_subdomain(&"a".repeat(254)));
}

#[test]
fn qualified_names_and_label_values_are_checked_as_upstream() {
    let cases: &[(&str, bool)] = &[
        ("app", true),
        ("app.kubernetes.io/name", true),
        ("example.com/My_Name.2", true),
        ("/name", false),
        ("Example.com/name", false),
        ("a/b/c", false),
        ("-app", false),
        ("", false),
    ];
    for (value, ok) in cases {
        assert_eq!(is_qualified_name(value), *ok, "{value:?}");
    }
    assert_eq!(qualified_name("/name"), ["prefix part must be non-empty"]);
    assert_eq!(qualified_name("a/"), ["name part must be non-empty"]);
    assert!(qualified_name(&"a".repeat(64))[0].starts_with("name part must be no more than 63"));
    for (value, ok) in [
        ("", true),
        ("v1.2_a-b", true),
        ("-v", false),
        ("a b", false),
    ] {
        assert_eq!(is_valid_label_value(value), ok, "{value:?}");
    }
}

#[test]
fn config_map_keys_and_port_names_are_checked() {
    for (key, ok) in [
        ("a.txt", true),
        ("KEY_NAME", true),
        ("a/b", false),
        (".", false),
        ("..x", false),
        ("", false),
    ] {
        assert_eq!(config_map_key(key).is_empty(), ok, "{key:?}");
    }
    assert_eq!(config_map_key(".."), ["must not be '..'"]);
    assert_eq!(
        config_map_key("a/b"),
        [
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        ]
    );
    for (name, ok) in [
        ("http", true),
        ("web-8080", true),
        ("80", false),
        ("a--b", false),
        ("-a", false),
        ("averyveryverylongname", false),
        ("HTTP", false),
    ] {
        assert_eq!(port_name(name).is_empty(), ok, "{name:?}");
    }
}

#[test]
fn generate_name_may_end_with_a_dash() {
    assert!(name_is_dns_subdomain("web-", true).is_empty());
    assert!(!name_is_dns_subdomain("web-", false).is_empty());
    assert!(path_segment_name("system:admin", false).is_empty());
    assert_eq!(path_segment_name("a/b", false), ["may not contain '/'"]);
}

fn meta_errors(meta: serde_json::Value, namespaced: bool) -> Vec<String> {
    validate_object_meta(&meta, namespaced, name_is_dns_subdomain, "metadata")
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn object_meta_reports_every_problem() {
    let cases: Vec<(serde_json::Value, bool, Vec<&str>)> = vec![
        (json!({"name": "ok", "namespace": "default"}), true, vec![]),
        (
            json!({"namespace": "default"}),
            true,
            vec!["metadata.name: Required value: name or generateName is required"],
        ),
        (
            json!({"generateName": "web-", "namespace": "default"}),
            true,
            vec![],
        ),
        (
            json!({"name": "ok"}),
            true,
            vec!["metadata.namespace: Required value"],
        ),
        (
            json!({"name": "ok", "namespace": "default"}),
            false,
            vec!["metadata.namespace: Forbidden: not allowed on this type"],
        ),
        (
            json!({"name": "ok", "namespace": "default", "labels": {"a/b/c": "x", "ok": "-bad"}}),
            true,
            vec![
                "metadata.labels: Invalid value: \"a/b/c\": a qualified name must consist",
                "metadata.labels: Invalid value: \"-bad\": a valid label must be an empty string",
            ],
        ),
        (
            json!({"name": "ok", "finalizers": ["orphan", "foregroundDeletion"]}),
            false,
            vec!["metadata.finalizers: Invalid value"],
        ),
        (
            json!({"name": "ok", "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "", "uid": "u"}]}),
            false,
            vec!["metadata.ownerReferences.name: Invalid value: \"\": name must not be empty"],
        ),
    ];
    for (meta, namespaced, expected) in cases {
        let got = meta_errors(meta.clone(), namespaced);
        assert_eq!(got.len(), expected.len(), "{meta}: {got:?}");
        for (g, e) in got.iter().zip(&expected) {
            assert!(g.starts_with(e), "{g} vs {e}");
        }
    }
}

#[test]
fn annotations_may_not_exceed_256_kib() {
    let big = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT);
    let errs = validate_annotations(&json!({"a": big}), "metadata.annotations");
    assert_eq!(
        errs,
        [FieldError::too_long(
            "metadata.annotations",
            TOTAL_ANNOTATION_SIZE_LIMIT
        )]
    );
    assert!(validate_annotations(&json!({"Example.com/Key": "v"}), "a").is_empty());
}

#[test]
fn object_meta_update_keeps_name_and_uid() {
    let old = json!({"name": "a", "namespace": "default", "uid": "1"});
    let new = json!({"name": "b", "namespace": "default", "uid": "2"});
    let errs = validate_object_meta_update(&new, &old, true, name_is_dns_subdomain, "metadata");
    let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "metadata.name: Invalid value: \"b\": field is immutable",
            "metadata.uid: Invalid value: \"2\": field is immutable",
        ]
    );
}

#[test]
fn label_selector_expressions_are_checked() {
    let selector = json!({"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "tier", "operator": "In"},
        {"key": "x", "operator": "Exists", "values": ["a"]},
        {"key": "y", "operator": "Near", "values": ["a"]},
    ]});
    let text: Vec<String> = validate_label_selector(&selector, "spec.selector")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        text,
        [
            "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
            "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            "spec.selector.matchExpressions[2].operator: Invalid value: \"Near\": not a valid selector operator",
        ]
    );
}
