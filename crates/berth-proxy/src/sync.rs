//! Programs one table from a [`DesiredState`]: a full sync the first time
//! (and after any failure), then incremental transactions that touch only
//! the service ports whose plan changed.
//!
//! State machine: `programmed == None` means the table's content is unknown
//! and the next sync rebuilds it in one transaction; `Some` is exactly what
//! the last successful transaction left in the kernel.

mod diff;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use crate::backend::RuleBackend;
use crate::error::ProxyError;
use crate::model::{DesiredState, ServicePortName, ServicePortPlan};
use crate::ruleset::{RenderOptions, ServicePortRules, Table, Transaction, base_commands, render};

/// What the table holds for one service port.
#[derive(Debug, Clone)]
pub struct Programmed {
    pub plan: ServicePortPlan,
    pub rules: Arc<ServicePortRules>,
}

/// What the last successful transaction left in the table.
#[derive(Debug, Clone, Default)]
struct TableState {
    nodeport_ips: BTreeSet<IpAddr>,
    cluster_ips: BTreeSet<IpAddr>,
    /// Endpoint addresses (the `hairpin` set holds `addr . addr`).
    hairpin: BTreeSet<IpAddr>,
    service_ports: BTreeMap<ServicePortName, Programmed>,
}

/// What one sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncReport {
    pub full: bool,
    /// Service ports whose rules were (re)written or removed.
    pub changed_service_ports: usize,
    /// Commands in the transaction (0: nothing to do, nft not run).
    pub commands: usize,
}

/// Keeps one table in line with the desired state.
pub struct Syncer<B> {
    backend: B,
    table: Table,
    options: RenderOptions,
    programmed: Option<TableState>,
}

impl<B: RuleBackend> Syncer<B> {
    pub fn new(backend: B, table: Table, options: RenderOptions) -> Self {
        Self {
            backend,
            table,
            options,
            programmed: None,
        }
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The rules last programmed for `name`, if any.
    pub fn programmed(&self, name: &ServicePortName) -> Option<&Programmed> {
        self.programmed.as_ref()?.service_ports.get(name)
    }

    /// Forgets what the table holds: the next sync is a full one.
    pub fn invalidate(&mut self) {
        self.programmed = None;
    }

    /// Brings the table in line with `desired` in one transaction.
    pub async fn sync(&mut self, desired: &DesiredState) -> Result<SyncReport, ProxyError> {
        let (tx, changes) = match &self.programmed {
            None => self.full(desired),
            Some(state) => diff::incremental(&self.table, &self.options, state, desired)
                .unwrap_or_else(|| self.full(desired)),
        };
        let report = SyncReport {
            full: changes.reset,
            changed_service_ports: changes.service_ports.len(),
            commands: tx.len(),
        };
        if tx.is_empty() {
            return Ok(report);
        }
        let applied = self.backend.apply(&tx.text()).await;
        if let Err(source) = applied {
            self.programmed = None;
            return Err(ProxyError::Backend {
                table: self.table.to_string(),
                source,
            });
        }
        let state = self.programmed.get_or_insert_with(TableState::default);
        changes.commit(state, desired);
        Ok(report)
    }

    fn full(&self, desired: &DesiredState) -> (Transaction, diff::Changes) {
        let mut tx = Transaction::new(&self.table);
        tx.reset_table();
        for command in base_commands(&self.table) {
            tx.push_skeleton(command);
        }
        let mut changes = diff::Changes::default();
        for (name, plan) in &desired.plans {
            let rules = Arc::new(render(plan, &self.options));
            diff::write_new(&mut tx, &rules);
            changes.service_ports.insert(
                name.clone(),
                Some(Programmed {
                    plan: plan.clone(),
                    rules,
                }),
            );
        }
        diff::write_globals(&mut tx, &TableState::default(), desired, true);
        changes.reset = true;
        (tx, changes)
    }
}

#[cfg(test)]
mod tests;
