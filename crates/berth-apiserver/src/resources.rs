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
    /// Where the scale subresource reads and writes replicas.
    pub scale: ScalePaths,
    /// Converts a stored object written at another version of this
    /// resource (resources served at several versions share storage).
    pub convert: Option<fn(&mut serde_json::Value, &str)>,
}

/// JSON paths (`.spec.replicas`) of the scale subresource's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    /// Empty when the resource has no selector to report.
    pub label_selector: String,
}

impl Default for ScalePaths {
    fn default() -> Self {
        Self {
            spec_replicas: ".spec.replicas".into(),
            status_replicas: ".status.replicas".into(),
            label_selector: ".spec.selector".into(),
        }
    }
}

impl Resource {
    pub fn builtin(info: ResourceInfo) -> Self {
        let strategy = StrategyRef::Builtin(berth_api::strategy_for(&info.group, &info.kind));
        let storage_group = crate::conversion::storage_group(&info);
        let convert = crate::conversion::for_resource(&info);
        Self {
            info,
            strategy,
            storage_group,
            printer_columns: Vec::new(),
            scale: ScalePaths::default(),
            convert,
        }
    }

    /// The wire bytes of a stored object as this resource's version serves it.
    pub fn wire(&self, kv: &berth_store::KeyValue) -> Vec<u8> {
        match self.convert_stored(&kv.value, kv.mod_revision) {
            Some(bytes) => bytes,
            None => crate::object::wire_bytes(kv),
        }
    }

    /// Appends the wire bytes of a stored value to `out`.
    pub fn write_wire(&self, out: &mut Vec<u8>, stored: &[u8], revision: i64) {
        match self.convert_stored(stored, revision) {
            Some(bytes) => out.extend_from_slice(&bytes),
            None => crate::object::write_wire(out, stored, revision),
        }
    }

    /// The object as this resource serves it, when the stored form differs
    /// (`None` when it does not: use the stored bytes as they are).
    pub fn view(&self, stored: &[u8]) -> Option<serde_json::Value> {
        self.convert?;
        let mut obj: serde_json::Value = serde_json::from_slice(stored).ok()?;
        if obj.get("apiVersion").and_then(serde_json::Value::as_str)
            == Some(self.info.api_version().as_str())
        {
            return Some(obj);
        }
        (self.convert?)(&mut obj, &self.info.version);
        crate::object::set_str(&mut obj, &["apiVersion"], &self.info.api_version());
        Some(obj)
    }

    /// The converted wire form when the stored object is at another version.
    fn convert_stored(&self, stored: &[u8], revision: i64) -> Option<Vec<u8>> {
        let convert = self.convert?;
        let mut obj: serde_json::Value = serde_json::from_slice(stored).ok()?;
        if obj.get("apiVersion").and_then(serde_json::Value::as_str)
            == Some(self.info.api_version().as_str())
        {
            return None;
        }
        convert(&mut obj, &self.info.version);
        crate::object::set_str(&mut obj, &["apiVersion"], &self.info.api_version());
        crate::object::set_str(
            &mut obj,
            &["metadata", "resourceVersion"],
            &revision.to_string(),
        );
        serde_json::to_vec(&obj).ok()
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
