//! The [`Catalog`]: the mutable side of the index. It holds the Services and
//! EndpointSlices seen so far, rebuilds the records of the one Service a
//! change touches, and publishes immutable [`Index`] snapshots.
//!
//! It is not the watcher (see `watch`), and it does no I/O: tests drive it
//! with objects directly.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::rr::Name;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::index::{Index, ServiceRecords, Zone};

/// The label tying an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// `(namespace, name)` of an object.
type ObjectKey = (String, String);

/// Services and EndpointSlices by key, and the records derived from them.
///
/// Invariants: `records` holds `ServiceRecords::build` of every Service in
/// `services` that has something to publish, keyed `<svc>.<ns>`; `reverse`
/// and `namespaces` are derived from `records` exactly as [`Index`] states.
#[derive(Debug)]
pub struct Catalog {
    zone: Arc<Zone>,
    services: HashMap<ObjectKey, Service>,
    /// Per Service key, its slices by slice name (sorted, for stable answers).
    slices: HashMap<ObjectKey, BTreeMap<String, EndpointSlice>>,
    /// Slice key → the Service key it was filed under.
    slice_owner: HashMap<ObjectKey, ObjectKey>,
    records: HashMap<Arc<str>, Arc<ServiceRecords>>,
    namespaces: HashMap<Arc<str>, usize>,
    reverse: HashMap<IpAddr, Arc<[Name]>>,
    serial: u32,
}

impl Catalog {
    /// An empty catalog of `zone`.
    pub fn new(zone: Zone) -> Self {
        Self {
            zone: Arc::new(zone),
            services: HashMap::new(),
            slices: HashMap::new(),
            slice_owner: HashMap::new(),
            records: HashMap::new(),
            namespaces: HashMap::new(),
            reverse: HashMap::new(),
            serial: 0,
        }
    }

    /// A ready index of exactly these objects (diagnostics, benchmarks).
    pub fn index_of(zone: Zone, services: &[Service], slices: &[EndpointSlice]) -> Index {
        let mut catalog = Self::new(zone);
        catalog.replace_services(services.to_vec());
        catalog.replace_slices(slices.to_vec());
        catalog.snapshot(true)
    }

    /// Adds or replaces a Service.
    pub fn apply_service(&mut self, service: Service) {
        let Some(key) = object_key(&service.metadata) else {
            return;
        };
        self.services.insert(key.clone(), service);
        self.rebuild(&key);
    }

    /// Removes a Service (its slices stay until they are deleted).
    pub fn delete_service(&mut self, service: &Service) {
        let Some(key) = object_key(&service.metadata) else {
            return;
        };
        self.services.remove(&key);
        self.rebuild(&key);
    }

    /// Replaces every Service (after a relist).
    pub fn replace_services(&mut self, services: Vec<Service>) {
        let old: Vec<ObjectKey> = self.services.drain().map(|(k, _)| k).collect();
        for service in services {
            if let Some(key) = object_key(&service.metadata) {
                self.services.insert(key, service);
            }
        }
        let keys: Vec<ObjectKey> = old
            .into_iter()
            .chain(self.services.keys().cloned())
            .collect();
        for key in keys {
            self.rebuild(&key);
        }
    }

