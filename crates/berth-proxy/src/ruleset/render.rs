//! One [`ServicePortPlan`] → the chains, sets and map elements it owns.
//!
//! Chains (upstream's nftables layout, see the crate docs for where Berth
//! differs):
//! - `service-…`: cluster-wide endpoints; masquerades traffic from outside
//!   the cluster CIDR, then picks an endpoint at random and DNATs to it
//!   (`dnat … to numgen random mod N map { i : addr . port }`).
//! - `local-…`: the same over this node's endpoints, for `Local` policies.
//! - `external-…`: NodePort entry: masquerade for `Cluster` policy; for
//!   `Local`, keep the client address, except pod and host traffic, which is
//!   short-circuited to the cluster chain.
//! - `endpoint-…` (ClientIP affinity only): records the client in the
//!   endpoint's timed `affinity-…` set, then DNATs; the service chain first
//!   sends known clients back to their endpoint, then picks with
//!   `numgen random mod N vmap`.
//!
//! Hairpin traffic (a pod reaching itself through its Service) is
//! masqueraded by one table-wide rule over the `hairpin` set of endpoint
//! addresses (see `base`), so endpoints need no chain of their own.
//! Without usable endpoints the destination goes to the `no-endpoint-*`
//! maps instead: rejected if no endpoint exists anywhere, dropped if only
//! the `Local` policy finds none.

use std::net::IpAddr;

use super::{ChainNames, ElementKey, RenderOptions, ServicePortRules, maps};
use crate::model::{ServicePortPlan, Target};

/// Renders `plan` with `options`.
pub fn render(plan: &ServicePortPlan, options: &RenderOptions) -> ServicePortRules {
    let mut out = ServicePortRules::default();
    let names = ChainNames::new(&plan.name);
    dispatch_cluster_ips(&mut out, plan, &names);
    dispatch_node_port(&mut out, plan, options, &names);
    let endpoints = &plan.endpoints;
    // A non-empty endpoint list always has a referrer: the cluster IPs or
    // the NodePort of the policy that computed it.
    if !endpoints.cluster.is_empty() {
        let mut rules = masquerade_rules(plan, options);
        rules.extend(balance(&mut out, plan, &names, &endpoints.cluster));
        out.chains.insert(names.service(), rules);
    }
    if !endpoints.local.is_empty() {
        let rules = balance(&mut out, plan, &names, &endpoints.local);
        out.chains.insert(names.local(), rules);
    }
    out
}

/// The verdict for a destination without usable endpoints.
fn no_endpoints(plan: &ServicePortPlan) -> String {
    if plan.endpoints.has_any {
        "drop"
    } else {
        "goto reject-chain"
    }
    .into()
}

fn element(out: &mut ServicePortRules, map: &'static str, key: String, value: String) {
    out.elements.insert(ElementKey { map, key }, value);
}

fn dispatch_cluster_ips(out: &mut ServicePortRules, plan: &ServicePortPlan, names: &ChainNames) {
    let (internal, chain) = if plan.internal_local {
        (&plan.endpoints.local, names.local())
    } else {
        (&plan.endpoints.cluster, names.service())
    };
    let proto = plan.name.protocol.nft();
    for ip in &plan.cluster_ips {
        let key = format!("{ip} . {proto} . {}", plan.port);
        if internal.is_empty() {
            element(out, maps::NO_ENDPOINT_SERVICES, key, no_endpoints(plan));
        } else {
            element(out, maps::SERVICE_IPS, key, format!("goto {chain}"));
        }
    }
}

fn dispatch_node_port(
    out: &mut ServicePortRules,
    plan: &ServicePortPlan,
    options: &RenderOptions,
    names: &ChainNames,
) {
    let Some(node_port) = plan.node_port else {
        return;
    };
    let external = if plan.external_local {
        &plan.endpoints.local
    } else {
        &plan.endpoints.cluster
    };
    let key = format!("{} . {node_port}", plan.name.protocol.nft());
    if external.is_empty() {
        element(out, maps::NO_ENDPOINT_NODEPORTS, key, no_endpoints(plan));
    } else {
        let chain = names.external();
        element(out, maps::SERVICE_NODEPORTS, key, format!("goto {chain}"));
        out.chains
            .insert(chain, external_rules(plan, options, names));
    }
}

