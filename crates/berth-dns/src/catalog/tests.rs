//! Unit tests of the catalog: updates, deletes and relists change exactly
//! the records they should; nothing is answered before the first list.

use hickory_proto::rr::RecordType;

use crate::index::Lookup;
use crate::index::fixtures::{catalog, get, ip, ips, service, slice};

#[test]
fn names_are_not_answered_before_the_first_list() {
    let index = catalog().snapshot(false);
    assert_eq!(
        get(&index, "web.default.svc.cluster.local", RecordType::A),
        Lookup::NotReady
    );
    assert_eq!(get(&index, "example.com", RecordType::A), Lookup::Forward);
}

#[test]
fn updates_and_deletes_remove_records() {
    let mut c = catalog();
    c.apply_service(service("prod", "db", "None"));
    let endpoints = [
        ("10.0.0.1", Some("db-0"), Some(true)),
        ("10.0.0.2", Some("db-1"), Some(true)),
    ];
    c.apply_slice(slice("prod", "db-abc", "db", &endpoints));
    c.apply_slice(slice(
        "prod",
        "db-abc",
        "db",
        &[("10.0.0.2", Some("db-1"), Some(true))],
    ));
    let index = c.snapshot(true);
    assert_eq!(
        ips(&get(&index, "db.prod.svc.cluster.local", RecordType::A)),
        vec![ip("10.0.0.2")]
    );
    assert_eq!(
        get(&index, "db-0.db.prod.svc.cluster.local", RecordType::A),
        Lookup::NxDomain
    );
    assert_eq!(
        get(&index, "1.0.0.10.in-addr.arpa", RecordType::PTR),
        Lookup::Forward
    );

    let deleted = slice("prod", "db-abc", "db", &[]);
    c.delete_slice(&deleted);
    let index = c.snapshot(true);
    assert_eq!(
        get(&index, "db.prod.svc.cluster.local", RecordType::A),
        Lookup::NxDomain
    );
    assert_eq!(
        get(&index, "2.0.0.10.in-addr.arpa", RecordType::PTR),
        Lookup::Forward
    );

    c.apply_service(service("default", "web", "10.96.0.20"));
    c.delete_service(&service("default", "web", "10.96.0.20"));
    let index = c.snapshot(true);
    assert_eq!(
        get(&index, "web.default.svc.cluster.local", RecordType::A),
        Lookup::NxDomain
    );
    assert_eq!(
        get(&index, "20.0.96.10.in-addr.arpa", RecordType::PTR),
        Lookup::Forward
    );
    assert_eq!(
        get(&index, "default.svc.cluster.local", RecordType::A),
        Lookup::NxDomain
    );
}

#[test]
fn a_relist_replaces_everything_and_slices_from_several_objects_merge() {
    let mut c = catalog();
    c.apply_service(service("default", "old", "10.96.0.30"));
    c.replace_services(vec![service("prod", "db", "None")]);
    c.replace_slices(vec![
        slice(
            "prod",
            "db-b",
            "db",
            &[
                ("10.0.0.2", None, Some(true)),
                ("10.0.0.1", None, Some(true)),
            ],
        ),
        slice("prod", "db-a", "db", &[("10.0.0.1", None, Some(true))]),
    ]);
    let index = c.snapshot(true);
    assert_eq!(
        get(&index, "old.default.svc.cluster.local", RecordType::A),
        Lookup::NxDomain
    );
    assert_eq!(
        ips(&get(&index, "db.prod.svc.cluster.local", RecordType::A)),
        vec![ip("10.0.0.1"), ip("10.0.0.2")],
        "slices in name order, each address once"
    );
}
