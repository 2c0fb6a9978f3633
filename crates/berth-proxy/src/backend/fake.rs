//! A fake nft for unit tests: records every transaction and interprets the
//! command subset the proxy writes, with nft's strictness where it matters
//! (a transaction is all or nothing; chains, sets and elements must exist
//! before they are used or removed; a referenced chain cannot be deleted).

use std::collections::BTreeMap;

use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{BackendError, RuleBackend};

/// The interpreted content of one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeTable {
    pub chains: BTreeMap<String, Vec<String>>,
    pub sets: BTreeMap<String, String>,
    /// (map, key) → value (`None` for set elements).
    pub elements: BTreeMap<(String, String), Option<String>>,
}

#[derive(Debug, Default)]
struct State {
    transactions: Vec<String>,
    tables: BTreeMap<String, FakeTable>,
    fail_next: Option<String>,
}

/// Records transactions; see the module docs.
#[derive(Debug, Default)]
pub struct FakeBackend {
    state: Mutex<State>,
}

impl FakeBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every transaction applied successfully, in order.
    pub fn transactions(&self) -> Vec<String> {
        self.lock().transactions.clone()
    }

    /// The table `family name` (`"ip berth"`) as the commands left it.
    pub fn table(&self, table: &str) -> Option<FakeTable> {
        self.lock().tables.get(table).cloned()
    }

    /// Makes the next `apply` fail with `message`.
    pub fn fail_next(&self, message: &str) {
        self.lock().fail_next = Some(message.to_string());
    }

    /// The fake never holds the lock across an await.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn rejected(stderr: String) -> BackendError {
    BackendError::Nft {
        action: "-f",
        status: "exit status: 1".into(),
        stderr,
    }
}

#[async_trait::async_trait]
impl RuleBackend for FakeBackend {
    async fn apply(&self, transaction: &str) -> Result<(), BackendError> {
        let mut state = self.lock();
        if let Some(message) = state.fail_next.take() {
            return Err(rejected(message));
        }
        let mut tables = state.tables.clone();
        for line in transaction.lines().filter(|l| !l.trim().is_empty()) {
            command(&mut tables, line).map_err(|e| rejected(format!("{line}: {e}")))?;
        }
        state.tables = tables;
        state.transactions.push(transaction.to_string());
        Ok(())
    }

    async fn list(&self, object: &str) -> Result<String, BackendError> {
        let words: Vec<&str> = object.split_whitespace().collect();
        let ["chain", family, table, chain] = words.as_slice() else {
            return Err(rejected(format!(
                "fake list supports chains only: {object}"
            )));
        };
        let key = format!("{family} {table}");
        let state = self.lock();
        let rules = state
            .tables
            .get(&key)
            .and_then(|t| t.chains.get(*chain))
            .ok_or_else(|| rejected(format!("No such file or directory: {object}")))?;
        let mut out = format!("table {key} {{\n\tchain {chain} {{\n");
        for rule in rules {
            out.push_str(&format!("\t\t{rule}\n"));
        }
        out.push_str("\t}\n}\n");
        Ok(out)
    }
}

/// Applies one command line to `tables`.
fn command(tables: &mut BTreeMap<String, FakeTable>, line: &str) -> Result<(), String> {
    let mut words = line.splitn(5, ' ');
    let verb = words.next().unwrap_or_default();
    let object = words.next().unwrap_or_default();
    let table = format!(
        "{} {}",
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default()
    );
    let rest = words.next().unwrap_or_default();
    if object == "table" {
        return match verb {
            "add" => {
                tables.entry(table).or_default();
                Ok(())
            }
            "delete" => tables
                .remove(&table)
                .map(drop)
                .ok_or("no such table".into()),
            _ => Err(format!("unsupported: {verb} table")),
        };
    }
    let t = tables.get_mut(&table).ok_or("no such table")?;
    let (name, body) = rest.split_once(' ').unwrap_or((rest, ""));
    match (verb, object) {
        ("add", "chain") => {
            t.chains.entry(name.to_string()).or_default();
        }
        ("add", "map" | "set") => {
            t.sets.insert(name.to_string(), body.to_string());
        }
        ("add", "rule") => add_rule(t, name, body)?,
        ("flush", "chain") => t.chains.get_mut(name).ok_or("no such chain")?.clear(),
        ("delete", "chain") => delete_chain(t, name)?,
        ("delete", "set") => t.sets.remove(name).map(drop).ok_or("no such set")?,
        ("add", "element") => add_elements(t, name, body)?,
        ("delete", "element") => delete_elements(t, name, body)?,
        _ => return Err(format!("unsupported: {verb} {object}")),
    }
    Ok(())
}

fn add_rule(t: &mut FakeTable, chain: &str, rule: &str) -> Result<(), String> {
    for target in references(rule) {
        if !t.chains.contains_key(target) {
            return Err(format!("no such chain {target}"));
        }
    }
    for set in rule.split_whitespace().filter_map(|w| w.strip_prefix('@')) {
        if !t.sets.contains_key(set) {
            return Err(format!("no such set {set}"));
        }
    }
    t.chains
        .get_mut(chain)
        .ok_or("no such chain")?
        .push(rule.to_string());
    Ok(())
}

fn delete_chain(t: &mut FakeTable, name: &str) -> Result<(), String> {
    if !t.chains.get(name).ok_or("no such chain")?.is_empty() {
        return Err("chain not empty".into());
    }
    let in_rules = t
        .chains
        .values()
        .flatten()
        .any(|r| references(r).any(|c| c == name));
    let in_elements = t
        .elements
        .values()
        .flatten()
        .any(|v| references(v).any(|c| c == name));
    if in_rules || in_elements {
        return Err("Device or resource busy (chain still referenced)".into());
    }
    t.chains.remove(name);
    Ok(())
}

/// Chains named after `goto`/`jump` in `text`.
fn references(text: &str) -> impl Iterator<Item = &str> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    for pair in words.windows(2) {
        if matches!(pair[0], "goto" | "jump") {
            out.push(pair[1].trim_end_matches([',', '}']));
        }
    }
    out.into_iter()
}

fn entries(body: &str) -> impl Iterator<Item = &str> {
    let inner = body.trim().trim_start_matches('{').trim_end_matches('}');
    inner.split(", ").map(str::trim).filter(|e| !e.is_empty())
}

fn add_elements(t: &mut FakeTable, map: &str, body: &str) -> Result<(), String> {
    if !t.sets.contains_key(map) {
        return Err(format!("no such map {map}"));
    }
    for entry in entries(body) {
        let (key, value) = match entry.split_once(" : ") {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (entry, None),
        };
        if let Some(target) = value.as_deref().and_then(|v| references(v).next())
            && !t.chains.contains_key(target)
        {
            return Err(format!("no such chain {target}"));
        }
        let slot = (map.to_string(), key.to_string());
        if t.elements.get(&slot).is_some_and(|old| *old != value) {
            return Err(format!("element {key} exists with another value"));
        }
        t.elements.insert(slot, value);
    }
    Ok(())
}

fn delete_elements(t: &mut FakeTable, map: &str, body: &str) -> Result<(), String> {
    for key in entries(body) {
        t.elements
            .remove(&(map.to_string(), key.to_string()))
            .ok_or(format!("no such element {key}"))?;
    }
    Ok(())
}
