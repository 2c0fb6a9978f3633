//! Resource-based node scoring shared by NodeResourcesFit and
//! NodeResourcesBalancedAllocation (upstream's `resourceAllocationScorer`).

use crate::framework::MAX_NODE_SCORE;
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::resource::{CPU, EPHEMERAL_STORAGE, MEMORY, is_scalar_resource_name};

/// A resource considered by scoring, with its weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSpec {
    /// Resource name (`cpu`, `memory`, `example.com/gpu`).
    pub name: String,
    /// Weight in the average (≥ 1).
    pub weight: i64,
}

impl ResourceSpec {
    /// A weighted resource.
    pub fn new(name: &str, weight: i64) -> Self {
        Self {
            name: name.to_owned(),
            weight,
        }
    }

    /// cpu and memory, weight 1 each: upstream's default.
    pub fn defaults() -> Vec<ResourceSpec> {
        vec![Self::new(CPU, 1), Self::new(MEMORY, 1)]
    }
}

/// A point of the RequestedToCapacityRatio shape: utilization (0-100) → score (0-10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtilizationShapePoint {
    /// Utilization percentage.
    pub utilization: i64,
    /// Score at that utilization, 0-10.
    pub score: i64,
}

/// The largest score of a shape point.
pub const MAX_CUSTOM_PRIORITY_SCORE: i64 = 10;
const MAX_UTILIZATION: i64 = 100;

/// `(allocatable, requested-after-placing-the-pod)` per resource; a pair of
/// zeros means "ignore this resource". `use_requested` selects real requests
/// instead of the non-zero scoring defaults for cpu and memory.
pub fn allocatable_and_requested(
    node: &NodeInfo,
    pod: &PodInfo,
    resources: &[ResourceSpec],
    use_requested: bool,
) -> Usage {
    let node_requested = if use_requested {
        node.requested()
    } else {
        node.non_zero_requested()
    };
    let pod_requested = if use_requested {
        &pod.requests
    } else {
        &pod.non_zero_requests
    };
    let mut usage = Usage::default();
    for spec in resources {
        let name = spec.name.as_str();
        let pod_request = pod_requested.get(name);
        let (a, r) = match name {
            CPU | MEMORY => (
                node.allocatable().get(name),
                node_requested.get(name) + pod_request,
            ),
            EPHEMERAL_STORAGE => (
                node.allocatable().ephemeral_storage,
                node.requested().ephemeral_storage + pod_request,
            ),
            _ if pod_request == 0 && is_scalar_resource_name(name) => (0, 0),
            _ => match node.allocatable().scalar.get(name) {
                Some(a) => (*a, node.requested().get(name) + pod_request),
                None => (0, 0),
            },
        };
        usage.push(a, r);
    }
    usage
}

/// Resources scored inline (on the stack); more spill to the heap. Scoring
/// runs per node per cycle, so the usual two resources must not allocate.
const INLINE_RESOURCES: usize = 4;

/// `(allocatable, requested)` per scored resource, in the order of the specs.
#[derive(Debug, Default)]
pub struct Usage {
    len: usize,
    inline: [[i64; INLINE_RESOURCES]; 2],
    spilled: Option<[Vec<i64>; 2]>,
}

impl Usage {
    fn push(&mut self, allocatable: i64, requested: i64) {
        if let Some([a, r]) = self.spilled.as_mut() {
            a.push(allocatable);
            r.push(requested);
        } else if self.len < INLINE_RESOURCES {
            self.inline[0][self.len] = allocatable;
            self.inline[1][self.len] = requested;
            self.len += 1;
        } else {
            let mut a = self.inline[0][..self.len].to_vec();
            let mut r = self.inline[1][..self.len].to_vec();
            a.push(allocatable);
            r.push(requested);
            self.spilled = Some([a, r]);
        }
    }

    /// Allocatable per resource.
    pub fn allocatable(&self) -> &[i64] {
        match &self.spilled {
            Some([a, _]) => a,
            None => &self.inline[0][..self.len],
        }
    }

    /// Requested (with the pod) per resource.
    pub fn requested(&self) -> &[i64] {
        match &self.spilled {
            Some([_, r]) => r,
            None => &self.inline[1][..self.len],
        }
    }
}

/// Weighted average of `(allocatable - requested) / allocatable × 100`.
pub fn least_allocated(resources: &[ResourceSpec], allocatable: &[i64], requested: &[i64]) -> i64 {
    weighted_average(resources, allocatable, requested, |r, a| {
        if r > a {
            0
        } else {
            (a - r) * MAX_NODE_SCORE / a
        }
    })
}

/// Weighted average of `requested / allocatable × 100` (capped at 100).
pub fn most_allocated(resources: &[ResourceSpec], allocatable: &[i64], requested: &[i64]) -> i64 {
    weighted_average(resources, allocatable, requested, |r, a| {
        r.min(a) * MAX_NODE_SCORE / a
    })
}

