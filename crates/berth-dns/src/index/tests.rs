//! Unit tests of the index: every record kind, headless readiness,
//! NXDOMAIN vs NODATA.

use hickory_proto::rr::RecordType;

use super::Lookup;
use super::fixtures::{catalog, data, get, ip, ips, service, slice};

#[test]
fn cluster_ip_service_resolves_to_its_cluster_ip_with_the_zone_ttl() {
    let mut c = catalog();
    c.apply_service(service("default", "web", "10.96.0.20"));
    let index = c.snapshot(true);
    let answer = get(&index, "web.default.svc.cluster.local", RecordType::A);
    assert_eq!(ips(&answer), vec![ip("10.96.0.20")]);
    let Lookup::Answer { answers, .. } = &answer else {
        unreachable!()
    };
    assert_eq!(answers[0].ttl, 5);
    assert_eq!(
        get(&index, "WEB.Default.svc.cluster.local.", RecordType::A),
        answer
    );
}

#[test]
fn dual_stack_service_answers_each_family_and_nodata_for_other_types() {
    let mut c = catalog();
    let mut svc = service("default", "web", "10.96.0.20");
    svc.spec.as_mut().expect("spec").cluster_ips =
        Some(vec!["10.96.0.20".into(), "fd00::20".into()]);
    c.apply_service(svc);
    let index = c.snapshot(true);
    let name = "web.default.svc.cluster.local";
    assert_eq!(
        ips(&get(&index, name, RecordType::AAAA)),
        vec![ip("fd00::20")]
    );
    assert_eq!(get(&index, name, RecordType::MX), Lookup::NoData);
    assert_eq!(get(&index, name, RecordType::TXT), Lookup::NoData);
}

#[test]
fn srv_for_a_named_port_of_a_cluster_ip_service_targets_the_service() {
    let mut c = catalog();
    c.apply_service(service("default", "web", "10.96.0.20"));
    let index = c.snapshot(true);
    let answer = get(
        &index,
        "_http._tcp.web.default.svc.cluster.local",
        RecordType::SRV,
    );
    assert_eq!(
        data(&answer),
        vec!["0 100 80 web.default.svc.cluster.local."]
    );
    let Lookup::Answer { additionals, .. } = &answer else {
        unreachable!()
    };
    assert_eq!(additionals.len(), 1, "the target's A record as glue");
    assert_eq!(
        get(
            &index,
            "_grpc._tcp.web.default.svc.cluster.local",
            RecordType::SRV
        ),
        Lookup::NxDomain
    );
    assert_eq!(
        get(
            &index,
            "_tcp.web.default.svc.cluster.local",
            RecordType::SRV
        ),
        Lookup::NoData
    );
    assert_eq!(
        get(
            &index,
            "_udp.web.default.svc.cluster.local",
            RecordType::SRV
        ),
        Lookup::NxDomain
    );
}

#[test]
fn headless_service_returns_ready_endpoints_only() {
    let mut c = catalog();
    c.apply_service(service("default", "db", "None"));
    let endpoints = [
        ("10.0.0.1", None, Some(true)),
        ("10.0.0.2", None, Some(false)),
        ("10.0.0.3", None, None),
    ];
    c.apply_slice(slice("default", "db-abc", "db", &endpoints));
    let index = c.snapshot(true);
    let answer = get(&index, "db.default.svc.cluster.local", RecordType::A);
    assert_eq!(ips(&answer), vec![ip("10.0.0.1"), ip("10.0.0.3")]);
}

#[test]
fn headless_service_publishing_not_ready_addresses_returns_all() {
    let mut c = catalog();
    let mut svc = service("default", "db", "None");
    svc.spec.as_mut().expect("spec").publish_not_ready_addresses = Some(true);
    c.apply_service(svc);
    c.apply_slice(slice(
        "default",
        "db-abc",
        "db",
        &[("10.0.0.1", None, Some(false))],
    ));
    let index = c.snapshot(true);
    assert_eq!(
        ips(&get(&index, "db.default.svc.cluster.local", RecordType::A)),
        vec![ip("10.0.0.1")]
    );
}

#[test]
fn headless_service_without_ready_endpoints_is_nxdomain() {
    let mut c = catalog();
    c.apply_service(service("default", "db", "None"));
    c.apply_slice(slice(
        "default",
        "db-abc",
        "db",
        &[("10.0.0.1", None, Some(false))],
    ));
    let index = c.snapshot(true);
    assert_eq!(
        get(&index, "db.default.svc.cluster.local", RecordType::A),
        Lookup::NxDomain
    );
}