/// Marks traffic to a cluster IP that does not come from a pod.
fn masquerade_rules(plan: &ServicePortPlan, options: &RenderOptions) -> Vec<String> {
    let f = plan.family.nft();
    let proto = plan.name.protocol.nft();
    let cidrs: Vec<String> = options
        .cluster_cidrs
        .iter()
        .filter(|c| c.family() == plan.family)
        .map(ToString::to_string)
        .collect();
    let source = match (options.masquerade_all, cidrs.as_slice()) {
        (true, _) => String::new(),
        (false, []) => return Vec::new(),
        (false, [one]) => format!(" {f} saddr != {one}"),
        (false, many) => format!(" {f} saddr != {{ {} }}", many.join(", ")),
    };
    let port = plan.port;
    let rule = |ip: &IpAddr| {
        format!("{f} daddr {ip} {proto} dport {port}{source} jump mark-for-masquerade")
    };
    plan.cluster_ips.iter().map(rule).collect()
}

/// Rules choosing among `targets` (non-empty) and DNATing to the choice.
fn balance(
    out: &mut ServicePortRules,
    plan: &ServicePortPlan,
    names: &ChainNames,
    targets: &[Target],
) -> Vec<String> {
    if plan.affinity_timeout.is_some() {
        return balance_with_affinity(out, plan, names, targets);
    }
    let proto = plan.name.protocol.nft();
    if let [only] = targets {
        return vec![format!(
            "meta l4proto {proto} dnat to {}",
            dnat_target(only)
        )];
    }
    let choices: Vec<String> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{i} : {} . {}", t.ip, t.port))
        .collect();
    vec![format!(
        "meta l4proto {proto} dnat {} addr . port to numgen random mod {} map {{ {} }}",
        plan.family.nft(),
        targets.len(),
        choices.join(", ")
    )]
}

/// Known clients go back to their endpoint; new ones pick at random, and
/// the endpoint chain remembers them.
fn balance_with_affinity(
    out: &mut ServicePortRules,
    plan: &ServicePortPlan,
    names: &ChainNames,
    targets: &[Target],
) -> Vec<String> {
    let f = plan.family.nft();
    let mut rules: Vec<String> = targets
        .iter()
        .map(|t| {
            format!(
                "{f} saddr @{} goto {}",
                names.affinity(t),
                names.endpoint(t)
            )
        })
        .collect();
    let choices: Vec<String> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{i} : goto {}", names.endpoint(t)))
        .collect();
    rules.push(format!(
        "numgen random mod {} vmap {{ {} }}",
        targets.len(),
        choices.join(", ")
    ));
    for t in targets {
        affinity_endpoint(out, plan, names, t);
    }
    rules
}

fn affinity_endpoint(
    out: &mut ServicePortRules,
    plan: &ServicePortPlan,
    names: &ChainNames,
    t: &Target,
) {
    let f = plan.family.nft();
    let set = names.affinity(t);
    let timeout = plan.affinity_timeout.unwrap_or_default();
    out.sets.insert(
        set.clone(),
        format!(
            "{{ type {} ; flags dynamic,timeout ; timeout {timeout}s ; }}",
            plan.family.addr_type()
        ),
    );
    let rules = vec![
        format!("update @{set} {{ {f} saddr }}"),
        format!(
            "meta l4proto {} dnat to {}",
            plan.name.protocol.nft(),
            dnat_target(t)
        ),
    ];
    out.chains.insert(names.endpoint(t), rules);
}

fn dnat_target(t: &Target) -> String {
    match t.ip {
        IpAddr::V4(ip) => format!("{ip}:{}", t.port),
        IpAddr::V6(ip) => format!("[{ip}]:{}", t.port),
    }
}

fn external_rules(
    plan: &ServicePortPlan,
    options: &RenderOptions,
    names: &ChainNames,
) -> Vec<String> {
    if !plan.external_local {
        return vec![
            "jump mark-for-masquerade".into(),
            format!("goto {}", names.service()),
        ];
    }
    let f = plan.family.nft();
    let cluster = (!plan.endpoints.cluster.is_empty()).then(|| names.service());
    let mut rules = Vec::new();
    if let Some(cluster) = &cluster {
        for cidr in options
            .cluster_cidrs
            .iter()
            .filter(|c| c.family() == plan.family)
        {
            rules.push(format!("{f} saddr {cidr} goto {cluster}"));
        }
    }
    rules.push("fib saddr type local jump mark-for-masquerade".into());
    if let Some(cluster) = &cluster {
        rules.push(format!("fib saddr type local goto {cluster}"));
    }
    rules.push(format!("goto {}", names.local()));
    rules
}

#[cfg(test)]
mod tests;
