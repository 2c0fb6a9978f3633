//! The pod columns, with STATUS computed as kubectl users know it.

use serde_json::Value;

use super::cells::{arr, i, or_none, s, since};

/// READY as "ready/total" app containers.
pub fn ready(pod: &Value) -> String {
    let total = arr(pod, &["spec", "containers"]).len();
    let ready = arr(pod, &["status", "containerStatuses"])
        .iter()
        .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
        .count();
    format!("{ready}/{total}")
}

/// RESTARTS, with "(5m ago)" for the last restart as kubectl prints it.
pub fn restarts(pod: &Value) -> String {
    let statuses = arr(pod, &["status", "containerStatuses"]);
    let count: i64 = statuses.iter().map(|c| i(c, &["restartCount"])).sum();
    let last = statuses
        .iter()
        .filter_map(|c| {
            c.pointer("/lastState/terminated/finishedAt")
                .and_then(Value::as_str)
        })
        .filter_map(since)
        .min();
    match last {
        Some(ago) if count > 0 => format!("{count} ({} ago)", super::human_duration(ago)),
        _ => count.to_string(),
    }
}

fn container_reason(c: &Value) -> Option<String> {
    if let Some(w) = c.pointer("/state/waiting") {
        return Some(s(w, &["reason"]).to_string()).filter(|r| !r.is_empty());
    }
    let t = c.pointer("/state/terminated")?;
    let reason = s(t, &["reason"]);
    Some(if !reason.is_empty() {
        reason.to_string()
    } else if i(t, &["signal"]) != 0 {
        format!("Signal:{}", i(t, &["signal"]))
    } else {
        format!("ExitCode:{}", i(t, &["exitCode"]))
    })
}

fn init_status(pod: &Value) -> Option<String> {
    let inits = arr(pod, &["status", "initContainerStatuses"]);
    let total = arr(pod, &["spec", "initContainers"]).len();
    for (n, c) in inits.iter().enumerate() {
        let done = c
            .pointer("/state/terminated/exitCode")
            .and_then(Value::as_i64)
            == Some(0);
        if done {
            continue;
        }
        if let Some(t) = c.pointer("/state/terminated") {
            let r = s(t, &["reason"]);
            return Some(if r.is_empty() {
                format!("Init:ExitCode:{}", i(t, &["exitCode"]))
            } else {
                format!("Init:{r}")
            });
        }
        let waiting = c
            .pointer("/state/waiting/reason")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !waiting.is_empty() && waiting != "PodInitializing" {
            return Some(format!("Init:{waiting}"));
        }
        return Some(format!("Init:{n}/{total}"));
    }
    None
}

/// STATUS: Pending, ContainerCreating, Running, CrashLoopBackOff,
/// Completed, Error, Init:0/1, Terminating, ...
pub fn status(pod: &Value) -> String {
    let mut reason = s(pod, &["status", "phase"]).to_string();
    let own = s(pod, &["status", "reason"]);
    if !own.is_empty() {
        reason = own.to_string();
    }
    if let Some(init) = init_status(pod) {
        reason = init;
    } else {
        let mut has_running = false;
        for c in arr(pod, &["status", "containerStatuses"]).iter().rev() {
            if let Some(r) = container_reason(c) {
                reason = r;
            } else if c.pointer("/state/running").is_some()
                && c.get("ready").and_then(Value::as_bool) == Some(true)
            {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            reason = if pod_ready(pod) {
                "Running"
            } else {
                "NotReady"
            }
            .into();
        }
    }
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        reason = if own == "NodeLost" {
            "Unknown".into()
        } else {
            "Terminating".into()
        };
    }
    or_none(reason)
}

fn pod_ready(pod: &Value) -> bool {
    arr(pod, &["status", "conditions"])
        .iter()
        .any(|c| s(c, &["type"]) == "Ready" && s(c, &["status"]) == "True")
}

/// READINESS GATES: "ready/total" of the declared gates, or <none>.
pub fn readiness_gates(pod: &Value) -> String {
    let gates = arr(pod, &["spec", "readinessGates"]);
    if gates.is_empty() {
        return "<none>".into();
    }
    let conds = arr(pod, &["status", "conditions"]);
    let ready = gates
        .iter()
        .filter(|g| {
            conds
                .iter()
                .any(|c| c.get("type") == g.get("conditionType") && s(c, &["status"]) == "True")
        })
        .count();
    format!("{ready}/{}", gates.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_shows_what_kubectl_shows() {
        let waiting = json!({"status": {"phase": "Pending", "containerStatuses": [{"state": {"waiting": {"reason": "ContainerCreating"}}}]}});
        assert_eq!(status(&waiting), "ContainerCreating");
        let crash = json!({"status": {"phase": "Running", "containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(status(&crash), "CrashLoopBackOff");
        let done = json!({"status": {"phase": "Succeeded", "containerStatuses": [{"state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]}});
        assert_eq!(status(&done), "Completed");
        let init = json!({"spec": {"initContainers": [{}, {}]}, "status": {"phase": "Pending",
            "initContainerStatuses": [{"state": {"terminated": {"exitCode": 0}}}, {"state": {"running": {}}}]}});
        assert_eq!(status(&init), "Init:1/2");
        let gone = json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}, "status": {"phase": "Running"}});
        assert_eq!(status(&gone), "Terminating");
        let killed = json!({"status": {"phase": "Running", "containerStatuses": [{"state": {"terminated": {"signal": 9}}}]}});
        assert_eq!(status(&killed), "Signal:9");
    }

    #[test]
    fn ready_and_restarts_count_containers() {
        let pod = json!({"spec": {"containers": [{}, {}]}, "status": {"containerStatuses": [
            {"ready": true, "restartCount": 2}, {"ready": false, "restartCount": 1}]}});
        assert_eq!(ready(&pod), "1/2");
        assert_eq!(restarts(&pod), "3");
    }
}