#[test]
fn headless_srv_has_one_record_per_endpoint_named_by_hostname_or_dashed_ip() {
    let mut c = catalog();
    c.apply_service(service("default", "db", "None"));
    let endpoints = [
        ("10.0.0.1", Some("db-0"), Some(true)),
        ("10.0.0.2", None, Some(true)),
    ];
    c.apply_slice(slice("default", "db-abc", "db", &endpoints));
    let index = c.snapshot(true);
    let answer = get(
        &index,
        "_http._tcp.db.default.svc.cluster.local",
        RecordType::SRV,
    );
    assert_eq!(
        data(&answer),
        vec![
            "0 50 8080 db-0.db.default.svc.cluster.local.",
            "0 50 8080 10-0-0-2.db.default.svc.cluster.local.",
        ]
    );
    let Lookup::Answer { additionals, .. } = &answer else {
        unreachable!()
    };
    assert_eq!(additionals.len(), 2);
}

#[test]
fn statefulset_pod_records_resolve_by_hostname_and_dashed_ip() {
    let mut c = catalog();
    c.apply_service(service("prod", "db", "None"));
    let endpoints = [
        ("10.0.0.1", Some("db-0"), Some(true)),
        ("10.0.0.2", None, Some(true)),
    ];
    c.apply_slice(slice("prod", "db-abc", "db", &endpoints));
    let index = c.snapshot(true);
    assert_eq!(
        ips(&get(
            &index,
            "db-0.db.prod.svc.cluster.local",
            RecordType::A
        )),
        vec![ip("10.0.0.1")]
    );
    assert_eq!(
        ips(&get(
            &index,
            "10-0-0-2.db.prod.svc.cluster.local",
            RecordType::A
        )),
        vec![ip("10.0.0.2")]
    );
    assert_eq!(
        get(&index, "db-9.db.prod.svc.cluster.local", RecordType::A),
        Lookup::NxDomain
    );
    assert_eq!(
        get(&index, "db-0.db.prod.svc.cluster.local", RecordType::AAAA),
        Lookup::NoData
    );
}

#[test]
fn external_name_service_is_a_cname() {
    let mut c = catalog();
    let mut svc = service("default", "ext", "");
    let spec = svc.spec.as_mut().expect("spec");
    spec.type_ = Some("ExternalName".to_string());
    spec.external_name = Some("db.example.com".to_string());
    c.apply_service(svc);
    let index = c.snapshot(true);
    assert_eq!(
        data(&get(&index, "ext.default.svc.cluster.local", RecordType::A)),
        vec!["db.example.com."]
    );
}

#[test]
fn ptr_records_exist_for_cluster_ips_and_endpoints_with_hostnames() {
    let mut c = catalog();
    c.apply_service(service("default", "web", "10.96.0.20"));
    c.apply_service(service("prod", "db", "None"));
    let endpoints = [
        ("10.0.0.1", Some("db-0"), Some(true)),
        ("10.0.0.2", None, Some(true)),
    ];
    c.apply_slice(slice("prod", "db-abc", "db", &endpoints));
    let index = c.snapshot(true);
    let ptr = |name: &str| get(&index, name, RecordType::PTR);
    assert_eq!(
        data(&ptr("20.0.96.10.in-addr.arpa")),
        vec!["web.default.svc.cluster.local."]
    );
    assert_eq!(
        data(&ptr("1.0.0.10.in-addr.arpa")),
        vec!["db-0.db.prod.svc.cluster.local."]
    );
    assert_eq!(
        ptr("2.0.0.10.in-addr.arpa"),
        Lookup::Forward,
        "unknown addresses fall through"
    );
    assert_eq!(
        get(&index, "20.0.96.10.in-addr.arpa", RecordType::A),
        Lookup::NoData
    );
}

#[test]
fn pod_records_answer_the_dashed_address() {
    let index = catalog().snapshot(true);
    assert_eq!(
        ips(&get(
            &index,
            "10-244-1-7.default.pod.cluster.local",
            RecordType::A
        )),
        vec![ip("10.244.1.7")]
    );
    assert_eq!(
        get(
            &index,
            "10-244-1-7.default.pod.cluster.local",
            RecordType::AAAA
        ),
        Lookup::NoData
    );
    assert_eq!(
        get(&index, "not-an-ip.default.pod.cluster.local", RecordType::A),
        Lookup::NxDomain
    );
}

#[test]
fn nxdomain_and_nodata_follow_coredns() {
    let mut c = catalog();
    c.apply_service(service("default", "web", "10.96.0.20"));
    let index = c.snapshot(true);
    let a = |name: &str| get(&index, name, RecordType::A);
    assert_eq!(a("missing.default.svc.cluster.local"), Lookup::NxDomain);
    assert_eq!(
        a("default.svc.cluster.local"),
        Lookup::NoData,
        "a namespace with Services"
    );
    assert_eq!(
        a("empty.svc.cluster.local"),
        Lookup::NxDomain,
        "a namespace without"
    );
    assert_eq!(a("svc.cluster.local"), Lookup::NoData);
    assert_eq!(a("cluster.local"), Lookup::NoData);
    assert_eq!(a("something.cluster.local"), Lookup::NxDomain);
    assert_eq!(a("example.com"), Lookup::Forward);
    assert!(matches!(
        get(&index, "cluster.local", RecordType::SOA),
        Lookup::Answer { .. }
    ));
}
