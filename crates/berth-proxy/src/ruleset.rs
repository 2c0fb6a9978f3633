//! The nftables side of the model: what one service port owns in the table
//! (chains, affinity sets, map elements), the table's fixed skeleton, and
//! the transaction text that programs them.
//!
//! The layout follows upstream kube-proxy's nftables mode: base chains at
//! the nat/filter hooks, the verdict maps `service-ips` (address . protocol
//! . port → goto a service chain) and `service-nodeports`, and the maps of
//! rejected or dropped destinations checked before DNAT.
//! It is not: I/O (see `backend`) or the decision what to change (`sync`).

mod base;
mod names;
mod render;
mod transaction;

use std::collections::BTreeMap;

use crate::cidr::Cidr;
use crate::model::Family;

pub use base::base_commands;
pub use names::ChainNames;
pub use render::render;
pub use transaction::Transaction;

/// Map and set names of the skeleton, as upstream names them.
pub mod maps {
    pub const SERVICE_IPS: &str = "service-ips";
    pub const SERVICE_NODEPORTS: &str = "service-nodeports";
    pub const NO_ENDPOINT_SERVICES: &str = "no-endpoint-services";
    pub const NO_ENDPOINT_NODEPORTS: &str = "no-endpoint-nodeports";
    pub const CLUSTER_IPS: &str = "cluster-ips";
    pub const NODEPORT_IPS: &str = "nodeport-ips";
    /// `addr . addr` for every endpoint address: a DNATed packet whose
    /// source equals its new destination is hairpin traffic.
    pub const HAIRPIN: &str = "hairpin";
}

/// The table a proxy owns: `table <family> <name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Table {
    pub family: Family,
    pub name: String,
}

impl Table {
    pub fn new(family: Family, name: &str) -> Self {
        Self {
            family,
            name: name.to_string(),
        }
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.family.nft(), self.name)
    }
}

/// Rendering choices that apply to every service port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Pod CIDRs of the table's family: traffic from elsewhere to a cluster
    /// IP is masqueraded (upstream's `--cluster-cidr`).
    pub cluster_cidrs: Vec<Cidr>,
    /// Masquerade all traffic to cluster IPs (upstream's `--masquerade-all`).
    pub masquerade_all: bool,
}

/// An element of a skeleton map or set, keyed by the map and the key text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ElementKey {
    pub map: &'static str,
    pub key: String,
}

/// Everything one service port owns in the table.
/// Invariant: chain and set names embed the service port's name, so no two
/// service ports own the same chain, set or element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServicePortRules {
    /// Regular chains and their rules, in order.
    pub chains: BTreeMap<String, Vec<String>>,
    /// Affinity sets and their declaration (`{ type …; flags …; timeout … }`).
    pub sets: BTreeMap<String, String>,
    /// Map elements and their values (`goto <chain>`, `drop`).
    pub elements: BTreeMap<ElementKey, String>,
}

impl ServicePortRules {
    /// The rules as `nft list` would group them, for people to read.
    pub fn describe(&self, table: &Table) -> String {
        let mut out = String::new();
        for (key, value) in &self.elements {
            out.push_str(&format!(
                "element {table} {} {{ {} : {value} }}\n",
                key.map, key.key
            ));
        }
        for (name, body) in &self.sets {
            out.push_str(&format!("set {table} {name} {body}\n"));
        }
        for (name, rules) in &self.chains {
            out.push_str(&format!("chain {table} {name} {{\n"));
            for rule in rules {
                out.push_str(&format!("\t{rule}\n"));
            }
            out.push_str("}\n");
        }
        out
    }
}
