use serde_json::json;

use super::*;

#[test]
fn decode_reports_unknown_fields_with_paths() {
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "bogus": 1, "labels": {"x": "y"}}, "data": {"k": "v"}, "extra": {"a": 1}, "nothing": null});
    let decoded = match strategy_for("", "ConfigMap").decode(obj) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(decoded.unknown_fields, ["extra", "metadata.bogus"]);
    assert_eq!(decoded.object, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "y"}}, "data": {"k": "v"}}));
}
