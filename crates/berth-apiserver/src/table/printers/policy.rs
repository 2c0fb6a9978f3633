//! Columns of HorizontalPodAutoscalers, PodDisruptionBudgets,
//! ControllerRevisions and RBAC bindings.

use serde_json::{Value, json};

use super::super::cells::{arr, i, s};
use super::{AGE, Col, NAME, col};

/// One HPA metric as upstream prints it: `cpu: 45%/80%`.
fn hpa_metric(spec: &Value, current: Option<&Value>) -> String {
    let kind = s(spec, &["type"]);
    let key = match kind {
        "Resource" => "resource",
        "ContainerResource" => "containerResource",
        "Pods" => "pods",
        "Object" => "object",
        _ => "external",
    };
    let target = spec.get(key).cloned().unwrap_or_default();
    let now = current
        .and_then(|c| c.get(key))
        .cloned()
        .unwrap_or_default();
    let name = match kind {
        "Resource" | "ContainerResource" => s(&target, &["name"]).to_string(),
        _ => s(&target, &["metric", "name"]).to_string(),
    };
    let (want, have) = if let Some(u) = target.pointer("/target/averageUtilization") {
        let have = now.pointer("/current/averageUtilization");
        (format!("{u}%"), have.map(|h| format!("{h}%")))
    } else {
        let field = ["averageValue", "value"]
            .into_iter()
            .find(|f| target.pointer(&format!("/target/{f}")).is_some())
            .unwrap_or("value");
        let want = s(&target, &["target", field]).to_string();
        (
            want,
            now.pointer(&format!("/current/{field}"))
                .map(|v| v.as_str().unwrap_or("").to_string()),
        )
    };
    let have = have.unwrap_or_else(|| "<unknown>".into());
    match kind {
        "Resource" | "ContainerResource" => format!("{name}: {have}/{want}"),
        _ => format!("{have}/{want}"),
    }
}

fn hpa_targets(o: &Value) -> Value {
    if let Some(cpu) = o.pointer("/spec/targetCPUUtilizationPercentage") {
        let have = o
            .pointer("/status/currentCPUUtilizationPercentage")
            .map_or("<unknown>".into(), |c| format!("{c}%"));
        return json!(format!("cpu: {have}/{cpu}%"));
    }
    let specs = arr(o, &["spec", "metrics"]);
    if specs.is_empty() {
        return json!("<none>");
    }
    let current = arr(o, &["status", "currentMetrics"]);
    let shown: Vec<String> = specs
        .iter()
        .take(3)
        .enumerate()
        .map(|(n, m)| hpa_metric(m, current.get(n)))
        .collect();
    let more = specs.len().saturating_sub(3);
    let text = shown.join(", ");
    json!(if more > 0 {
        format!("{text} + {more} more...")
    } else {
        text
    })
}

pub fn horizontal_pod_autoscalers() -> Vec<Col> {
    vec![
        NAME,
        col("Reference", "string", 0, |o| {
            let r = |f: &str| s(o, &["spec", "scaleTargetRef", f]).to_string();
            json!(format!("{}/{}", r("kind"), r("name")))
        }),
        col("Targets", "string", 0, hpa_targets),
        col("MinPods", "string", 0, |o| {
            match o.pointer("/spec/minReplicas") {
                Some(n) => json!(n.to_string()),
                None => json!("<unset>"),
            }
        }),
        col("MaxPods", "integer", 0, |o| {
            json!(i(o, &["spec", "maxReplicas"]))
        }),
        col("Replicas", "integer", 0, |o| {
            json!(i(o, &["status", "currentReplicas"]))
        }),
        AGE,
    ]
}

/// An int-or-string field, or "N/A".
fn int_or_string(o: &Value, field: &str) -> Value {
    match o.pointer(&format!("/spec/{field}")) {
        Some(Value::String(v)) => json!(v),
        Some(v @ Value::Number(_)) => json!(v.to_string()),
        _ => json!("N/A"),
    }
}

pub fn pod_disruption_budgets() -> Vec<Col> {
    vec![
        NAME,
        col("Min Available", "string", 0, |o| {
            int_or_string(o, "minAvailable")
        }),
        col("Max Unavailable", "string", 0, |o| {
            int_or_string(o, "maxUnavailable")
        }),
        col("Allowed Disruptions", "integer", 0, |o| {
            json!(i(o, &["status", "disruptionsAllowed"]))
        }),
        AGE,
    ]
}

pub fn controller_revisions() -> Vec<Col> {
    vec![
        NAME,
        col("Controller", "string", 0, |o| {
            let owner = arr(o, &["metadata", "ownerReferences"])
                .iter()
                .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true));
            let Some(r) = owner else {
                return json!("<none>");
            };
            let group = s(r, &["apiVersion"])
                .rsplit_once('/')
                .map_or("", |(g, _)| g);
            let kind = s(r, &["kind"]).to_ascii_lowercase();
            let kind = if group.is_empty() {
                kind
            } else {
                format!("{kind}.{group}")
            };
            json!(format!("{kind}/{}", s(r, &["name"])))
        }),
        col("Revision", "integer", 0, |o| json!(i(o, &["revision"]))),
        AGE,
    ]
}

/// Subjects of one kind, joined as upstream (`ns/name` for ServiceAccounts).
fn subjects(o: &Value, kind: &str) -> Value {
    let names: Vec<String> = arr(o, &["subjects"])
        .iter()
        .filter(|x| s(x, &["kind"]) == kind)
        .map(|x| match kind {
            "ServiceAccount" => format!("{}/{}", s(x, &["namespace"]), s(x, &["name"])),
            _ => s(x, &["name"]).to_string(),
        })
        .collect();
    json!(names.join(", "))
}

pub fn role_bindings() -> Vec<Col> {
    vec![
        NAME,
        col("Role", "string", 0, |o| {
            json!(format!(
                "{}/{}",
                s(o, &["roleRef", "kind"]),
                s(o, &["roleRef", "name"])
            ))
        }),
        AGE,
        col("Users", "string", 1, |o| subjects(o, "User")),
        col("Groups", "string", 1, |o| subjects(o, "Group")),
        col("ServiceAccounts", "string", 1, |o| {
            subjects(o, "ServiceAccount")
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpa_targets_show_current_over_target() {
        let hpa = json!({"spec": {"metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
            {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}
        ]}, "status": {"currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 45}}}
        ]}});
        assert_eq!(hpa_targets(&hpa), json!("cpu: 45%/80%, <unknown>/10"));
        assert_eq!(hpa_targets(&json!({"spec": {}})), json!("<none>"));
    }
}
