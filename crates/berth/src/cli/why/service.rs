//! `berth why service NAME`: a Service's endpoints (ready or not, and why),
//! the nftables rules that carry it on this node, and the names the
//! cluster DNS answers for it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use k8s_openapi::api::core::v1::Service;
use kube::Api;

#[derive(Args, Debug, Clone)]
pub struct WhyServiceArgs {
    /// The Service's name.
    pub name: String,
    /// The Service's namespace.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// This node's name (its proxy's view: local endpoints, node ports).
    #[arg(long)]
    pub node_name: Option<String>,
    /// The data dir of `berth up` (its admin kubeconfig is there).
    #[arg(long, default_value = "/var/lib/berth")]
    pub data_dir: PathBuf,
    /// A kubeconfig to use instead of the data dir's admin kubeconfig.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
}

pub async fn run(args: WhyServiceArgs) -> Result<()> {
    let kubeconfig = args
        .kubeconfig
        .clone()
        .unwrap_or_else(|| args.data_dir.join("server/admin.kubeconfig"));
    let client = super::super::scheduler::client(&kubeconfig)
        .await
        .with_context(|| format!("is Berth running? (kubeconfig {})", kubeconfig.display()))?;
    let node = args
        .node_name
        .clone()
        .unwrap_or_else(super::super::up::hostname);
    let options = super::super::proxy::options(&node, &["10.42.0.0/16".to_string()])?;
    let diagnosis =
        berth_proxy::diagnostics::diagnose_from_api(&client, &args.namespace, &args.name, &options)
            .await?;
    print!("{diagnosis}");
    let services: Api<Service> = Api::namespaced(client, &args.namespace);
    let svc = services.get(&args.name).await?;
    print!("{}", dns_names(&svc, &args.namespace));
    Ok(())
}

/// The records the cluster DNS serves for a Service.
fn dns_names(svc: &Service, namespace: &str) -> String {
    let name = svc.metadata.name.clone().unwrap_or_default();
    let spec = svc.spec.clone().unwrap_or_default();
    let fqdn = format!(
        "{name}.{namespace}.svc.{}",
        berth_dns::DEFAULT_CLUSTER_DOMAIN
    );
    let mut out = String::from("DNS:\n");
    match spec.cluster_ip.as_deref() {
        Some("None") => out.push_str(&format!(
            "  {fqdn}  A  <the ready endpoints' addresses> (headless)\n"
        )),
        Some(ip) if !ip.is_empty() => out.push_str(&format!("  {fqdn}  A  {ip}\n")),
        _ => {}
    }
    if let Some(ext) = spec.external_name {
        out.push_str(&format!("  {fqdn}  CNAME  {ext}\n"));
    }
    for p in spec.ports.iter().flatten() {
        if let Some(port_name) = &p.name {
            let proto = p.protocol.as_deref().unwrap_or("TCP").to_ascii_lowercase();
            out.push_str(&format!(
                "  _{port_name}._{proto}.{fqdn}  SRV  {} {fqdn}\n",
                p.port
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_lists_its_address_and_named_ports() {
        let svc: Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web"},
            "spec": {"clusterIP": "10.43.0.7", "ports": [{"name": "http", "port": 80}, {"port": 81}]}
        }))
        .expect("service");
        let text = dns_names(&svc, "prod");
        assert!(
            text.contains("web.prod.svc.cluster.local  A  10.43.0.7"),
            "{text}"
        );
        assert!(
            text.contains("_http._tcp.web.prod.svc.cluster.local  SRV  80"),
            "{text}"
        );
        assert_eq!(text.matches("SRV").count(), 1, "{text}");
    }
}
