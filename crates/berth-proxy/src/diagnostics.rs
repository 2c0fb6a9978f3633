//! `berth why service NAME`: one Service's endpoints (used or not, and
//! why) and the nft rules that carry it on this node, both as the model
//! wants them and as `nft list chain` shows them.

use std::fmt;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::backend::RuleBackend;
use crate::model::{
    Endpoint, Family, NodeContext, ServicePortName, categorize, endpoints_by_service_port,
    service_ports,
};
use crate::ruleset::{RenderOptions, Table, render};

/// One endpoint and the verdict on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    pub endpoint: Endpoint,
    /// Traffic is sent to it from this node.
    pub used: bool,
    pub reason: String,
}

/// One service port of the Service.
#[derive(Debug, Clone)]
pub struct PortDiagnosis {
    pub name: ServicePortName,
    pub family: Family,
    pub endpoints: Vec<EndpointStatus>,
    /// The rules the model wants (elements, sets, chains).
    pub desired_rules: String,
    /// `nft list chain` of each chain the model wants, or why it failed.
    pub live_chains: Vec<(String, Result<String, String>)>,
}

/// Everything `berth why service` prints.
#[derive(Debug, Clone)]
pub struct ServiceDiagnosis {
    pub service: String,
    pub ports: Vec<PortDiagnosis>,
}

/// Explains `service` on `node`, reading live rules through `backend`.
pub async fn diagnose<B: RuleBackend>(
    service: &Service,
    slices: &[EndpointSlice],
    node: &NodeContext,
    table_name: &str,
    options: &RenderOptions,
    backend: &B,
) -> ServiceDiagnosis {
    let key = format!(
        "{}/{}",
        service.metadata.namespace.as_deref().unwrap_or_default(),
        service.metadata.name.as_deref().unwrap_or_default()
    );
    let mut ports = Vec::new();
    for family in [Family::V4, Family::V6] {
        let endpoints = endpoints_by_service_port(slices, family);
        let table = Table::new(family, table_name);
        for port in service_ports(service, family) {
            let raw = endpoints.get(&port.name).cloned().unwrap_or_default();
            let candidates = port.with_published_not_ready(&raw);
            let categorized = categorize(&candidates, &port, &node.name);
            let statuses = candidates
                .iter()
                .map(|e| status(e, &categorized, port.publish_not_ready))
                .collect();
            let plan = port.into_plan(categorized);
            let rules = render(&plan, options);
            let mut live_chains = Vec::new();
            for chain in rules.chains.keys() {
                let listed = backend.list(&format!("chain {table} {chain}")).await;
                live_chains.push((chain.clone(), listed.map_err(|e| e.to_string())));
            }
            ports.push(PortDiagnosis {
                name: plan.name.clone(),
                family,
                endpoints: statuses,
                desired_rules: rules.describe(&table),
                live_chains,
            });
        }
    }
    ServiceDiagnosis {
        service: key,
        ports,
    }
}

fn status(e: &Endpoint, used: &crate::model::Categorized, published: bool) -> EndpointStatus {
    let target = e.target();
    let used = used.cluster.contains(&target) || used.local.contains(&target);
    let reason = match (e.ready, e.serving, e.terminating) {
        _ if published => "publishNotReadyAddresses: counted as ready".to_string(),
        (true, _, _) => "ready".into(),
        (false, true, true) if used => {
            "terminating but serving: used while no endpoint is ready".into()
        }
        (false, true, true) => "terminating but serving: unused while ready endpoints exist".into(),
        (false, false, true) => "terminating and not serving".into(),
        (false, _, false) => "not ready (readiness probe failing or containers not started)".into(),
    };
    let reason = if !used && (e.ready || published) {
        format!(
            "{reason}, but not used on this node (traffic policy Local; endpoint on {})",
            e.node_name.as_deref().unwrap_or("an unknown node")
        )
    } else {
        reason
    };
    EndpointStatus {
        endpoint: e.clone(),
        used,
        reason,
    }
}

impl fmt::Display for ServiceDiagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Service {}", self.service)?;
        if self.ports.is_empty() {
            writeln!(f, "  not proxied (headless, ExternalName or no cluster IP)")?;
        }
        for port in &self.ports {
            writeln!(f, "Port {} ({:?}):", port.name, port.family)?;
            if port.endpoints.is_empty() {
                writeln!(f, "  no endpoints: connections are rejected")?;
            }
            for s in &port.endpoints {
                let e = &s.endpoint;
                let mark = if s.used { "used    " } else { "not used" };
                let pod = e.pod.as_deref().unwrap_or("-");
                let node = e.node_name.as_deref().unwrap_or("-");
                writeln!(
                    f,
                    "  {mark} {}:{} pod={pod} node={node}: {}",
                    e.ip, e.port, s.reason
                )?;
            }
            writeln!(f, "  desired rules:")?;
            for line in port.desired_rules.lines() {
                writeln!(f, "    {line}")?;
            }
            for (chain, listed) in &port.live_chains {
                match listed {
                    Ok(text) => writeln!(f, "  live {chain}:\n{text}")?,
                    Err(e) => writeln!(f, "  live {chain}: MISSING ({e})")?,
                }
            }
        }
        Ok(())
    }
}

/// Fetches the Service, its EndpointSlices and this node from the API, then
/// [`diagnose`]s with the real nft described by `options`.
pub async fn diagnose_from_api(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    options: &crate::ProxyOptions,
) -> Result<ServiceDiagnosis, crate::ProxyError> {
    use k8s_openapi::api::core::v1::Node;
    use kube::Api;
    use kube::api::ListParams;
    let api_error = |what| move |source| crate::ProxyError::Api { what, source };
    let service = Api::<Service>::namespaced(client.clone(), namespace)
        .get(name)
        .await
        .map_err(api_error("getting the Service"))?;
    let selector = format!("{}={name}", crate::model::SERVICE_NAME_LABEL);
    let slices = Api::<EndpointSlice>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(api_error("listing EndpointSlices"))?;
    let node = Api::<Node>::all(client.clone())
        .get_opt(&options.node_name)
        .await
        .map_err(api_error("getting the Node"))?;
    let addresses = node
        .and_then(|n| n.status?.addresses)
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.type_ == "InternalIP" || a.type_ == "ExternalIP")
        .filter_map(|a| a.address.parse().ok())
        .collect();
    let context = NodeContext {
        name: options.node_name.clone(),
        addresses,
    };
    let render_options = RenderOptions {
        cluster_cidrs: options.cluster_cidrs.clone(),
        masquerade_all: options.masquerade_all,
    };
    Ok(diagnose(
        &service,
        &slices.items,
        &context,
        &options.table_name,
        &render_options,
        &options.backend(),
    )
    .await)
}

#[cfg(test)]
mod tests;
