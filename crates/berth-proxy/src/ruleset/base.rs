//! The table's fixed skeleton: base chains at upstream's hooks and
//! priorities, the masquerade chains, the dispatch chains and the maps.
//!
//! Priorities: filter checks run at -110 (before DNAT at -100), so a
//! connection to a Service without endpoints is rejected before anything
//! rewrites it; `filter-output-post-dnat` (-90) sees output traffic after
//! DNAT; masquerading runs at srcnat (100).

use super::{Table, maps};

/// The packet mark that asks `masquerading` to SNAT (upstream's bit).
pub const MASQUERADE_MARK: &str = "0x4000";

/// Commands creating the skeleton in an empty table.
pub fn base_commands(table: &Table) -> Vec<String> {
    let f = table.family.nft();
    let addr = table.family.addr_type();
    let mut out = Vec::new();
    let mut map = |kind: &str, name: &str, ty: &str| {
        out.push(format!("add {kind} {table} {name} {{ type {ty} ; }}"));
    };
    let verdict_key = format!("{addr} . inet_proto . inet_service : verdict");
    map("map", maps::SERVICE_IPS, &verdict_key);
    map("map", maps::NO_ENDPOINT_SERVICES, &verdict_key);
    map(
        "map",
        maps::SERVICE_NODEPORTS,
        "inet_proto . inet_service : verdict",
    );
    map(
        "map",
        maps::NO_ENDPOINT_NODEPORTS,
        "inet_proto . inet_service : verdict",
    );
    map("set", maps::CLUSTER_IPS, addr);
    map("set", maps::NODEPORT_IPS, addr);
    map("set", maps::HAIRPIN, &format!("{addr} . {addr}"));
    for (chain, rules) in regular_chains(f) {
        out.push(format!("add chain {table} {chain}"));
        out.extend(
            rules
                .iter()
                .map(|r| format!("add rule {table} {chain} {r}")),
        );
    }
    for (chain, hook, rules) in base_chains() {
        out.push(format!("add chain {table} {chain} {{ {hook} ; }}"));
        out.extend(
            rules
                .iter()
                .map(|r| format!("add rule {table} {chain} {r}")),
        );
    }
    out
}

fn regular_chains(f: &str) -> Vec<(&'static str, Vec<String>)> {
    vec![
        (
            "mark-for-masquerade",
            vec![format!("meta mark set meta mark or {MASQUERADE_MARK}")],
        ),
        (
            "masquerading",
            vec![
                format!(
                    "ct status dnat {f} saddr . {f} daddr @{} meta mark set meta mark or {MASQUERADE_MARK}",
                    maps::HAIRPIN
                ),
                format!("meta mark & {MASQUERADE_MARK} == 0 return"),
                format!("meta mark set meta mark xor {MASQUERADE_MARK}"),
                "masquerade fully-random".into(),
            ],
        ),
        (
            "services",
            vec![
                format!(
                    "{f} daddr . meta l4proto . th dport vmap @{}",
                    maps::SERVICE_IPS
                ),
                format!(
                    "{f} daddr @{} meta l4proto . th dport vmap @{}",
                    maps::NODEPORT_IPS,
                    maps::SERVICE_NODEPORTS
                ),
            ],
        ),
        ("reject-chain", vec!["reject".into()]),
        (
            "service-endpoints-check",
            vec![format!(
                "{f} daddr . meta l4proto . th dport vmap @{}",
                maps::NO_ENDPOINT_SERVICES
            )],
        ),
        (
            "nodeport-endpoints-check",
            vec![format!(
                "{f} daddr @{} meta l4proto . th dport vmap @{}",
                maps::NODEPORT_IPS,
                maps::NO_ENDPOINT_NODEPORTS
            )],
        ),
        (
            "cluster-ips-check",
            vec![format!("{f} daddr @{} reject", maps::CLUSTER_IPS)],
        ),
    ]
}

fn base_chains() -> Vec<(&'static str, &'static str, Vec<String>)> {
    let jump = |chain: &str| format!("ct state new jump {chain}");
    vec![
        (
            "filter-input",
            "type filter hook input priority -110",
            vec![
                jump("nodeport-endpoints-check"),
                jump("service-endpoints-check"),
            ],
        ),
        (
            "filter-forward",
            "type filter hook forward priority -110",
            vec![jump("service-endpoints-check"), jump("cluster-ips-check")],
        ),
        (
            "filter-output",
            "type filter hook output priority -110",
            vec![jump("service-endpoints-check")],
        ),
        (
            "filter-output-post-dnat",
            "type filter hook output priority -90",
            vec![jump("cluster-ips-check")],
        ),
        (
            "nat-prerouting",
            "type nat hook prerouting priority -100",
            vec!["jump services".into()],
        ),
        (
            "nat-output",
            "type nat hook output priority -100",
            vec!["jump services".into()],
        ),
        (
            "nat-postrouting",
            "type nat hook postrouting priority 100",
            vec!["jump masquerading".into()],
        ),
    ]
}
