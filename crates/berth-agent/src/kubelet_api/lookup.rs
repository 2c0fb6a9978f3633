//! Finding a pod's containers and sandbox in the runtime by the labels the
//! pod workers put on them (upstream's `io.kubernetes.*` labels).

use super::{ContainerRef, KubeletApiError};
use crate::cri::{RuntimeService, api};

/// Upstream's labels, as the pod workers set them on sandboxes and containers.
const LABEL_POD_NAME: &str = "io.kubernetes.pod.name";
const LABEL_POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
const LABEL_CONTAINER_NAME: &str = "io.kubernetes.container.name";

fn label<'a>(labels: &'a std::collections::HashMap<String, String>, key: &str) -> &'a str {
    labels.get(key).map_or("", String::as_str)
}

/// The instances of a container, newest first (by creation time).
pub async fn containers(
    runtime: &dyn RuntimeService,
    c: &ContainerRef,
) -> Result<Vec<api::Container>, KubeletApiError> {
    let mut found: Vec<api::Container> = runtime
        .list_containers()
        .await?
        .into_iter()
        .filter(|k| {
            label(&k.labels, LABEL_POD_NAMESPACE) == c.namespace
                && label(&k.labels, LABEL_POD_NAME) == c.pod
                && label(&k.labels, LABEL_CONTAINER_NAME) == c.container
        })
        .collect();
    found.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    Ok(found)
}

/// The newest running instance of a container (exec and attach need one).
pub async fn running_container(
    runtime: &dyn RuntimeService,
    c: &ContainerRef,
) -> Result<api::Container, KubeletApiError> {
    let running = api::ContainerState::ContainerRunning as i32;
    containers(runtime, c)
        .await?
        .into_iter()
        .find(|k| k.state == running)
        .ok_or_else(|| {
            KubeletApiError::NotFound(format!(
                "container not found ({:?}): no running container {:?} in pod {:?}",
                c.container, c.container, c.pod
            ))
        })
}

/// The newest ready sandbox of a pod (port forwarding enters its network).
pub async fn ready_sandbox(
    runtime: &dyn RuntimeService,
    namespace: &str,
    pod: &str,
) -> Result<api::PodSandbox, KubeletApiError> {
    let ready = api::PodSandboxState::SandboxReady as i32;
    let mut found: Vec<api::PodSandbox> = runtime
        .list_pod_sandboxes()
        .await?
        .into_iter()
        .filter(|s| {
            s.state == ready
                && label(&s.labels, LABEL_POD_NAMESPACE) == namespace
                && label(&s.labels, LABEL_POD_NAME) == pod
        })
        .collect();
    found.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    found.into_iter().next().ok_or_else(|| {
        KubeletApiError::NotFound(format!(
            "pod {namespace}/{pod} has no ready sandbox on this node"
        ))
    })
}
