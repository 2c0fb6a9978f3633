//! Conversion between the versions of a resource served at more than one
//! version from one storage (today: HorizontalPodAutoscaler v1 ↔ v2).
//!
//! Objects are stored as the version that wrote them; a read through the
//! other version converts on the way out.

use berth_api::ResourceInfo;
use serde_json::{Value, json};

use crate::object;

/// The conversion a resource needs, if it shares storage with other versions.
pub fn for_resource(info: &ResourceInfo) -> Option<fn(&mut Value, &str)> {
    match (info.group.as_str(), info.kind.as_str()) {
        ("autoscaling", "HorizontalPodAutoscaler") => Some(convert_hpa),
        ("" | "events.k8s.io", "Event") => Some(convert_event),
        _ => None,
    }
}

/// The storage group a resource's objects live under: one for every
/// version and group that serves the same objects.
pub fn storage_group(info: &ResourceInfo) -> String {
    match (info.group.as_str(), info.kind.as_str()) {
        ("" | "events.k8s.io", "Event") => "core".into(),
        ("", _) => "core".into(),
        (g, _) => g.to_string(),
    }
}

/// core/v1 Event field ↔ events.k8s.io/v1 Event field.
const EVENT_FIELDS: [(&str, &str); 8] = [
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingInstance", "reportingInstance"),
];

/// Both views are "v1": the stored apiVersion tells the direction.
fn convert_event(obj: &mut Value, _to: &str) {
    let Some(m) = obj.as_object_mut() else { return };
    let to_events_api = m.get("apiVersion").and_then(Value::as_str) == Some("v1");
    for (core, events) in EVENT_FIELDS {
        let (from, into) = if to_events_api {
            (core, events)
        } else {
            (events, core)
        };
        if let Some(v) = m.remove(from) {
            m.insert(into.to_string(), v);
        }
    }
}

/// Annotation upstream keeps v2-only metrics in when serving v1.
const V1_METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";

fn convert_hpa(obj: &mut Value, to: &str) {
    match to {
        "v1" => hpa_to_v1(obj),
        _ => hpa_to_v2(obj),
    }
}

fn is_cpu_utilization(m: &Value) -> bool {
    m.get("type") == Some(&json!("Resource"))
        && m.pointer("/resource/name") == Some(&json!("cpu"))
        && m.pointer("/resource/target/type") == Some(&json!("Utilization"))
}

fn hpa_to_v1(obj: &mut Value) {
    let metrics = object::remove(obj, &["spec", "metrics"])
        .and_then(|m| m.as_array().cloned())
        .unwrap_or_default();
    let (cpu, other): (Vec<Value>, Vec<Value>) = metrics.into_iter().partition(is_cpu_utilization);
    if let Some(target) = cpu
        .first()
        .and_then(|m| m.pointer("/resource/target/averageUtilization"))
        .cloned()
    {
        object::set(obj, &["spec", "targetCPUUtilizationPercentage"], target);
    }
    if !other.is_empty() {
        object::set_str(
            obj,
            &["metadata", "annotations", V1_METRICS_ANNOTATION],
            &Value::Array(other).to_string(),
        );
    }
    object::remove(obj, &["spec", "behavior"]);
    let current = object::remove(obj, &["status", "currentMetrics"])
        .and_then(|m| m.as_array().cloned())
        .unwrap_or_default();
    if let Some(util) = current
        .iter()
        .find(|m| m.pointer("/resource/name") == Some(&json!("cpu")))
        .and_then(|m| m.pointer("/resource/current/averageUtilization"))
    {
        object::set(
            obj,
            &["status", "currentCPUUtilizationPercentage"],
            util.clone(),
        );
    }
    object::remove(obj, &["status", "conditions"]);
}

fn hpa_to_v2(obj: &mut Value) {
    let mut metrics = object::get_str(obj, &["metadata", "annotations", V1_METRICS_ANNOTATION])
        .and_then(|s| serde_json::from_str::<Vec<Value>>(s).ok())
        .unwrap_or_default();
    object::remove(obj, &["metadata", "annotations", V1_METRICS_ANNOTATION]);
    if let Some(target) = object::remove(obj, &["spec", "targetCPUUtilizationPercentage"]) {
        metrics.insert(
            0,
            json!({"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": target}}}),
        );
    }
    if !metrics.is_empty() {
        object::set(obj, &["spec", "metrics"], Value::Array(metrics));
    }
    if let Some(util) = object::remove(obj, &["status", "currentCPUUtilizationPercentage"]) {
        object::set(
            obj,
            &["status", "currentMetrics"],
            json!([{"type": "Resource",
            "resource": {"name": "cpu", "current": {"averageUtilization": util}}}]),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_event_reads_as_an_events_api_event_and_back() {
        let core = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
            "involvedObject": {"kind": "Pod", "name": "p"}, "message": "hi", "reason": "Started",
            "source": {"component": "kubelet"}, "count": 2, "type": "Normal"});
        let mut events = core.clone();
        convert_event(&mut events, "v1");
        assert_eq!(events["regarding"]["name"], "p");
        assert_eq!(events["note"], "hi");
        assert_eq!(events["deprecatedSource"]["component"], "kubelet");
        assert_eq!(events["deprecatedCount"], 2);
        events["apiVersion"] = json!("events.k8s.io/v1");
        convert_event(&mut events, "v1");
        events["apiVersion"] = json!("v1");
        assert_eq!(events, core);
    }

    #[test]
    fn a_v1_cpu_target_reads_as_a_v2_utilization_metric_and_back() {
        let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
            "spec": {"maxReplicas": 5, "targetCPUUtilizationPercentage": 70,
                "scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}}});
        let mut v2 = v1.clone();
        convert_hpa(&mut v2, "v2");
        assert_eq!(
            v2["spec"]["metrics"][0]["resource"]["target"],
            json!({"type": "Utilization", "averageUtilization": 70})
        );
        assert!(v2["spec"].get("targetCPUUtilizationPercentage").is_none());
        let mut back = v2.clone();
        convert_hpa(&mut back, "v1");
        assert_eq!(back["spec"], v1["spec"]);
    }

    #[test]
    fn v2_only_metrics_survive_a_round_trip_through_v1() {
        let pods = json!({"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}});
        let mut obj = json!({"metadata": {"name": "h"}, "spec": {"maxReplicas": 3, "metrics": [pods.clone()]}});
        convert_hpa(&mut obj, "v1");
        assert!(obj["spec"].get("metrics").is_none());
        convert_hpa(&mut obj, "v2");
        assert_eq!(obj["spec"]["metrics"], json!([pods]));
    }
}
