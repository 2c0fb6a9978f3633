//! Pod DNS configuration against upstream's cases.

use super::*;

fn settings() -> DnsSettings {
    DnsSettings {
        cluster_dns: vec!["10.43.0.10".into()],
        cluster_domain: "cluster.local".into(),
        host: Some(ResolvConf::parse(
            "# comment\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example. .\noptions rotate timeout:2\n",
        )),
    }
}

fn spec(json: serde_json::Value) -> PodSpec {
    let mut base = serde_json::json!({"containers": [{"name": "c"}]});
    if let (Some(b), Some(extra)) = (base.as_object_mut(), json.as_object()) {
        b.extend(extra.clone());
    }
    serde_json::from_value(base).expect("valid spec")
}

#[test]
fn resolv_conf_is_parsed_as_the_kubelet_does() {
    let c =
        ResolvConf::parse("search a b.\nsearch c. d ; tail\nnameserver 1.1.1.1\noptions ndots:2\n");
    assert_eq!(c.searches, ["c", "d"]);
    assert_eq!(c.nameservers, ["1.1.1.1"]);
    assert_eq!(c.options, ["ndots:2"]);
}

#[test]
fn cluster_first_uses_the_cluster_dns_and_namespace_searches() {
    let c = pod_dns_config("web", &spec(serde_json::json!({})), &settings());
    assert_eq!(c.servers, ["10.43.0.10"]);
    assert_eq!(
        c.searches,
        [
            "web.svc.cluster.local",
            "svc.cluster.local",
            "cluster.local",
            "corp.example"
        ]
    );
    assert_eq!(c.options, ["ndots:5"]);
}

#[test]
fn default_policy_copies_the_node_resolv_conf() {
    let c = pod_dns_config(
        "web",
        &spec(serde_json::json!({"dnsPolicy": "Default"})),
        &settings(),
    );
    assert_eq!(c.servers, ["192.0.2.53", "192.0.2.54"]);
    assert_eq!(c.searches, ["corp.example"]);
    assert_eq!(c.options, ["rotate", "timeout:2"]);
}

#[test]
fn host_network_with_cluster_first_gets_the_node_resolver_unless_with_host_net() {
    let host = pod_dns_config(
        "web",
        &spec(serde_json::json!({"hostNetwork": true})),
        &settings(),
    );
    assert_eq!(host.servers, ["192.0.2.53", "192.0.2.54"]);
    let cluster = pod_dns_config(
        "web",
        &spec(serde_json::json!({"hostNetwork": true, "dnsPolicy": "ClusterFirstWithHostNet"})),
        &settings(),
    );
    assert_eq!(cluster.servers, ["10.43.0.10"]);
}

#[test]
fn none_policy_takes_only_the_pod_dns_config() {
    let c = pod_dns_config(
        "web",
        &spec(serde_json::json!({"dnsPolicy": "None", "dnsConfig": {
            "nameservers": ["9.9.9.9"], "searches": ["x.example"],
            "options": [{"name": "ndots", "value": "1"}, {"name": "edns0"}]
        }})),
        &settings(),
    );
    assert_eq!(c.servers, ["9.9.9.9"]);
    assert_eq!(c.searches, ["x.example"]);
    assert_eq!(c.options, ["ndots:1", "edns0"]);
}

#[test]
fn dns_config_is_merged_with_options_overridden_by_name() {
    let c = pod_dns_config(
        "web",
        &spec(serde_json::json!({"dnsConfig": {
            "nameservers": ["10.43.0.10", "9.9.9.9"], "searches": ["cluster.local", "y.example"],
            "options": [{"name": "ndots", "value": "2"}, {"name": "single-request"}]
        }})),
        &settings(),
    );
    assert_eq!(c.servers, ["10.43.0.10", "9.9.9.9"]);
    assert_eq!(c.searches.last().map(String::as_str), Some("y.example"));
    assert_eq!(c.searches.len(), 5);
    assert_eq!(c.options, ["ndots:2", "single-request"]);
}

#[test]
fn limits_keep_three_nameservers_and_thirty_two_searches() {
    let searches: Vec<String> = (0..40).map(|i| format!("s{i}.example")).collect();
    let c = pod_dns_config(
        "web",
        &spec(serde_json::json!({"dnsPolicy": "None", "dnsConfig": {
            "nameservers": ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"], "searches": searches
        }})),
        &settings(),
    );
    assert_eq!(c.servers.len(), MAX_NAMESERVERS);
    assert_eq!(c.searches.len(), MAX_SEARCHES);
    assert_eq!(c.searches[0], "s0.example");
}

#[test]
fn cluster_first_without_cluster_dns_falls_back_to_default() {
    let mut s = settings();
    s.cluster_dns.clear();
    let c = pod_dns_config("web", &spec(serde_json::json!({})), &s);
    assert_eq!(c.servers, ["192.0.2.53", "192.0.2.54"]);
}

#[test]
fn default_without_a_resolv_conf_points_at_localhost() {
    let mut s = settings();
    s.host = None;
    let c = pod_dns_config(
        "web",
        &spec(serde_json::json!({"dnsPolicy": "Default"})),
        &s,
    );
    assert_eq!(
        (c.servers, c.searches),
        (vec!["127.0.0.1".to_string()], vec![".".to_string()])
    );
}