    /// Adds or replaces an EndpointSlice.
    pub fn apply_slice(&mut self, slice: EndpointSlice) {
        let Some(key) = object_key(&slice.metadata) else {
            return;
        };
        let previous = self.remove_slice_entry(&key);
        let owner = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL))
            .map(|service| (key.0.clone(), service.clone()));
        if let Some(owner) = &owner {
            self.slice_owner.insert(key.clone(), owner.clone());
            self.slices
                .entry(owner.clone())
                .or_default()
                .insert(key.1.clone(), slice);
            self.rebuild(owner);
        }
        if let Some(previous) = previous.filter(|p| Some(p) != owner.as_ref()) {
            self.rebuild(&previous);
        }
    }

    /// Removes an EndpointSlice.
    pub fn delete_slice(&mut self, slice: &EndpointSlice) {
        let Some(key) = object_key(&slice.metadata) else {
            return;
        };
        if let Some(owner) = self.remove_slice_entry(&key) {
            self.rebuild(&owner);
        }
    }

    /// Replaces every EndpointSlice (after a relist).
    pub fn replace_slices(&mut self, slices: Vec<EndpointSlice>) {
        let owners: Vec<ObjectKey> = self.slices.keys().cloned().collect();
        self.slices.clear();
        self.slice_owner.clear();
        for slice in slices {
            let Some(key) = object_key(&slice.metadata) else {
                continue;
            };
            let Some(service) = slice
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SERVICE_NAME_LABEL))
            else {
                continue;
            };
            let owner = (key.0.clone(), service.clone());
            self.slice_owner.insert(key.clone(), owner.clone());
            self.slices.entry(owner).or_default().insert(key.1, slice);
        }
        let keys: Vec<ObjectKey> = owners
            .into_iter()
            .chain(self.slices.keys().cloned())
            .collect();
        for key in keys {
            self.rebuild(&key);
        }
    }

    /// A snapshot of the records; `ready` says whether both kinds were listed.
    pub fn snapshot(&mut self, ready: bool) -> Index {
        self.serial = self.serial.wrapping_add(1);
        Index {
            zone: self.zone.clone(),
            services: self.records.clone(),
            namespaces: self.namespaces.clone(),
            reverse: self.reverse.clone(),
            serial: self.serial,
            ready,
        }
    }

    /// Forgets a slice; returns the Service it was filed under.
    fn remove_slice_entry(&mut self, key: &ObjectKey) -> Option<ObjectKey> {
        let owner = self.slice_owner.remove(key)?;
        if let Some(slices) = self.slices.get_mut(&owner) {
            slices.remove(&key.1);
            if slices.is_empty() {
                self.slices.remove(&owner);
            }
        }
        Some(owner)
    }

    /// Recomputes the records of the Service `key` and the derived maps.
    fn rebuild(&mut self, key: &ObjectKey) {
        let name: Arc<str> = Arc::from(format!("{}.{}", key.1, key.0).to_ascii_lowercase());
        let slices: Vec<&EndpointSlice> = self
            .slices
            .get(key)
            .map(|s| s.values().collect())
            .unwrap_or_default();
        let built = self
            .services
            .get(key)
            .and_then(|service| ServiceRecords::build(&self.zone, service, &slices))
            .map(Arc::new);
        let old = match &built {
            Some(records) => self.records.insert(name, records.clone()),
            None => self.records.remove(&name),
        };
        if old.as_ref() == built.as_ref() {
            return;
        }
        if let Some(old) = old {
            self.forget(&old);
        }
        if let Some(new) = built {
            self.remember(&new);
        }
    }

    fn forget(&mut self, records: &ServiceRecords) {
        if let Some(count) = self.namespaces.get_mut(&records.namespace) {
            *count -= 1;
            if *count == 0 {
                self.namespaces.remove(&records.namespace);
            }
        }
        for (ip, name) in records.reverse_entries() {
            let Some(names) = self.reverse.get(&ip) else {
                continue;
            };
            let rest: Vec<Name> = names.iter().filter(|n| *n != name).cloned().collect();
            if rest.is_empty() {
                self.reverse.remove(&ip);
            } else {
                self.reverse.insert(ip, rest.into());
            }
        }
    }

    fn remember(&mut self, records: &ServiceRecords) {
        *self
            .namespaces
            .entry(records.namespace.clone())
            .or_default() += 1;
        for (ip, name) in records.reverse_entries() {
            let mut names: Vec<Name> = self
                .reverse
                .get(&ip)
                .map(|n| n.to_vec())
                .unwrap_or_default();
            if !names.contains(name) {
                names.push(name.clone());
            }
            self.reverse.insert(ip, names.into());
        }
    }
}

fn object_key(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<ObjectKey> {
    Some((meta.namespace.clone()?, meta.name.clone()?))
}

#[cfg(test)]
mod tests;