fn weighted_average(
    resources: &[ResourceSpec],
    allocatable: &[i64],
    requested: &[i64],
    score: impl Fn(i64, i64) -> i64,
) -> i64 {
    let (mut total, mut weights) = (0, 0);
    for ((spec, &a), &r) in resources.iter().zip(allocatable).zip(requested) {
        if a == 0 {
            continue;
        }
        total += score(r, a) * spec.weight;
        weights += spec.weight;
    }
    if weights == 0 { 0 } else { total / weights }
}

/// Scores by a broken-linear function of utilization; resources scoring 0
/// are left out of the weighted average, which is rounded.
pub fn requested_to_capacity_ratio(
    resources: &[ResourceSpec],
    shape: &[UtilizationShapePoint],
    allocatable: &[i64],
    requested: &[i64],
) -> i64 {
    let scale = MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE;
    let shape: Vec<(i64, i64)> = shape
        .iter()
        .map(|p| (p.utilization, p.score * scale))
        .collect();
    let (mut total, mut weights) = (0i64, 0i64);
    for ((spec, &a), &r) in resources.iter().zip(allocatable).zip(requested) {
        if a == 0 {
            continue;
        }
        let utilization = if r > a {
            MAX_UTILIZATION
        } else {
            r * MAX_UTILIZATION / a
        };
        let score = broken_linear(&shape, utilization);
        if score > 0 {
            total += score * spec.weight;
            weights += spec.weight;
        }
    }
    if weights == 0 {
        0
    } else {
        (total as f64 / weights as f64).round() as i64
    }
}

fn broken_linear(shape: &[(i64, i64)], p: i64) -> i64 {
    for (i, &(utilization, score)) in shape.iter().enumerate() {
        if p <= utilization {
            let Some(&(prev_u, prev_s)) = i.checked_sub(1).and_then(|j| shape.get(j)) else {
                return score;
            };
            return prev_s + (score - prev_s) * (p - prev_u) / (utilization - prev_u);
        }
    }
    shape.last().map_or(0, |&(_, s)| s)
}

/// `(1 - standard deviation of requested/allocatable fractions) × 100`.
pub fn balanced_allocation(allocatable: &[i64], requested: &[i64]) -> i64 {
    let fractions: Vec<f64> = allocatable
        .iter()
        .zip(requested)
        .filter(|(a, _)| **a != 0)
        .map(|(&a, &r)| (r as f64 / a as f64).min(1.0))
        .collect();
    let std = match fractions.as_slice() {
        [a, b] => ((a - b) / 2.0).abs(),
        f if f.len() > 2 => {
            let mean = f.iter().sum::<f64>() / f.len() as f64;
            let variance = f.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / f.len() as f64;
            variance.sqrt()
        }
        _ => 0.0,
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu_mem() -> Vec<ResourceSpec> {
        ResourceSpec::defaults()
    }

    #[test]
    fn least_allocated_should_favour_free_nodes() {
        // cpu: (4000-3000)*100/4000 = 25; memory: (10000-5000)*100/10000 = 50 → 37
        assert_eq!(
            least_allocated(&cpu_mem(), &[4000, 10000], &[3000, 5000]),
            37
        );
        assert_eq!(least_allocated(&cpu_mem(), &[4000, 10000], &[5000, 0]), 50);
        assert_eq!(least_allocated(&cpu_mem(), &[0, 0], &[1, 1]), 0);
    }

    #[test]
    fn most_allocated_should_favour_full_nodes() {
        // cpu 75, memory 50 → 62
        assert_eq!(
            most_allocated(&cpu_mem(), &[4000, 10000], &[3000, 5000]),
            62
        );
        assert_eq!(
            most_allocated(&cpu_mem(), &[4000, 10000], &[8000, 10000]),
            100
        );
    }

    #[test]
    fn requested_to_capacity_ratio_should_follow_the_shape() {
        let shape = [
            UtilizationShapePoint {
                utilization: 0,
                score: 10,
            },
            UtilizationShapePoint {
                utilization: 100,
                score: 0,
            },
        ];
        // cpu 75% → 25, memory 50% → 50: round(75 / 2) = 38
        let got = requested_to_capacity_ratio(&cpu_mem(), &shape, &[4000, 10000], &[3000, 5000]);
        assert_eq!(got, 38);
        let bin_packing = [
            UtilizationShapePoint {
                utilization: 0,
                score: 0,
            },
            UtilizationShapePoint {
                utilization: 100,
                score: 10,
            },
        ];
        let got =
            requested_to_capacity_ratio(&cpu_mem(), &bin_packing, &[4000, 10000], &[3000, 5000]);
        assert_eq!(got, 63);
    }

    #[test]
    fn balanced_allocation_should_penalise_skewed_use() {
        // fractions 0.75 and 0.5 → std 0.125 → 87
        assert_eq!(balanced_allocation(&[4000, 10000], &[3000, 5000]), 87);
        assert_eq!(balanced_allocation(&[4000, 10000], &[2000, 5000]), 100);
        // three resources: 0.5, 0.5, 1.0 → mean 2/3, std ≈ 0.2357 → 76
        assert_eq!(balanced_allocation(&[10, 10, 10], &[5, 5, 10]), 76);
    }
}
