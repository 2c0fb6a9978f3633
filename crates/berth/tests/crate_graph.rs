//! The crate graph is a checked DAG (design.md §3): each crate may depend
//! only on the Berth crates its allow-list names. Adding an edge is a design
//! change: update this list and ARCHITECTURE.md together.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const ALLOWED: &[(&str, &[&str])] = &[
    ("berth-api", &[]),
    ("berth-store", &[]),
    ("berth-apiserver", &["berth-api", "berth-store"]),
    ("berth-lease", &["berth-testkit"]),
    (
        "berth-scheduler",
        &["berth-api", "berth-lease", "berth-testkit"],
    ),
    (
        "berth-controllers",
        &["berth-api", "berth-lease", "berth-testkit"],
    ),
    ("berth-agent", &["berth-api"]),
    ("berth-proxy", &["berth-api", "berth-testkit"]),
    ("berth-dns", &["berth-api", "berth-testkit"]),
    ("berth-testkit", &[]),
    (
        "berth",
        &[
            "berth-api",
            "berth-store",
            "berth-apiserver",
            "berth-scheduler",
            "berth-controllers",
            "berth-lease",
            "berth-agent",
            "berth-proxy",
            "berth-dns",
            "berth-testkit",
        ],
    ),
];

/// The `berth-*` dependencies named in a manifest (any section).
fn berth_deps(manifest: &str) -> BTreeSet<String> {
    manifest
        .lines()
        .filter_map(|l| l.trim().split(['.', ' ', '=']).next())
        .filter(|name| name.starts_with("berth"))
        .map(String::from)
        .filter(|name| name != "berth")
        .collect()
}

#[test]
fn every_crate_depends_only_on_what_its_allow_list_names() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut checked = 0;
    for entry in std::fs::read_dir(&crates).expect("crates dir") {
        let dir = entry.expect("entry").path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let own = manifest
            .lines()
            .find_map(|l| l.strip_prefix("name = "))
            .map(|n| n.trim_matches('"').to_string());
        let deps: BTreeSet<String> = berth_deps(&manifest)
            .into_iter()
            .filter(|d| Some(d) != own.as_ref())
            .collect();
        let Some(allow) = allowed.get(name.as_str()) else {
            panic!("crate {name} is not in the allow-list: add it here and to ARCHITECTURE.md");
        };
        let extra: Vec<&String> = deps
            .iter()
            .filter(|d| !allow.contains(&d.as_str()))
            .collect();
        assert!(
            extra.is_empty(),
            "{name} depends on {extra:?}, which its allow-list does not name"
        );
        checked += 1;
    }
    assert!(checked >= 5, "found only {checked} crates");
}
