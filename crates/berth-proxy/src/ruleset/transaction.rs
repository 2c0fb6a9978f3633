//! One `nft -f` transaction, built in an order that is always valid:
//! things are declared before anything refers to them and removed only
//! after every reference is gone.
//!
//! Phases: reset (full syncs only), declare sets, declare chains, write
//! chain rules, delete elements, add elements, flush removed chains, delete
//! removed chains, delete removed sets.

use std::collections::BTreeMap;

use super::{ElementKey, Table};

const PHASES: usize = 9;
const RESET: usize = 0;
const ADD_SET: usize = 1;
const ADD_CHAIN: usize = 2;
const RULES: usize = 3;
const DELETE_ELEMENT: usize = 4;
const ADD_ELEMENT: usize = 5;
const FLUSH_REMOVED: usize = 6;
const DELETE_CHAIN: usize = 7;
const DELETE_SET: usize = 8;

/// Commands for one table, one per line, applied atomically by nft.
#[derive(Debug, Clone)]
pub struct Transaction {
    table: Table,
    phases: [Vec<String>; PHASES],
    /// Elements added in bulk (full syncs): map → `key : value` entries.
    bulk: BTreeMap<&'static str, Vec<String>>,
}

impl Transaction {
    pub fn new(table: &Table) -> Self {
        Self {
            table: table.clone(),
            phases: Default::default(),
            bulk: BTreeMap::new(),
        }
    }

    /// Replaces whatever the table held with an empty table.
    pub fn reset_table(&mut self) {
        let t = &self.table;
        let reset = &mut self.phases[RESET];
        reset.push(format!("add table {t}"));
        reset.push(format!("delete table {t}"));
        reset.push(format!("add table {t}"));
    }

    /// A raw command that runs right after the reset (the skeleton).
    pub fn push_skeleton(&mut self, command: String) {
        self.phases[RESET].push(command);
    }

    pub fn add_set(&mut self, name: &str, declaration: &str) {
        let t = &self.table;
        self.phases[ADD_SET].push(format!("add set {t} {name} {declaration}"));
    }

    pub fn delete_set(&mut self, name: &str) {
        let t = &self.table;
        self.phases[DELETE_SET].push(format!("delete set {t} {name}"));
    }

    /// Declares a new chain and writes its rules.
    pub fn add_chain(&mut self, name: &str, rules: &[String]) {
        let t = &self.table;
        self.phases[ADD_CHAIN].push(format!("add chain {t} {name}"));
        self.write_rules(name, rules);
    }

    /// Replaces the rules of an existing chain.
    pub fn replace_chain(&mut self, name: &str, rules: &[String]) {
        let t = &self.table;
        self.phases[RULES].push(format!("flush chain {t} {name}"));
        self.write_rules(name, rules);
    }

    fn write_rules(&mut self, name: &str, rules: &[String]) {
        let t = &self.table;
        let phase = &mut self.phases[RULES];
        phase.extend(rules.iter().map(|r| format!("add rule {t} {name} {r}")));
    }

    pub fn delete_chain(&mut self, name: &str) {
        let t = &self.table;
        self.phases[FLUSH_REMOVED].push(format!("flush chain {t} {name}"));
        self.phases[DELETE_CHAIN].push(format!("delete chain {t} {name}"));
    }

    /// Adds a map element (`value` set) or a set element (`value` none).
    pub fn add_element(&mut self, key: &ElementKey, value: Option<&str>) {
        let t = &self.table;
        let entry = element_text(&key.key, value);
        self.phases[ADD_ELEMENT].push(format!("add element {t} {} {{ {entry} }}", key.map));
    }

    /// Queues an element for one bulk `add element` per map.
    pub fn add_element_bulk(&mut self, key: &ElementKey, value: Option<&str>) {
        let entry = element_text(&key.key, value);
        self.bulk.entry(key.map).or_default().push(entry);
    }

    pub fn delete_element(&mut self, key: &ElementKey) {
        let t = &self.table;
        let k = &key.key;
        self.phases[DELETE_ELEMENT].push(format!("delete element {t} {} {{ {k} }}", key.map));
    }

    pub fn is_empty(&self) -> bool {
        self.phases.iter().all(Vec::is_empty) && self.bulk.is_empty()
    }

    /// The number of commands (bulk element lists count once per map).
    pub fn len(&self) -> usize {
        self.phases.iter().map(Vec::len).sum::<usize>() + self.bulk.len()
    }

    /// The `nft -f` text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (i, phase) in self.phases.iter().enumerate() {
            if i == ADD_ELEMENT {
                self.write_bulk(&mut out);
            }
            for line in phase {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    fn write_bulk(&self, out: &mut String) {
        let t = &self.table;
        for (map, entries) in &self.bulk {
            out.push_str(&format!(
                "add element {t} {map} {{ {} }}\n",
                entries.join(", ")
            ));
        }
    }
}

fn element_text(key: &str, value: Option<&str>) -> String {
    match value {
        Some(v) => format!("{key} : {v}"),
        None => key.to_string(),
    }
}
