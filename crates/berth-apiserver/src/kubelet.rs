//! The API server as the kubelet's client: `pods/log`, `pods/exec`,
//! `pods/attach` and `pods/portforward` are forwarded to the kubelet API of
//! the pod's node, as upstream does.
//!
//! The node is found from the pod's `spec.nodeName`; its address is the
//! Node's InternalIP and its port `status.daemonEndpoints.kubeletEndpoint`
//! (10250 by default). The connection is TLS with the API server's client
//! certificate; the kubelet's serving certificate is not verified (upstream's
//! default without `--kubelet-certificate-authority`). Streaming requests
//! (exec, attach, port-forward: an HTTP upgrade to SPDY or WebSocket) are
//! passed through byte for byte once the kubelet answers 101.
//!
//! It is not the kubelet: the agent serves these paths.

mod forward;
mod tls;

use std::sync::Arc;

use http::{Request, Response};
use serde_json::Value;

use crate::error::{ApiError, ApiResult, Target};
use crate::handler::ResponseBody;
use crate::object;
use crate::request::{ApiPath, ResourcePath};
use crate::state::ApiState;

pub use tls::client_config;

/// The kubelet port when a Node does not say.
const DEFAULT_KUBELET_PORT: i64 = 10250;

/// The pod subresources the kubelet serves.
const KUBELET_SUBRESOURCES: [&str; 4] = ["log", "exec", "attach", "portforward"];

/// The pod path of a request the kubelet must answer, if it is one.
pub fn kubelet_path(path: &ApiPath) -> Option<&ResourcePath> {
    match path {
        ApiPath::Resource(rp)
            if rp.group.is_empty()
                && rp.resource == "pods"
                && rp.name.is_some()
                && rp
                    .subresource
                    .as_deref()
                    .is_some_and(|s| KUBELET_SUBRESOURCES.contains(&s)) =>
        {
            Some(rp)
        }
        _ => None,
    }
}

/// Where a request goes: the kubelet's address and the path on it.
#[derive(Debug, PartialEq, Eq)]
pub struct KubeletTarget {
    pub host: String,
    pub port: u16,
    pub path_and_query: String,
}

async fn get(state: &ApiState, resource: &str, ns: Option<&str>, name: &str) -> ApiResult<Value> {
    let res = state
        .resources()
        .get("", "v1", resource)
        .ok_or_else(|| ApiError::PathNotFound(format!("no resource {resource}")))?;
    let target = Target::new("", resource, name);
    match state.store.get(&res.key(ns, name)).await {
        Ok(Some(kv)) => Ok(object::decode(&kv)?),
        Ok(None) => Err(ApiError::NotFound(target)),
        Err(e) => Err(ApiError::from_store(e, &target)),
    }
}

