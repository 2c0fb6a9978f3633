use serde_json::json;

use super::*;

fn target() -> Target {
    Target::new("apps", "deployments", "web")
}

fn deploy(replicas: i64, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "web", "image": image}]}}}})
}

#[test]
fn field_sets_round_trip_through_fields_v1() {
    let set = field_set(
        &json!({"spec": {"replicas": 1, "containers": [{"name": "c", "image": "x"}]}, "metadata": {"finalizers": ["a"]}}),
    );
    let v1 = to_fields_v1(&set);
    assert_eq!(
        v1["f:spec"]["f:containers"]["k:{\"name\":\"c\"}"]["f:image"],
        json!({})
    );
    assert!(
        v1["f:spec"]["f:containers"]["k:{\"name\":\"c\"}"]
            .get(".")
            .is_some()
    );
    assert_eq!(from_fields_v1(&v1), set);
}

#[test]
fn a_second_manager_changing_an_owned_field_conflicts_and_names_the_owner() {
    let live = apply(
        &json!({}),
        &deploy(3, "a:1"),
        "alice",
        false,
        "apps/v1",
        &target(),
    )
    .expect("first apply");
    let err =
        apply(&live, &deploy(5, "a:1"), "bob", false, "apps/v1", &target()).expect_err("conflict");
    let text = err.to_status()["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        text.contains(
            "Apply failed with 1 conflict: conflict with \"alice\" using apps/v1: .spec.replicas"
        ),
        "{text}"
    );
    assert_eq!(err.code(), 409);
    // Applying the same value is shared ownership, not a conflict.
    let shared =
        apply(&live, &deploy(3, "a:1"), "bob", false, "apps/v1", &target()).expect("same values");
    assert_eq!(
        shared["metadata"]["managedFields"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn force_takes_the_field_from_its_owner() {
    let live = apply(
        &json!({}),
        &deploy(3, "a:1"),
        "alice",
        false,
        "apps/v1",
        &target(),
    )
    .expect("first");
    let forced =
        apply(&live, &deploy(5, "a:1"), "bob", true, "apps/v1", &target()).expect("forced");
    assert_eq!(forced["spec"]["replicas"], 5);
    let alice = forced["metadata"]["managedFields"]
        .as_array()
        .and_then(|m| m.iter().find(|e| e["manager"] == "alice"))
        .cloned()
        .expect("alice");
    assert!(
        alice["fieldsV1"]["f:spec"].get("f:replicas").is_none(),
        "alice no longer owns replicas"
    );
}

#[test]
fn a_field_no_longer_applied_is_removed_unless_someone_else_owns_it() {
    let mut with_label = deploy(3, "a:1");
    with_label["metadata"]["labels"] = json!({"tier": "web"});
    let live = apply(
        &json!({}),
        &with_label,
        "alice",
        false,
        "apps/v1",
        &target(),
    )
    .expect("first");
    let after = apply(
        &live,
        &deploy(3, "a:1"),
        "alice",
        false,
        "apps/v1",
        &target(),
    )
    .expect("second");
    assert!(after["metadata"]["labels"].get("tier").is_none());
}
