//! Pod spec → CRI configs: the PodSandboxConfig and each ContainerConfig
//! (command, args, env, working dir, resources, security context, labels
//! and log path in upstream's layout). The network part (namespaces,
//! hostname, hostPorts, DNS) is in `network`.

mod network;

use std::collections::HashMap;
use std::path::Path;

use berth_api::quantity::parse_quantity;
use k8s_openapi::api::core::v1::{Container, Pod, ResourceRequirements};

use crate::cri::api;
use crate::network::PodNetwork;
pub use network::{namespace_options, uses_node_network};

pub const LABEL_POD_NAME: &str = "io.kubernetes.pod.name";
pub const LABEL_POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
pub const LABEL_POD_UID: &str = "io.kubernetes.pod.uid";
pub const LABEL_CONTAINER_NAME: &str = "io.kubernetes.container.name";
/// The node whose agent owns a sandbox or container (several agents may
/// share one containerd).
pub const LABEL_NODE: &str = "berth.dev/node";

/// CFS period used for cpu limits, as the kubelet.
const CPU_PERIOD: i64 = 100_000;

/// Upstream's `<namespace>_<name>_<uid>` directory under the pod log dir.
pub fn pod_log_directory(root: &Path, pod: &Pod) -> String {
    let m = &pod.metadata;
    let dir = format!(
        "{}_{}_{}",
        m.namespace.as_deref().unwrap_or("default"),
        m.name.as_deref().unwrap_or_default(),
        m.uid.as_deref().unwrap_or_default()
    );
    root.join(dir).to_string_lossy().into_owned()
}

fn pod_labels(pod: &Pod, node: &str) -> HashMap<String, String> {
    let m = &pod.metadata;
    let mut labels: HashMap<String, String> =
        m.labels.clone().unwrap_or_default().into_iter().collect();
    labels.insert(LABEL_POD_NAME.into(), m.name.clone().unwrap_or_default());
    labels.insert(
        LABEL_POD_NAMESPACE.into(),
        m.namespace.clone().unwrap_or_default(),
    );
    labels.insert(LABEL_POD_UID.into(), m.uid.clone().unwrap_or_default());
    labels.insert(LABEL_NODE.into(), node.into());
    labels
}