/// The container a request names, or the pod's only container.
fn container(pod: &Value, asked: Option<&str>) -> ApiResult<String> {
    let names: Vec<&str> = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|f| object::get(pod, &["spec", f]).and_then(Value::as_array))
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let pod_name = object::get_str(pod, &["metadata", "name"]).unwrap_or("");
    match asked {
        Some(c) if names.contains(&c) => Ok(c.to_string()),
        Some(c) => Err(ApiError::BadRequest(format!(
            "container {c} is not valid for pod {pod_name}"
        ))),
        None => {
            let app: Vec<&str> = object::get(pod, &["spec", "containers"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect();
            match app.as_slice() {
                [one] => Ok((*one).to_string()),
                _ => Err(ApiError::BadRequest(format!(
                    "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                    app.join(" ")
                ))),
            }
        }
    }
}

/// The kubelet's host and port from a Node object.
fn node_endpoint(node: &Value) -> ApiResult<(String, u16)> {
    let addresses = object::get(node, &["status", "addresses"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let by_type = |t: &str| {
        addresses
            .iter()
            .find(|a| a.get("type").and_then(Value::as_str) == Some(t))
            .and_then(|a| a.get("address").and_then(Value::as_str))
            .map(String::from)
    };
    let host = by_type("InternalIP")
        .or_else(|| by_type("ExternalIP"))
        .or_else(|| by_type("Hostname"))
        .ok_or_else(|| ApiError::BadRequest("the node has no address".into()))?;
    let port = object::get(
        node,
        &["status", "daemonEndpoints", "kubeletEndpoint", "Port"],
    )
    .and_then(Value::as_i64)
    .filter(|p| *p > 0)
    .unwrap_or(DEFAULT_KUBELET_PORT);
    let port = u16::try_from(port).unwrap_or(10250);
    Ok((host, port))
}

/// Resolves a pod subresource request to the kubelet URL that answers it.
pub async fn resolve(
    state: &ApiState,
    rp: &ResourcePath,
    query: Option<&str>,
) -> ApiResult<KubeletTarget> {
    let ns = rp.namespace.as_deref().unwrap_or("default");
    let name = rp.name.as_deref().unwrap_or("");
    let pod = get(state, "pods", Some(ns), name).await?;
    let node_name = object::get_str(&pod, &["spec", "nodeName"]).unwrap_or("");
    if node_name.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    let params = crate::request::Query::parse(query);
    let sub = rp.subresource.as_deref().unwrap_or("");
    let path = if sub == "portforward" {
        format!("/portForward/{ns}/{name}")
    } else {
        let c = container(&pod, params.get("container"))?;
        let verb = match sub {
            "log" => "containerLogs",
            other => other,
        };
        format!("/{verb}/{ns}/{name}/{c}")
    };
    let node = get(state, "nodes", None, node_name).await?;
    let (host, port) = node_endpoint(&node)?;
    let path_and_query = match query {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path,
    };
    Ok(KubeletTarget {
        host,
        port,
        path_and_query,
    })
}

/// Serves a kubelet-bound request (already authenticated).
pub async fn serve(
    state: Arc<ApiState>,
    rp: ResourcePath,
    req: Request<hyper::body::Incoming>,
) -> ApiResult<Response<ResponseBody>> {
    let target = resolve(&state, &rp, req.uri().query()).await?;
    let Some(tls) = state.kubelet_client.get().cloned() else {
        return Err(ApiError::Internal("no kubelet client configuration".into()));
    };
    forward::forward(tls, &target, req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_only_container_is_the_default_and_a_wrong_one_is_refused() {
        let one = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]}});
        assert_eq!(container(&one, None).ok(), Some("a".into()));
        let two = json!({"metadata": {"name": "p"}, "spec": {
            "initContainers": [{"name": "init"}], "containers": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(container(&two, Some("init")).ok(), Some("init".into()));
        let err = container(&two, None).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("choose one of: [a b]")),
            "{err:?}"
        );
        assert!(container(&two, Some("zzz")).is_err());
    }

    #[test]
    fn the_kubelet_is_found_at_the_internal_ip_and_declared_port() {
        let node = json!({"status": {
            "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.0.0.7"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10251}}}});
        assert_eq!(node_endpoint(&node).ok(), Some(("10.0.0.7".into(), 10251)));
        let bare = json!({"status": {"addresses": [{"type": "Hostname", "address": "n1"}]}});
        assert_eq!(node_endpoint(&bare).ok(), Some(("n1".into(), 10250)));
    }

    #[test]
    fn only_pod_streaming_subresources_go_to_the_kubelet() {
        let p = |s: &str| crate::request::parse_path(s);
        assert!(kubelet_path(&p("/api/v1/namespaces/d/pods/x/log")).is_some());
        assert!(kubelet_path(&p("/api/v1/namespaces/d/pods/x/exec")).is_some());
        assert!(kubelet_path(&p("/api/v1/namespaces/d/pods/x/portforward")).is_some());
        assert!(kubelet_path(&p("/api/v1/namespaces/d/pods/x/status")).is_none());
        assert!(kubelet_path(&p("/api/v1/namespaces/d/pods/x")).is_none());
    }
}
