//! The cluster DNS against the real `berth server`: Services and
//! EndpointSlices created through the API become resolvable, updates and
//! deletes disappear, and `run` ensures the kube-dns Service.
//!
//! Needs the `berth` binary next to this test's deps directory
//! (`cargo build -p berth` first, or run as part of `cargo test --workspace`).

mod dns_client;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use berth_dns::{DnsOptions, DnsServer, RecordType, kube_dns};
use berth_testkit::{TestServer, eventually};
use hickory_proto::op::ResponseCode;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use tokio::sync::oneshot;

use dns_client::{addresses, data, query, rcode};

const TIMEOUT: Duration = Duration::from_secs(30);

fn berth_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join("berth")
}

/// The API server, a client, and `berth_dns::run` on 127.0.0.1 (stopped on drop).
struct Cluster {
    dns: SocketAddr,
    client: Client,
    _stop: oneshot::Sender<()>,
    _server: TestServer,
}

impl Cluster {
    async fn start() -> Self {
        let server = TestServer::start(&berth_binary()).expect("berth server starts");
        let client = server.client().await.expect("client");
        let options = DnsOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            upstreams: vec!["127.0.0.1:9".parse().expect("addr")],
            forward_timeout: Duration::from_millis(200),
            service_ip: Some("10.43.0.10".parse().expect("ip")),
            endpoint_ips: vec!["127.0.0.1".parse().expect("ip")],
            ..DnsOptions::default()
        };
        let dns = DnsServer::bind(options).await.expect("binds");
        let addr = dns.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let run = dns.run(client.clone(), async move {
            let _ = stopped.await;
        });
        tokio::spawn(async move { run.await.expect("dns runs") });
        Self {
            dns: addr,
            client,
            _stop: stop,
            _server: server,
        }
    }

    /// Polls until `name`/`rtype` answers exactly `want` (sorted addresses).
    async fn resolves(&self, name: &str, rtype: RecordType, want: &[&str]) {
        let want: Vec<IpAddr> = want.iter().map(|ip| ip.parse().expect("ip")).collect();
        let dns = self.dns;
        eventually(&format!("{name} {rtype} → {want:?}"), TIMEOUT, || {
            let want = want.clone();
            async move {
                let response = query(dns, name, rtype).await?;
                (addresses(&response) == want && !want.is_empty()).then_some(())
            }
        })
        .await;
    }

    async fn nxdomain(&self, name: &str) {
        let dns = self.dns;
        eventually(&format!("{name} NXDOMAIN"), TIMEOUT, || async move {
            let response = query(dns, name, RecordType::A).await?;
            (rcode(&response) == ResponseCode::NXDomain).then_some(())
        })
        .await;
    }

    async fn create<K>(&self, ns: &str, object: serde_json::Value) -> K
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), ns);
        let object: K = serde_json::from_value(object).expect("object");
        api.create(&PostParams::default(), &object)
            .await
            .expect("created")
    }
}

fn headless_slice(name: &str, service: &str, endpoints: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "ports": [{"name": "peer", "protocol": "TCP", "port": 2380}],
        "endpoints": endpoints,
    })
}

#[tokio::test]
async fn a_cluster_ip_service_resolves_once_created_and_not_after_deletion() {
    let cluster = Cluster::start().await;
    let service: Service = cluster
        .create(
            "default",
            json!({
                "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"ports": [{"name": "http", "port": 80}], "selector": {"app": "web"}},
            }),
        )
        .await;
    let ip = service
        .spec
        .and_then(|s| s.cluster_ip)
        .expect("allocated ClusterIP");
    cluster
        .resolves("web.default.svc.cluster.local.", RecordType::A, &[&ip])
        .await;
    let srv = query(
        cluster.dns,
        "_http._tcp.web.default.svc.cluster.local.",
        RecordType::SRV,
    )
    .await
    .expect("answer");
    assert_eq!(data(&srv), vec!["0 100 80 web.default.svc.cluster.local."]);

    let api: Api<Service> = Api::namespaced(cluster.client.clone(), "default");
    api.delete("web", &DeleteParams::default())
        .await
        .expect("deleted");
    cluster.nxdomain("web.default.svc.cluster.local.").await;
}

