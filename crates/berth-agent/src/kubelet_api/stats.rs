//! `GET /stats/summary`: upstream's Summary (`stats/v1alpha1`) from the
//! node's `/proc` (CPU time, memory) and CRI `ListContainerStats`, with the
//! containers grouped into their pods by the pod workers' labels.
//!
//! It is not complete: cumulative CPU (`usageCoreNanoSeconds`) is given,
//! and `usageNanoCores` only where the runtime computes it; no network,
//! filesystem or volume stats yet.

use std::collections::BTreeMap;

use http::{Response, StatusCode, header};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::response::{Body, full};
use super::{KubeletApiError, KubeletRuntime};
use crate::cri::api;

/// Nanoseconds per `/proc/stat` tick (USER_HZ is 100 on Linux).
const NANOS_PER_TICK: u64 = 10_000_000;

/// The node's usage read from `/proc`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NodeUsage {
    /// CPU time spent busy, all cores, since boot.
    pub cpu_core_nanos: Option<u64>,
    pub memory_total: Option<u64>,
    pub memory_available: Option<u64>,
}

/// Busy CPU time from `/proc/stat`'s `cpu` line (user, nice, system, irq,
/// softirq, steal; not idle nor iowait).
pub fn busy_cpu_nanos(proc_stat: &str) -> Option<u64> {
    let line = proc_stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse().unwrap_or(0))
        .collect();
    let at = |i: usize| ticks.get(i).copied().unwrap_or(0);
    let busy = at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
    Some(busy * NANOS_PER_TICK)
}

