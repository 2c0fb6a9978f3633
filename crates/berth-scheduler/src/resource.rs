//! Resource amounts and a pod's effective request, computed as upstream does.
//!
//! A pod's effective request is
//! `max(sum(app containers) + sum(sidecars), max over init containers of the
//! init container plus the sidecars started before it) + overhead`, where a
//! sidecar is an init container with `restartPolicy: Always`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::quantity::{self, QuantityError};

/// Resource names the scheduler accounts natively.
pub const CPU: &str = "cpu";
/// Memory, in bytes.
pub const MEMORY: &str = "memory";
/// Local ephemeral storage, in bytes.
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
/// The number of pods a node admits.
pub const PODS: &str = "pods";

/// CPU assumed for a container without a CPU request when scoring (100m).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Memory assumed for a container without a memory request when scoring (200 MiB).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// An amount of each resource. CPU is in millicores, everything else in units.
///
/// `scalar` holds extended resources (`example.com/gpu`), hugepages and other
/// resources the scheduler only counts; it never holds zero entries that were
/// not explicitly requested.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resource {
    /// CPU in millicores.
    pub milli_cpu: i64,
    /// Memory in bytes.
    pub memory: i64,
    /// Ephemeral storage in bytes.
    pub ephemeral_storage: i64,
    /// Pods admitted (meaningful for allocatable only).
    pub allowed_pod_number: i64,
    /// Every other countable resource by name.
    pub scalar: BTreeMap<String, i64>,
}

/// Why a resource list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resource {name}: {source}")]
pub struct ResourceError {
    /// The resource name whose quantity is malformed.
    pub name: String,
    /// The parse failure.
    #[source]
    pub source: QuantityError,
}

impl Resource {
    /// Reads a `ResourceList` (node allocatable or container requests).
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Result<Self, ResourceError> {
        let mut resource = Resource::default();
        resource.add_list(list)?;
        Ok(resource)
    }

    /// Adds every entry of a `ResourceList`.
    pub fn add_list(&mut self, list: &BTreeMap<String, Quantity>) -> Result<(), ResourceError> {
        for (name, q) in list {
            let err = |source| ResourceError {
                name: name.clone(),
                source,
            };
            match name.as_str() {
                CPU => self.milli_cpu += quantity::milli_value(q).map_err(err)?,
                MEMORY => self.memory += quantity::value(q).map_err(err)?,
                EPHEMERAL_STORAGE => self.ephemeral_storage += quantity::value(q).map_err(err)?,
                PODS => self.allowed_pod_number += quantity::value(q).map_err(err)?,
                other if is_scalar_resource_name(other) => {
                    *self.scalar.entry(other.to_owned()).or_default() +=
                        quantity::value(q).map_err(err)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Adds `other` to `self`, resource by resource.
    pub fn add(&mut self, other: &Resource) {
        self.milli_cpu += other.milli_cpu;
        self.memory += other.memory;
        self.ephemeral_storage += other.ephemeral_storage;
        self.allowed_pod_number += other.allowed_pod_number;
        for (name, v) in &other.scalar {
            *self.scalar.entry(name.clone()).or_default() += v;
        }
    }

    /// Subtracts `other` from `self`, resource by resource.
    pub fn sub(&mut self, other: &Resource) {
        self.milli_cpu -= other.milli_cpu;
        self.memory -= other.memory;
        self.ephemeral_storage -= other.ephemeral_storage;
        self.allowed_pod_number -= other.allowed_pod_number;
        for (name, v) in &other.scalar {
            *self.scalar.entry(name.clone()).or_default() -= v;
        }
    }

    /// Raises each resource of `self` to at least the one in `other`.
    pub fn set_max(&mut self, other: &Resource) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        for (name, v) in &other.scalar {
            let entry = self.scalar.entry(name.clone()).or_default();
            *entry = (*entry).max(*v);
        }
    }

    /// The amount of one resource by name (`cpu` in millicores).
    pub fn get(&self, name: &str) -> i64 {
        match name {
            CPU => self.milli_cpu,
            MEMORY => self.memory,
            EPHEMERAL_STORAGE => self.ephemeral_storage,
            PODS => self.allowed_pod_number,
            other => self.scalar.get(other).copied().unwrap_or(0),
        }
    }

    /// True when nothing at all is requested.
    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.values().all(|v| *v == 0)
    }
}

/// Extended resources, hugepages, `kubernetes.io/`-prefixed and attachable
/// volume resources: everything counted by name rather than natively.
pub fn is_scalar_resource_name(name: &str) -> bool {
    !matches!(name, CPU | MEMORY | EPHEMERAL_STORAGE | PODS | "storage")
        && !name.starts_with("requests.")
}

/// How missing container requests are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingRequests {
    /// Missing means zero (what the node must reserve).
    Zero,
    /// Missing cpu/memory count as 100m/200Mi (what scoring assumes).
    NonZeroDefaults,
}

/// A pod's effective request following upstream's rules (see module docs).
pub fn pod_requests(pod: &Pod, missing: MissingRequests) -> Result<Resource, ResourceError> {
    let Some(spec) = pod.spec.as_ref() else {
        return Ok(Resource::default());
    };
    let mut requests = Resource::default();
    for container in &spec.containers {
        requests.add(&container_requests(container, missing)?);
    }
    let mut sidecars = Resource::default();
    let mut init_peak = Resource::default();
    for container in spec.init_containers.iter().flatten() {
        let own = container_requests(container, missing)?;
        let during_init = if is_restartable(container) {
            requests.add(&own);
            sidecars.add(&own);
            sidecars.clone()
        } else {
            let mut total = own;
            total.add(&sidecars);
            total
        };
        init_peak.set_max(&during_init);
    }
    requests.set_max(&init_peak);
    if let Some(overhead) = spec.overhead.as_ref() {
        requests.add(&Resource::from_list(overhead)?);
    }
    Ok(requests)
}

/// True for a sidecar: an init container with `restartPolicy: Always`.
pub fn is_restartable(container: &Container) -> bool {
    container.restart_policy.as_deref() == Some("Always")
}

fn container_requests(
    container: &Container,
    missing: MissingRequests,
) -> Result<Resource, ResourceError> {
    let list = container
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref());
    let mut resource = match list {
        Some(list) => Resource::from_list(list)?,
        None => Resource::default(),
    };
    if missing == MissingRequests::NonZeroDefaults {
        let has = |name| list.is_some_and(|l| l.contains_key(name));
        if !has(CPU) {
            resource.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
        }
        if !has(MEMORY) {
            resource.memory = DEFAULT_MEMORY_REQUEST;
        }
    }
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pod;

