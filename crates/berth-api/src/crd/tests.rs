use serde_json::{Value, json};

use super::*;

fn schema() -> Value {
    json!({"type": "object", "properties": {
        "spec": {"type": "object", "required": ["size"], "properties": {
            "size": {"type": "integer", "minimum": 1, "maximum": 10},
            "replicas": {"type": "integer", "default": 1},
            "color": {"type": "string", "enum": ["red", "blue"]},
            "name": {"type": "string", "minLength": 3, "maxLength": 5, "pattern": "^[a-z]+$"},
            "port": {"x-kubernetes-int-or-string": true},
            "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "ratio": {"type": "number", "nullable": true},
            "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true},
        }},
        "status": {"type": "object", "properties": {"ready": {"type": "boolean", "default": false}}},
    }})
}

fn errors(obj: Value) -> Vec<String> {
    validate_object(&schema(), &obj)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn custom_objects_are_validated_with_upstream_messages() {
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"spec": {"size": 3}}), vec![]),
        (json!({"spec": {}}), vec!["spec.size: Required value"]),
        (
            json!({"spec": {"size": "3"}}),
            vec![
                "spec.size: Invalid value: \"string\": spec.size in body must be of type integer: \"string\"",
            ],
        ),
        (
            json!({"spec": {"size": 0}}),
            vec![
                "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1",
            ],
        ),
        (
            json!({"spec": {"size": 11}}),
            vec![
                "spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10",
            ],
        ),
        (
            json!({"spec": {"size": 1, "color": "pink"}}),
            vec!["spec.color: Unsupported value: \"pink\": supported values: \"red\", \"blue\""],
        ),
        (
            json!({"spec": {"size": 1, "name": "ab"}}),
            vec![
                "spec.name: Invalid value: \"ab\": spec.name in body should be at least 3 chars long",
            ],
        ),
        (
            json!({"spec": {"size": 1, "name": "abcdef"}}),
            vec!["spec.name: Too long: may not be more than 5 bytes"],
        ),
        (
            json!({"spec": {"size": 1, "name": "AB1"}}),
            vec!["spec.name: Invalid value: \"AB1\": spec.name in body should match '^[a-z]+$'"],
        ),
        (json!({"spec": {"size": 1, "port": 80}}), vec![]),
        (json!({"spec": {"size": 1, "port": "http"}}), vec![]),
        (
            json!({"spec": {"size": 1, "port": true}}),
            vec![
                "spec.port: Invalid value: \"boolean\": spec.port in body must be of type integer or string: \"boolean\"",
            ],
        ),
        (
            json!({"spec": {"size": 1, "tags": ["a", 1, "c"]}}),
            vec![
                "spec.tags: Too many: 3: must have at most 2 items",
                "spec.tags[1]: Invalid value: \"integer\": spec.tags[1] in body must be of type string: \"integer\"",
            ],
        ),
        (
            json!({"spec": {"size": 1, "labels": {"a": 1}}}),
            vec![
                "spec.labels.a: Invalid value: \"integer\": spec.labels.a in body must be of type string: \"integer\"",
            ],
        ),
        (json!({"spec": {"size": 1, "ratio": null}}), vec![]),
        (
            json!({"spec": {"size": null}}),
            vec![
                "spec.size: Invalid value: \"null\": spec.size in body must be of type integer: \"null\"",
            ],
        ),
        (
            json!({"spec": {"size": 1, "template": {"kind": "Pod"}}}),
            vec!["spec.template.apiVersion: Required value: must not be empty"],
        ),
    ];
    for (obj, want) in cases {
        assert_eq!(errors(obj.clone()), want, "{obj}");
    }
}

#[test]
fn pruning_drops_undeclared_fields_only() {
    let mut obj = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"size": 1, "extra": 1, "raw": {"any": {"thing": 1}}, "labels": {"x": "y"}, "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {}}}, "junk": true});
    let dropped = prune(&schema(), &mut obj);
    assert_eq!(dropped, ["junk", "spec.extra"]);
    assert_eq!(obj["spec"]["raw"], json!({"any": {"thing": 1}}));
    assert_eq!(obj["spec"]["template"]["kind"], "Pod");
    assert_eq!(obj["metadata"], json!({"name": "w"}));
}

#[test]
fn defaults_fill_absent_fields() {
    let mut obj = json!({"spec": {"size": 1}, "status": {}});
    apply_defaults(&schema(), &mut obj);
    assert_eq!(
        obj,
        json!({"spec": {"size": 1, "replicas": 1}, "status": {"ready": false}})
    );
    let mut set = json!({"spec": {"size": 1, "replicas": 5}});
    apply_defaults(&schema(), &mut set);
    assert_eq!(set["spec"]["replicas"], 5);
}

fn definition() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema()}}]}})
}

fn definition_errors(crd: &Value) -> Vec<String> {
    validate_definition(crd)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_good_definition_passes() {
    assert_eq!(definition_errors(&definition()), Vec::<String>::new());
    assert_eq!(version_schema(&definition(), "v1"), Some(&schema()));
}

#[test]
fn definition_checks_match_upstream() {
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "/metadata/name",
            json!("widgets.other.com"),
            vec![
                "metadata.name: Invalid value: \"widgets.other.com\": must be spec.names.plural+\".\"+spec.group",
            ],
        ),
        (
            "/spec/scope",
            json!("Global"),
            vec![
                "spec.scope: Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\"",
            ],
        ),
        (
            "/spec/names/kind",
            json!(""),
            vec!["spec.names.kind: Required value"],
        ),
        (
            "/spec/versions/0/storage",
            json!(false),
            vec![
                "spec.versions: Invalid value: 0: must have exactly one version marked as storage version",
            ],
        ),
        (
            "/spec/versions/0/schema",
            json!(null),
            vec!["spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"],
        ),
        (
            "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/size",
            json!({"minimum": 1}),
            vec![
                "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[size].type: Required value: must not be empty for specified object fields",
            ],
        ),
        (
            "/spec/versions/0/schema/openAPIV3Schema/type",
            json!("array"),
            vec![
                "spec.versions[0].schema.openAPIV3Schema.type: Invalid value: \"array\": must be object at the root",
                "spec.versions[0].schema.openAPIV3Schema.items: Required value: must be specified",
            ],
        ),
    ];
    for (pointer, value, want) in cases {
        let mut crd = definition();
        if let Some(slot) = crd.pointer_mut(pointer) {
            *slot = value;
        }
        assert_eq!(definition_errors(&crd), want, "{pointer}");
    }
    let mut no_dot = definition();
    no_dot["spec"]["group"] = json!("example");
    no_dot["metadata"]["name"] = json!("widgets.example");
    assert_eq!(
        definition_errors(&no_dot),
        ["spec.group: Invalid value: \"example\": should be a domain with at least one dot"]
    );
}

#[test]
fn definition_strategy_defaults_names() {
    let strategy = crate::strategy_for("apiextensions.k8s.io", "CustomResourceDefinition");
    let mut crd = definition();
    crd["spec"]["names"] = json!({"plural": "widgets", "kind": "Widget"});
    strategy.default(&mut crd);
    assert_eq!(
        crd["spec"]["names"],
        json!({"plural": "widgets", "kind": "Widget", "singular": "widget", "listKind": "WidgetList"})
    );
    assert_eq!(crd["spec"]["conversion"], json!({"strategy": "None"}));
    let decoded = strategy.decode(definition()).map(|d| d.unknown_fields);
    assert_eq!(decoded, Ok(Vec::new()));
}
