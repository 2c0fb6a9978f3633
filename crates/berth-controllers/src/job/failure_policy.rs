//! `spec.podFailurePolicy`: which rule, if any, a failed pod matches, as
//! upstream's `matchPodFailurePolicy`. Rules are tried in order; the first
//! match decides.
//!
//! Needs the containers' terminated states, which the shared pod informer
//! trims away, so callers pass a freshly read pod.

use k8s_openapi::api::batch::v1::{
    PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyRule,
};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::ResourceExt;

/// What a matching rule says to do with a failed pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Fail the whole Job with this message.
    FailJob(String),
    /// Do not count the failure towards `backoffLimit`.
    Ignore,
    /// Count it (also the verdict when no rule matches).
    Count,
    /// Fail the pod's index (with `backoffLimitPerIndex`) and count it.
    FailIndex,
}

/// The verdict of `policy` on the failed `pod`.
pub fn evaluate(policy: &PodFailurePolicy, pod: &Pod) -> Verdict {
    for (i, rule) in policy.rules.iter().enumerate() {
        if let Some(message) = matches(rule, pod, i) {
            return match rule.action.as_str() {
                "FailJob" => Verdict::FailJob(message),
                "Ignore" => Verdict::Ignore,
                "FailIndex" => Verdict::FailIndex,
                _ => Verdict::Count,
            };
        }
    }
    Verdict::Count
}

/// When `rule` matches, the message a FailJob verdict would carry.
fn matches(rule: &PodFailurePolicyRule, pod: &Pod, index: usize) -> Option<String> {
    let pod_name = format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any());
    if let Some(req) = &rule.on_exit_codes {
        let c = matching_container(pod, req)?;
        let code = c.state.as_ref()?.terminated.as_ref()?.exit_code;
        return Some(format!(
            "Container {} for pod {pod_name} failed with exit code {code} matching {} rule at index {index}",
            c.name, rule.action
        ));
    }
    let patterns = rule.on_pod_conditions.as_ref()?;
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    patterns.iter().find_map(|p| {
        let want = if p.status.is_empty() {
            "True"
        } else {
            &p.status
        };
        conditions
            .iter()
            .any(|c| c.type_ == p.type_ && c.status == want)
            .then(|| {
                format!(
                    "Pod {pod_name} has condition {} matching {} rule at index {index}",
                    p.type_, rule.action
                )
            })
    })
}

/// The first init container, then app container, that terminated with a
/// non-zero code the requirement's operator accepts.
fn matching_container<'a>(
    pod: &'a Pod,
    req: &PodFailurePolicyOnExitCodesRequirement,
) -> Option<&'a ContainerStatus> {
    let status = pod.status.as_ref()?;
    let all = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    all.into_iter().find(|c| {
        let Some(t) = c.state.as_ref().and_then(|s| s.terminated.as_ref()) else {
            return false;
        };
        let named = req.container_name.as_ref().is_none_or(|n| *n == c.name);
        let listed = req.values.contains(&t.exit_code);
        let accepted = match req.operator.as_str() {
            "In" => listed,
            "NotIn" => !listed,
            _ => false,
        };
        named && t.exit_code != 0 && accepted
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn failed_pod(exit: i32, conditions: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "status": {"phase": "Failed", "conditions": conditions, "containerStatuses": [
                {"name": "main", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"terminated": {"exitCode": exit}}}]}
        }))
        .expect("pod")
    }

    fn policy(rules: serde_json::Value) -> PodFailurePolicy {
        serde_json::from_value(json!({ "rules": rules })).expect("policy")
    }

    #[test]
    fn exit_code_rules_match_in_order_with_upstream_message() {
        let p = policy(json!([
            {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}},
            {"action": "Ignore", "onExitCodes": {"operator": "NotIn", "values": [42]}},
        ]));
        assert_eq!(
            evaluate(&p, &failed_pod(42, json!([]))),
            Verdict::FailJob(
                "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 0"
                    .into()
            )
        );
        assert_eq!(evaluate(&p, &failed_pod(1, json!([]))), Verdict::Ignore);
    }

    #[test]
    fn condition_rules_default_to_status_true_and_unmatched_pods_count() {
        let p = policy(json!([
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
        ]));
        let disrupted = failed_pod(137, json!([{"type": "DisruptionTarget", "status": "True"}]));
        assert_eq!(evaluate(&p, &disrupted), Verdict::Ignore);
        assert_eq!(evaluate(&p, &failed_pod(1, json!([]))), Verdict::Count);
    }
}