pub fn sandbox_config(
    pod: &Pod,
    node: &str,
    log_root: &Path,
    pod_network: &PodNetwork,
) -> api::PodSandboxConfig {
    let m = &pod.metadata;
    let net = network::sandbox_network(pod, pod_network);
    let spec = pod.spec.clone().unwrap_or_default();
    let privileged = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .any(|c| {
            c.security_context
                .as_ref()
                .and_then(|s| s.privileged)
                .unwrap_or(false)
        });
    api::PodSandboxConfig {
        metadata: Some(api::PodSandboxMetadata {
            name: m.name.clone().unwrap_or_default(),
            uid: m.uid.clone().unwrap_or_default(),
            namespace: m.namespace.clone().unwrap_or_default(),
            attempt: 0,
        }),
        hostname: net.hostname,
        dns_config: Some(net.dns),
        port_mappings: net.port_mappings,
        log_directory: pod_log_directory(log_root, pod),
        labels: pod_labels(pod, node),
        annotations: m
            .annotations
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        linux: Some(api::LinuxPodSandboxConfig {
            security_context: Some(api::LinuxSandboxSecurityContext {
                namespace_options: Some(namespace_options(net.node_network)),
                privileged,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What the container config is built from besides the spec.
pub struct ContainerInputs<'a> {
    pub pod: &'a Pod,
    pub node: &'a str,
    pub attempt: u32,
    pub image_ref: &'a str,
    pub env: Vec<(String, String)>,
    /// The pod shares the node's network namespace.
    pub node_network: bool,
}

pub fn container_config(c: &Container, input: &ContainerInputs<'_>) -> api::ContainerConfig {
    let mut labels = pod_labels(input.pod, input.node);
    labels.retain(|k, _| k.starts_with("io.kubernetes.") || k == LABEL_NODE);
    labels.insert(LABEL_CONTAINER_NAME.into(), c.name.clone());
    let annotations = HashMap::from([(
        "io.kubernetes.container.restartCount".to_string(),
        input.attempt.to_string(),
    )]);
    api::ContainerConfig {
        metadata: Some(api::ContainerMetadata {
            name: c.name.clone(),
            attempt: input.attempt,
        }),
        image: Some(api::ImageSpec {
            image: input.image_ref.into(),
            user_specified_image: c.image.clone().unwrap_or_default(),
            ..Default::default()
        }),
        command: expand_all(c.command.as_deref().unwrap_or_default(), &input.env),
        args: expand_all(c.args.as_deref().unwrap_or_default(), &input.env),
        working_dir: c.working_dir.clone().unwrap_or_default(),
        envs: input
            .env
            .iter()
            .map(|(k, v)| api::KeyValue {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
        labels,
        annotations,
        log_path: format!("{}/{}.log", c.name, input.attempt),
        stdin: c.stdin.unwrap_or(false),
        stdin_once: c.stdin_once.unwrap_or(false),
        tty: c.tty.unwrap_or(false),
        linux: Some(linux_config(c, input)),
        ..Default::default()
    }
}

fn linux_config(c: &Container, input: &ContainerInputs<'_>) -> api::LinuxContainerConfig {
    let pod = input.pod;
    let sc = c.security_context.clone().unwrap_or_default();
    let pod_sc = pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.clone())
        .unwrap_or_default();
    let caps = sc.capabilities.clone().unwrap_or_default();
    let int64 = |v: Option<i64>| v.map(|value| api::Int64Value { value });
    api::LinuxContainerConfig {
        resources: Some(resources(c.resources.as_ref(), qos_of(pod))),
        security_context: Some(api::LinuxContainerSecurityContext {
            capabilities: Some(api::Capability {
                add_capabilities: caps.add.unwrap_or_default(),
                drop_capabilities: caps.drop.unwrap_or_default(),
                ..Default::default()
            }),
            privileged: sc.privileged.unwrap_or(false),
            namespace_options: Some(namespace_options(input.node_network)),
            run_as_user: int64(sc.run_as_user.or(pod_sc.run_as_user)),
            run_as_group: int64(sc.run_as_group.or(pod_sc.run_as_group)),
            readonly_rootfs: sc.read_only_root_filesystem.unwrap_or(false),
            supplemental_groups: pod_sc.supplemental_groups.unwrap_or_default(),
            ..Default::default()
        }),
    }
}

fn qos_of(pod: &Pod) -> String {
    if let Some(q) = pod.status.as_ref().and_then(|s| s.qos_class.clone()) {
        return q;
    }
    let spec = serde_json::to_value(pod.spec.clone().unwrap_or_default()).unwrap_or_default();
    berth_api::strategy::qos_class(&spec).to_string()
}

/// A quantity of `resource` in `list` ("requests"/"limits"), as a number.
pub fn amount(r: Option<&ResourceRequirements>, list: &str, resource: &str) -> Option<f64> {
    let map = match list {
        "limits" => r?.limits.as_ref()?,
        _ => r?.requests.as_ref().or(r?.limits.as_ref())?,
    };
    parse_quantity(&map.get(resource)?.0)
}

/// Kubelet's mapping: shares from the cpu request (min 2), CFS quota from
/// the cpu limit (min 1 ms), the memory limit, and the OOM score by QoS.
pub fn resources(r: Option<&ResourceRequirements>, qos: String) -> api::LinuxContainerResources {
    let cpu_request = amount(r, "requests", "cpu");
    let cpu_limit = amount(r, "limits", "cpu");
    let memory_limit = amount(r, "limits", "memory");
    let memory_request = amount(r, "requests", "memory");
    let shares = cpu_request.map_or(2, |cpu| ((cpu * 1024.0) as i64).max(2));
    let quota = cpu_limit.map_or(0, |cpu| ((cpu * CPU_PERIOD as f64) as i64).max(1000));
    let oom = match qos.as_str() {
        "Guaranteed" => -997,
        "BestEffort" => 1000,
        _ => burstable_oom_score(memory_request),
    };
    api::LinuxContainerResources {
        cpu_period: if quota > 0 { CPU_PERIOD } else { 0 },
        cpu_quota: quota,
        cpu_shares: shares,
        memory_limit_in_bytes: memory_limit.map_or(0, |m| m as i64),
        oom_score_adj: oom,
        ..Default::default()
    }
}

fn burstable_oom_score(memory_request: Option<f64>) -> i64 {
    let capacity = crate::node::capacity::memory_bytes().max(1) as f64;
    let score = 1000 - (1000.0 * memory_request.unwrap_or(0.0) / capacity) as i64;
    score.clamp(2, 999)
}

/// Upstream's `$(VAR)` expansion: known variables are replaced, `$$` is a
/// literal `$`, anything else is left as written.
pub fn expand(s: &str, env: &[(String, String)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(close) = after.strip_prefix('(').and_then(|a| a.find(')')) {
            let name = &after[1..=close];
            match env.iter().rev().find(|(k, _)| k == name) {
                Some((_, v)) => out.push_str(v),
                None => out.push_str(&rest[i..i + close + 3]),
            }
            rest = &after[close + 2..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn expand_all(items: &[String], env: &[(String, String)]) -> Vec<String> {
    items.iter().map(|s| expand(s, env)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Vec<(String, String)> {
        vec![("A".into(), "1".into()), ("B".into(), "two".into())]
    }

    #[test]
    fn variables_are_expanded_as_upstream_does() {
        assert_eq!(expand("x$(A)y$(B)", &env()), "x1ytwo");
        assert_eq!(expand("$(C) $$(A) $", &env()), "$(C) $(A) $");
    }

    #[test]
    fn cpu_and_memory_map_to_shares_quota_and_limit() {
        let r: ResourceRequirements = serde_json::from_value(serde_json::json!({
            "requests": {"cpu": "250m", "memory": "64Mi"},
            "limits": {"cpu": "500m", "memory": "128Mi"}
        }))
        .expect("valid");
        let l = resources(Some(&r), "Burstable".into());
        assert_eq!(
            (l.cpu_shares, l.cpu_quota, l.cpu_period),
            (256, 50_000, 100_000)
        );
        assert_eq!(l.memory_limit_in_bytes, 128 * 1024 * 1024);
        assert!((2..=999).contains(&l.oom_score_adj));
        assert_eq!(resources(None, "BestEffort".into()).cpu_shares, 2);
    }
}