#[tokio::test]
async fn headless_and_statefulset_names_follow_endpoint_slices() {
    let cluster = Cluster::start().await;
    let _: Service = cluster
        .create(
            "default",
            json!({
                "apiVersion": "v1", "kind": "Service", "metadata": {"name": "etcd"},
                "spec": {"clusterIP": "None", "ports": [{"name": "peer", "port": 2380}]},
            }),
        )
        .await;
    let endpoints = json!([
        {"addresses": ["10.42.0.5"], "hostname": "etcd-0", "conditions": {"ready": true}},
        {"addresses": ["10.42.0.6"], "hostname": "etcd-1", "conditions": {"ready": false}},
    ]);
    let _: EndpointSlice = cluster
        .create("default", headless_slice("etcd-a", "etcd", endpoints))
        .await;
    cluster
        .resolves(
            "etcd.default.svc.cluster.local.",
            RecordType::A,
            &["10.42.0.5"],
        )
        .await;
    cluster
        .resolves(
            "etcd-0.etcd.default.svc.cluster.local.",
            RecordType::A,
            &["10.42.0.5"],
        )
        .await;
    let ptr = query(cluster.dns, "5.0.42.10.in-addr.arpa.", RecordType::PTR)
        .await
        .expect("answer");
    assert_eq!(data(&ptr), vec!["etcd-0.etcd.default.svc.cluster.local."]);

    let api: Api<EndpointSlice> = Api::namespaced(cluster.client.clone(), "default");
    let mut slice = api.get("etcd-a").await.expect("slice");
    for endpoint in &mut slice.endpoints {
        endpoint
            .conditions
            .get_or_insert_with(Default::default)
            .ready = Some(true);
    }
    api.replace("etcd-a", &PostParams::default(), &slice)
        .await
        .expect("updated");
    cluster
        .resolves(
            "etcd.default.svc.cluster.local.",
            RecordType::A,
            &["10.42.0.5", "10.42.0.6"],
        )
        .await;
    api.delete("etcd-a", &DeleteParams::default())
        .await
        .expect("deleted");
    cluster
        .nxdomain("etcd-0.etcd.default.svc.cluster.local.")
        .await;
}

#[tokio::test]
async fn run_ensures_the_kube_dns_service_and_endpoint_slice() {
    let cluster = Cluster::start().await;
    cluster
        .resolves(
            "kube-dns.kube-system.svc.cluster.local.",
            RecordType::A,
            &["10.43.0.10"],
        )
        .await;
    let services: Api<Service> = Api::namespaced(cluster.client.clone(), kube_dns::NAMESPACE);
    let service = services
        .get(kube_dns::NAME)
        .await
        .expect("kube-dns Service");
    let labels = service.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("k8s-app").map(String::as_str), Some("kube-dns"));
    let ports: Vec<(Option<String>, i32)> = service
        .spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .map(|p| (p.protocol.clone(), p.port))
        .collect();
    assert_eq!(ports.len(), 3, "dns, dns-tcp, metrics: {ports:?}");
    let slices: Api<EndpointSlice> = Api::namespaced(cluster.client.clone(), kube_dns::NAMESPACE);
    let slice = slices
        .get(kube_dns::NAME)
        .await
        .expect("kube-dns EndpointSlice");
    assert_eq!(slice.endpoints[0].addresses, vec!["127.0.0.1".to_string()]);

    // Ensuring again changes nothing.
    let options = DnsOptions {
        service_ip: Some("10.43.0.10".parse().expect("ip")),
        endpoint_ips: vec!["127.0.0.1".parse().expect("ip")],
        ..DnsOptions::default()
    };
    kube_dns::ensure(&cluster.client, &options)
        .await
        .expect("ensured again");
    let again = services
        .get(kube_dns::NAME)
        .await
        .expect("kube-dns Service");
    assert_eq!(
        again.metadata.resource_version,
        service.metadata.resource_version
    );
}
