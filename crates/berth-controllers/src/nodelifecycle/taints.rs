//! The condition taints: `node.kubernetes.io/unreachable` while Ready is
//! Unknown, `node.kubernetes.io/not-ready` while it is False, each with
//! the NoSchedule and NoExecute effects; none while Ready is True.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::Error;

pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";

fn wanted_key(ready: &str) -> Option<&'static str> {
    match ready {
        "True" => None,
        "False" => Some(NOT_READY),
        _ => Some(UNREACHABLE),
    }
}

/// The taints the node should have: its own, minus condition taints that
/// no longer apply, plus the ones that do (keeping their timeAdded).
pub fn desired(current: &[Taint], ready: &str, now: Timestamp) -> Vec<Taint> {
    let want = wanted_key(ready);
    let mut out: Vec<Taint> = current
        .iter()
        .filter(|t| !(t.key == UNREACHABLE || t.key == NOT_READY) || Some(t.key.as_str()) == want)
        .cloned()
        .collect();
    if let Some(key) = want {
        for effect in ["NoSchedule", "NoExecute"] {
            if !out.iter().any(|t| t.key == key && t.effect == effect) {
                out.push(Taint {
                    key: key.into(),
                    effect: effect.into(),
                    value: None,
                    time_added: (effect == "NoExecute").then_some(Time(now)),
                });
            }
        }
    }
    out
}

/// Writes the taints when they change (guarded by resourceVersion).
pub async fn sync(
    client: &Client,
    node: &mut Node,
    ready: &str,
    now: Timestamp,
) -> Result<(), Error> {
    let current = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let want = desired(&current, ready, now);
    if want == current {
        return Ok(());
    }
    let patch = json!({"metadata": {"resourceVersion": node.metadata.resource_version},
                       "spec": {"taints": if want.is_empty() { serde_json::Value::Null } else { json!(want) }}});
    let api: Api<Node> = Api::all(client.clone());
    *node = api
        .patch(
            &node.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
        .map_err(|e| Error::api("tainting", node.name_any(), e))?;
    Ok(())
}

/// Upstream's ToleratesTaint.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if t.effect
        .as_deref()
        .is_some_and(|e| !e.is_empty() && e != taint.effect)
    {
        return false;
    }
    let key = t.key.as_deref().unwrap_or("");
    let exists = t.operator.as_deref() == Some("Exists");
    if key.is_empty() {
        return exists;
    }
    key == taint.key
        && (exists || t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_node_gets_both_unreachable_taints_and_loses_them_when_ready() {
        let now = Timestamp::now();
        let t = desired(&[], "Unknown", now);
        assert_eq!(
            t.iter()
                .map(|t| (t.key.as_str(), t.effect.as_str()))
                .collect::<Vec<_>>(),
            [(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")]
        );
        let not_ready = desired(&t, "False", now);
        assert!(not_ready.iter().all(|t| t.key == NOT_READY));
        assert!(desired(&not_ready, "True", now).is_empty());
    }

    #[test]
    fn tolerations_match_as_upstream() {
        let taint = Taint {
            key: UNREACHABLE.into(),
            effect: "NoExecute".into(),
            value: None,
            time_added: None,
        };
        let exists = Toleration {
            key: Some(UNREACHABLE.into()),
            operator: Some("Exists".into()),
            effect: Some("NoExecute".into()),
            ..Default::default()
        };
        assert!(tolerates(&exists, &taint));
        let everything = Toleration {
            operator: Some("Exists".into()),
            ..Default::default()
        };
        assert!(tolerates(&everything, &taint));
        let other = Toleration {
            key: Some(NOT_READY.into()),
            operator: Some("Exists".into()),
            ..Default::default()
        };
        assert!(!tolerates(&other, &taint));
    }
}
