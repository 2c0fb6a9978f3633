use serde_json::{Value, json};

use crate::strategy::{Strategy, strategy_for};

fn service() -> &'static dyn Strategy {
    strategy_for("", "Service")
}

fn errors(obj: &Value) -> Vec<String> {
    service()
        .validate(obj)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn service_defaults_match_upstream() {
    let mut obj = json!({"metadata": {"name": "web", "namespace": "d"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}});
    service().default(&mut obj);
    assert_eq!(
        obj["spec"],
        json!({
            "selector": {"app": "web"},
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
            "type": "ClusterIP",
            "sessionAffinity": "None",
            "internalTrafficPolicy": "Cluster",
            "ipFamilyPolicy": "SingleStack",
            "ipFamilies": ["IPv4"],
        })
    );
    let mut node_port =
        json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "targetPort": "http"}]}});
    service().default(&mut node_port);
    assert_eq!(node_port["spec"]["externalTrafficPolicy"], "Cluster");
    assert_eq!(node_port["spec"]["ports"][0]["targetPort"], "http");
}

#[test]
fn service_validation_covers_ports_and_types() {
    let base = |spec: Value| json!({"metadata": {"name": "web", "namespace": "d"}, "spec": spec});
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"type": "ClusterIP", "ports": [{"port": 80, "protocol": "TCP"}]}),
            vec![],
        ),
        (
            json!({"type": "ClusterIP"}),
            vec!["spec.ports: Required value"],
        ),
        (json!({"type": "ClusterIP", "clusterIP": "None"}), vec![]),
        (
            json!({"type": "ExternalName", "externalName": "example.com"}),
            vec![],
        ),
        (
            json!({"type": "ExternalName"}),
            vec!["spec.externalName: Required value"],
        ),
        (
            json!({"type": "ClusterIP", "ports": [{"port": 0, "protocol": "TCP"}]}),
            vec!["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"],
        ),
        (
            json!({"type": "ClusterIP", "ports": [{"name": "a", "port": 80, "protocol": "TCP"}, {"port": 80, "protocol": "TCP"}]}),
            vec![
                "spec.ports[1].name: Required value",
                "spec.ports[1]: Duplicate value: {\"port\":80,\"protocol\":\"TCP\"}",
            ],
        ),
        (
            json!({"type": "ClusterIP", "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30001}]}),
            vec!["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
        ),
        (
            json!({"type": "Magic", "ports": [{"port": 80, "protocol": "HTTP"}]}),
            vec![
                "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
                "spec.ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            ],
        ),
    ];
    for (spec, want) in cases {
        assert_eq!(errors(&base(spec.clone())), want, "{spec}");
    }
}

#[test]
fn cluster_ip_is_immutable_and_kept_when_omitted() {
    let old = json!({"metadata": {"name": "web", "namespace": "d"}, "spec": {"type": "NodePort", "clusterIP": "10.0.0.5", "clusterIPs": ["10.0.0.5"], "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]}});
    let mut new = json!({"metadata": {"name": "web", "namespace": "d"}, "spec": {"type": "NodePort", "ports": [{"port": 80, "protocol": "TCP"}]}});
    service().prepare_for_update(&mut new, &old);
    assert_eq!(new["spec"]["clusterIP"], "10.0.0.5");
    assert_eq!(new["spec"]["ports"][0]["nodePort"], 30080);
    let mut changed = old.clone();
    changed["spec"]["clusterIP"] = json!("10.0.0.6");
    changed["spec"]["clusterIPs"] = json!(["10.0.0.6"]);
    let errs: Vec<String> = service()
        .validate_update(&changed, &old)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [
            "spec.clusterIPs[0]: Invalid value: [\"10.0.0.6\"]: may not change once set",
            "spec.clusterIP: Invalid value: \"10.0.0.6\": field is immutable",
        ]
    );
}
