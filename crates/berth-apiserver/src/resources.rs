//! The table of served resources: every built-in type plus the custom
//! resources of established CRDs, looked up by group/version/plural.
//!
//! Invariant: the table is immutable once built; a CRD change builds a new
//! table and swaps it in, so a request sees one consistent table.

use std::collections::HashMap;
use std::sync::Arc;

use berth_api::{ResourceInfo, Strategy};

use crate::custom::CustomStrategy;

/// How a resource's objects are decoded, defaulted and validated.
#[derive(Clone)]
pub enum StrategyRef {
    Builtin(&'static dyn Strategy),
    Custom(Arc<CustomStrategy>),
}

impl std::ops::Deref for StrategyRef {
    type Target = dyn Strategy;
    fn deref(&self) -> &Self::Target {
        match self {
            StrategyRef::Builtin(s) => *s,
            StrategyRef::Custom(s) => s.as_ref(),
        }
    }
}

/// One served resource at one version.
pub struct Resource {
    pub info: ResourceInfo,
    pub strategy: StrategyRef,
    /// The group segment of store keys: resources served at several versions
    /// share it so every version sees the same objects.
    pub storage_group: String,
    /// Printer columns of a custom resource (`additionalPrinterColumns`).
    pub printer_columns: Vec<serde_json::Value>,
}

impl Resource {
    pub fn builtin(info: ResourceInfo) -> Self {
        let strategy = StrategyRef::Builtin(berth_api::strategy_for(&info.group, &info.kind));
        let storage_group = if info.group.is_empty() {
            "core".to_string()
        } else {
            info.group.clone()
        };
        Self {
            info,
            strategy,
            storage_group,
            printer_columns: Vec::new(),
        }
    }

    /// The store key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match namespace {
            Some(ns) if self.info.namespaced() => {
                format!("/{}/{}/{ns}/{name}", self.storage_group, self.info.plural)
            }
            _ => format!("/{}/{}/{name}", self.storage_group, self.info.plural),
        }
    }

    /// The store prefix of a collection (one namespace, or all).
    pub fn prefix(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.info.namespaced() => {
                format!("/{}/{}/{ns}/", self.storage_group, self.info.plural)
            }
            _ => format!("/{}/{}/", self.storage_group, self.info.plural),
        }
    }
}

/// Every resource the server answers, indexed for routing and discovery.
#[derive(Default)]
pub struct ResourceTable {
    ordered: Vec<Arc<Resource>>,
    by_gvr: HashMap<(String, String, String), Arc<Resource>>,
}

impl ResourceTable {
    pub fn new(resources: Vec<Resource>) -> Self {
        let ordered: Vec<Arc<Resource>> = resources.into_iter().map(Arc::new).collect();
        let by_gvr = ordered
            .iter()
            .map(|r| {
                let i = &r.info;
                (
                    (i.group.clone(), i.version.clone(), i.plural.clone()),
                    r.clone(),
                )
            })
            .collect();
        Self { ordered, by_gvr }
    }

    pub fn builtin() -> Self {
        Self::new(
            berth_api::resource::builtin()
                .into_iter()
                .map(Resource::builtin)
                .collect(),
        )
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<Resource>> {
        self.by_gvr
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    /// Resources in discovery order.
    pub fn all(&self) -> &[Arc<Resource>] {
        &self.ordered
    }

    /// The groups (excluding core) in discovery order, with their versions
    /// in the order first seen (the first is the preferred one).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for r in &self.ordered {
            let (g, v) = (&r.info.group, &r.info.version);
            if g.is_empty() {
                continue;
            }
            match out.iter_mut().find(|(name, _)| name == g) {
                Some((_, versions)) if !versions.contains(v) => versions.push(v.clone()),
                Some(_) => {}
                None => out.push((g.clone(), vec![v.clone()])),
            }
        }
        out
    }

    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Resource>> + 'a {
        self.ordered
            .iter()
            .filter(move |r| r.info.group == group && r.info.version == version)
    }

    /// Extends a table with more resources (e.g. custom ones), replacing any
    /// with the same group/version/plural.
    pub fn with(&self, extra: Vec<Resource>) -> Self {
        let extra: Vec<Arc<Resource>> = extra.into_iter().map(Arc::new).collect();
        let mut ordered: Vec<Arc<Resource>> = self
            .ordered
            .iter()
            .filter(|r| {
                !extra.iter().any(|e| {
                    e.info.group == r.info.group
                        && e.info.version == r.info.version
                        && e.info.plural == r.info.plural
                })
            })
            .cloned()
            .collect();
        ordered.extend(extra);
        let by_gvr = ordered
            .iter()
            .map(|r| {
                let i = &r.info;
                (
                    (i.group.clone(), i.version.clone(), i.plural.clone()),
                    r.clone(),
                )
            })
            .collect();
        Self { ordered, by_gvr }
    }
}
