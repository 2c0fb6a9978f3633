//! The difference between what a table holds and what is desired, as
//! transaction commands, plus the bookkeeping to commit once nft agreed.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use super::{Programmed, TableState};
use crate::model::{DesiredState, ServicePortName};
use crate::ruleset::{
    ElementKey, RenderOptions, ServicePortRules, Table, Transaction, maps, render,
};

/// Per service port: the new programmed state, or `None` once removed.
#[derive(Debug, Default)]
pub(super) struct Changes {
    /// The table was rebuilt: forget everything before applying.
    pub reset: bool,
    pub service_ports: BTreeMap<ServicePortName, Option<Programmed>>,
}

impl Changes {
    /// Records in `state` what the applied transaction did.
    pub fn commit(self, state: &mut TableState, desired: &DesiredState) {
        if self.reset {
            *state = TableState::default();
        }
        for (name, programmed) in self.service_ports {
            match programmed {
                Some(p) => state.service_ports.insert(name, p),
                None => state.service_ports.remove(&name),
            };
        }
        state.nodeport_ips = desired.node_addresses.iter().copied().collect();
        state.cluster_ips = cluster_ips(desired);
        state.hairpin = endpoint_ips(desired);
    }
}

/// The transaction from `state` to `desired`, touching only service ports
/// whose plan changed; `None` when only a full sync can get there (an
/// affinity set's declaration changed).
pub(super) fn incremental(
    table: &Table,
    options: &RenderOptions,
    state: &TableState,
    desired: &DesiredState,
) -> Option<(Transaction, Changes)> {
    let mut tx = Transaction::new(table);
    let mut changes = Changes::default();
    let empty = ServicePortRules::default();
    for (name, old) in &state.service_ports {
        if !desired.plans.contains_key(name) {
            write_diff(&mut tx, &old.rules, &empty)?;
            changes.service_ports.insert(name.clone(), None);
        }
    }
    for (name, plan) in &desired.plans {
        let old = state.service_ports.get(name);
        if old.is_some_and(|o| o.plan == *plan) {
            continue;
        }
        let rules = Arc::new(render(plan, options));
        write_diff(&mut tx, old.map_or(&empty, |o| &o.rules), &rules)?;
        let programmed = Programmed {
            plan: plan.clone(),
            rules,
        };
        changes.service_ports.insert(name.clone(), Some(programmed));
    }
    write_globals(&mut tx, state, desired, false);
    Some((tx, changes))
}

/// Adds everything `rules` holds to an empty table (full syncs).
pub(super) fn write_new(tx: &mut Transaction, rules: &ServicePortRules) {
    for (name, declaration) in &rules.sets {
        tx.add_set(name, declaration);
    }
    for (name, chain) in &rules.chains {
        tx.add_chain(name, chain);
    }
    for (key, value) in &rules.elements {
        tx.add_element_bulk(key, Some(value));
    }
}

/// The commands turning `old` into `new`; `None` if a set declaration
/// changed (a referenced set cannot be redeclared in place).
fn write_diff(tx: &mut Transaction, old: &ServicePortRules, new: &ServicePortRules) -> Option<()> {
    for (name, declaration) in &new.sets {
        match old.sets.get(name) {
            None => tx.add_set(name, declaration),
            Some(d) if d != declaration => return None,
            Some(_) => {}
        }
    }
    for name in old.sets.keys().filter(|n| !new.sets.contains_key(*n)) {
        tx.delete_set(name);
    }
    for (name, rules) in &new.chains {
        match old.chains.get(name) {
            None => tx.add_chain(name, rules),
            Some(r) if r != rules => tx.replace_chain(name, rules),
            Some(_) => {}
        }
    }
    for name in old.chains.keys().filter(|n| !new.chains.contains_key(*n)) {
        tx.delete_chain(name);
    }
    for (key, value) in &old.elements {
        if new.elements.get(key) != Some(value) {
            tx.delete_element(key);
        }
    }
    for (key, value) in &new.elements {
        if old.elements.get(key) != Some(value) {
            tx.add_element(key, Some(value));
        }
    }
    Some(())
}

/// The sets shared by all service ports (`nodeport-ips`, `cluster-ips`,
/// `hairpin`): an address stays while any service port needs it.
pub(super) fn write_globals(
    tx: &mut Transaction,
    old: &TableState,
    desired: &DesiredState,
    bulk: bool,
) {
    let nodeport_ips: BTreeSet<IpAddr> = desired.node_addresses.iter().copied().collect();
    let sets = [
        (maps::NODEPORT_IPS, &old.nodeport_ips, nodeport_ips, false),
        (
            maps::CLUSTER_IPS,
            &old.cluster_ips,
            cluster_ips(desired),
            false,
        ),
        (maps::HAIRPIN, &old.hairpin, endpoint_ips(desired), true),
    ];
    for (map, old, new, pair) in sets {
        let key = |ip: &IpAddr| ElementKey {
            map,
            key: if pair {
                format!("{ip} . {ip}")
            } else {
                ip.to_string()
            },
        };
        for ip in old.difference(&new) {
            tx.delete_element(&key(ip));
        }
        for ip in new.difference(old) {
            if bulk {
                tx.add_element_bulk(&key(ip), None);
            } else {
                tx.add_element(&key(ip), None);
            }
        }
    }
}

fn cluster_ips(desired: &DesiredState) -> BTreeSet<IpAddr> {
    desired
        .plans
        .values()
        .flat_map(|p| p.cluster_ips.iter().copied())
        .collect()
}

fn endpoint_ips(desired: &DesiredState) -> BTreeSet<IpAddr> {
    desired
        .plans
        .values()
        .flat_map(|p| p.endpoints.cluster.iter().chain(&p.endpoints.local))
        .map(|t| t.ip)
        .collect()
}