/// A `/proc/meminfo` field in bytes.
pub fn meminfo_bytes(meminfo: &str, field: &str) -> Option<u64> {
    let line = meminfo
        .lines()
        .find(|l| l.split(':').next() == Some(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl NodeUsage {
    pub fn read() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Self {
            cpu_core_nanos: busy_cpu_nanos(&stat),
            memory_total: meminfo_bytes(&meminfo, "MemTotal"),
            memory_available: meminfo_bytes(&meminfo, "MemAvailable"),
        }
    }
}

fn value(v: &Option<api::UInt64Value>) -> Option<u64> {
    v.as_ref().map(|v| v.value)
}

fn time(nanos: i64, fallback: Timestamp) -> String {
    Timestamp::from_nanosecond(i128::from(nanos))
        .ok()
        .filter(|_| nanos > 0)
        .unwrap_or(fallback)
        .to_string()
}

fn container_json(s: &api::ContainerStats, now: Timestamp) -> Value {
    let name = s.attributes.as_ref().and_then(|a| a.metadata.as_ref());
    let cpu = s.cpu.as_ref();
    let mem = s.memory.as_ref();
    json!({
        "name": name.map_or("", |m| m.name.as_str()),
        "cpu": cpu.map(|c| json!({
            "time": time(c.timestamp, now),
            "usageCoreNanoSeconds": value(&c.usage_core_nano_seconds),
            "usageNanoCores": value(&c.usage_nano_cores),
        })),
        "memory": mem.map(|m| json!({
            "time": time(m.timestamp, now),
            "workingSetBytes": value(&m.working_set_bytes),
            "usageBytes": value(&m.usage_bytes),
            "rssBytes": value(&m.rss_bytes),
        })),
    })
}

/// Sums a field of the containers' stats (`None` when none report it).
fn sum(containers: &[Value], path: [&str; 2]) -> Option<u64> {
    let values: Vec<u64> = containers
        .iter()
        .filter_map(|c| c.get(path[0])?.get(path[1])?.as_u64())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// The Summary document for `node_name`.
pub fn summary(
    node_name: &str,
    now: Timestamp,
    node: &NodeUsage,
    stats: &[api::ContainerStats],
) -> Value {
    let mut pods: BTreeMap<(String, String, String), Vec<Value>> = BTreeMap::new();
    for s in stats {
        let labels = s.attributes.as_ref().map(|a| &a.labels);
        let label = |k: &str| labels.and_then(|l| l.get(k)).cloned().unwrap_or_default();
        let key = (
            label("io.kubernetes.pod.namespace"),
            label("io.kubernetes.pod.name"),
            label("io.kubernetes.pod.uid"),
        );
        pods.entry(key).or_default().push(container_json(s, now));
    }
    let t = now.to_string();
    let pods: Vec<Value> = pods
        .into_iter()
        .map(|((namespace, name, uid), containers)| {
            json!({
                "podRef": {"name": name, "namespace": namespace, "uid": uid},
                "cpu": {"time": t, "usageCoreNanoSeconds": sum(&containers, ["cpu", "usageCoreNanoSeconds"])},
                "memory": {"time": t, "workingSetBytes": sum(&containers, ["memory", "workingSetBytes"])},
                "containers": containers,
            })
        })
        .collect();
    let working_set = node
        .memory_total
        .zip(node.memory_available)
        .map(|(t, a)| t.saturating_sub(a));
    json!({
        "node": {
            "nodeName": node_name,
            "cpu": {"time": t, "usageCoreNanoSeconds": node.cpu_core_nanos},
            "memory": {"time": t, "availableBytes": node.memory_available,
                "usageBytes": working_set, "workingSetBytes": working_set},
        },
        "pods": pods,
    })
}

/// Answers `/stats/summary`.
pub async fn serve(
    runtime: &dyn KubeletRuntime,
    node_name: &str,
) -> Result<Response<Body>, KubeletApiError> {
    let stats = runtime.list_container_stats().await?;
    let doc = summary(node_name, Timestamp::now(), &NodeUsage::read(), &stats);
    let mut resp = Response::new(full(doc.to_string()));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_give_busy_cpu_time_and_memory() {
        let stat = "cpu  100 5 50 1000 7 3 2 1 0 0\ncpu0 1 2 3 4\n";
        assert_eq!(busy_cpu_nanos(stat), Some(161 * NANOS_PER_TICK));
        let meminfo = "MemTotal:       2048 kB\nMemFree:  100 kB\nMemAvailable:   1024 kB\n";
        assert_eq!(meminfo_bytes(meminfo, "MemTotal"), Some(2048 * 1024));
        assert_eq!(meminfo_bytes(meminfo, "MemAvailable"), Some(1024 * 1024));
        assert_eq!(meminfo_bytes(meminfo, "Nope"), None);
    }

    fn stats(pod: &str, container: &str, cpu: u64, memory: u64) -> api::ContainerStats {
        let labels = [
            ("io.kubernetes.pod.namespace", "default"),
            ("io.kubernetes.pod.name", pod),
            ("io.kubernetes.pod.uid", "u-1"),
        ];
        api::ContainerStats {
            attributes: Some(api::ContainerAttributes {
                id: format!("{pod}-{container}"),
                metadata: Some(api::ContainerMetadata {
                    name: container.into(),
                    attempt: 0,
                }),
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                annotations: Default::default(),
            }),
            cpu: Some(api::CpuUsage {
                timestamp: 1,
                usage_core_nano_seconds: Some(api::UInt64Value { value: cpu }),
                usage_nano_cores: None,
            }),
            memory: Some(api::MemoryUsage {
                timestamp: 1,
                working_set_bytes: Some(api::UInt64Value { value: memory }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn containers_are_grouped_into_pods_with_summed_usage() {
        let now: Timestamp = "2026-11-23T14:00:00Z".parse().expect("time");
        let node = NodeUsage {
            cpu_core_nanos: Some(5),
            memory_total: Some(100),
            memory_available: Some(40),
        };
        let doc = summary(
            "n1",
            now,
            &node,
            &[stats("web", "a", 10, 1000), stats("web", "b", 5, 24)],
        );
        assert_eq!(doc["node"]["nodeName"], "n1");
        assert_eq!(doc["node"]["memory"]["workingSetBytes"], 60);
        let pods = doc["pods"].as_array().expect("pods");
        assert_eq!(pods.len(), 1);
        assert_eq!(pods[0]["podRef"]["name"], "web");
        assert_eq!(pods[0]["cpu"]["usageCoreNanoSeconds"], 15);
        assert_eq!(pods[0]["memory"]["workingSetBytes"], 1024);
        assert_eq!(pods[0]["containers"].as_array().map(Vec::len), Some(2));
    }
}