    const MI: i64 = 1 << 20;

    fn requests(p: &Pod) -> Resource {
        pod_requests(p, MissingRequests::Zero).unwrap_or_default()
    }

    #[test]
    fn app_containers_should_be_summed() {
        let p = pod("a").req("100m", "128Mi").req("250m", "64Mi").build();
        let r = requests(&p);
        assert_eq!((r.milli_cpu, r.memory), (350, 192 * MI));
    }

    #[test]
    fn init_container_larger_than_app_containers_should_dominate() {
        let p = pod("a").req("100m", "128Mi").init("2", "64Mi").build();
        let r = requests(&p);
        assert_eq!((r.milli_cpu, r.memory), (2000, 128 * MI));
    }

    #[test]
    fn sidecars_should_add_to_app_containers_and_later_init_containers() {
        // sidecar 500m runs alongside the app (100m) and the later init (1): peak = max(600m, 1500m).
        let p = pod("a")
            .req("100m", "100Mi")
            .sidecar("500m", "50Mi")
            .init("1", "10Mi")
            .build();
        let r = requests(&p);
        assert_eq!((r.milli_cpu, r.memory), (1500, 150 * MI));
    }

    #[test]
    fn init_containers_before_a_sidecar_should_not_include_it() {
        let p = pod("a")
            .req("100m", "100Mi")
            .init("1", "10Mi")
            .sidecar("500m", "50Mi")
            .build();
        let r = requests(&p);
        assert_eq!((r.milli_cpu, r.memory), (1000, 150 * MI));
    }

    #[test]
    fn overhead_should_be_added_after_the_max() {
        let p = pod("a")
            .req("100m", "100Mi")
            .init("1", "10Mi")
            .overhead("250m", "20Mi")
            .build();
        let r = requests(&p);
        assert_eq!((r.milli_cpu, r.memory), (1250, 120 * MI));
    }

    #[test]
    fn extended_resources_should_be_counted_as_scalars() {
        let p = pod("a").ext_req("example.com/gpu", "2").build();
        assert_eq!(requests(&p).get("example.com/gpu"), 2);
    }

    #[test]
    fn missing_requests_should_default_only_for_scoring() {
        let p = pod("a").container().req("", "64Mi").build();
        let zero = requests(&p);
        assert_eq!((zero.milli_cpu, zero.memory), (0, 64 * MI));
        let scored = pod_requests(&p, MissingRequests::NonZeroDefaults).unwrap_or_default();
        assert_eq!(
            (scored.milli_cpu, scored.memory),
            (
                2 * DEFAULT_MILLI_CPU_REQUEST,
                DEFAULT_MEMORY_REQUEST + 64 * MI
            )
        );
    }
}
