//! DNS benchmark: 1,000 Services × 10 endpoints served on 127.0.0.1, driven
//! by N concurrent UDP clients on the same machine for a fixed time.
//!
//! `cargo run --release -p berth-dns --example dns_bench -- [seconds] [clients] [server-threads]`
//! prints the index build and update times, queries/s and latency percentiles.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use berth_dns::{Catalog, DnsOptions, DnsServer, RecordType, Zone};
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::Name;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use tokio::net::UdpSocket;

const SERVICES: usize = 1000;
const ENDPOINTS: usize = 10;

fn meta(name: &str, labels: Option<(&str, &str)>) -> ObjectMeta {
    ObjectMeta {
        namespace: Some("bench".to_string()),
        name: Some(name.to_string()),
        labels: labels.map(|(k, v)| [(k.to_string(), v.to_string())].into()),
        ..ObjectMeta::default()
    }
}

/// Service `i`: every tenth headless, the rest ClusterIP 10.43.x.y.
fn service(i: usize) -> Service {
    let cluster_ip = if i.is_multiple_of(10) {
        "None".to_string()
    } else {
        format!("10.43.{}.{}", i / 250, i % 250 + 1)
    };
    Service {
        metadata: meta(&format!("svc-{i}"), None),
        spec: Some(ServiceSpec {
            cluster_ip: Some(cluster_ip),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

fn endpoint(i: usize, j: usize) -> Endpoint {
    let n = i * ENDPOINTS + j;
    Endpoint {
        addresses: vec![format!("10.42.{}.{}", n / 250, n % 250 + 1)],
        hostname: i.is_multiple_of(10).then(|| format!("svc-{i}-{j}")),
        conditions: Some(EndpointConditions {
            ready: Some(true),
            ..EndpointConditions::default()
        }),
        ..Endpoint::default()
    }
}

fn slice(i: usize, endpoints: usize) -> EndpointSlice {
    EndpointSlice {
        metadata: meta(
            &format!("svc-{i}-abcde"),
            Some(("kubernetes.io/service-name", &format!("svc-{i}"))),
        ),
        address_type: "IPv4".into(),
        endpoints: (0..endpoints).map(|j| endpoint(i, j)).collect(),
        ports: Some(vec![EndpointPort {
            name: Some("http".into()),
            port: Some(8080),
            ..EndpointPort::default()
        }]),
    }
}

/// The query mix: ClusterIP A, headless A, SRV, PTR, and search-path misses.
fn queries() -> Vec<Vec<u8>> {
    let mut names: Vec<(String, RecordType)> = Vec::new();
    for i in 0..SERVICES {
        names.push((format!("svc-{i}.bench.svc.cluster.local."), RecordType::A));
        if i % 10 == 1 {
            names.push((
                format!("_http._tcp.svc-{i}.bench.svc.cluster.local."),
                RecordType::SRV,
            ));
            names.push((
                format!("{}.0.43.10.in-addr.arpa.", i % 250 + 1),
                RecordType::PTR,
            ));
            names.push((
                format!("svc-{i}.bench.svc.cluster.local.default.svc.cluster.local."),
                RecordType::A,
            ));
        }
    }
    names
        .into_iter()
        .map(|(name, rtype)| {
            let mut message = Message::query();
            message.metadata.recursion_desired = true;
            message.add_query(Query::query(Name::from_ascii(&name).expect("name"), rtype));
            message.to_vec().expect("encode")
        })
        .collect()
}

fn build_index() -> berth_dns::Index {
    let services: Vec<Service> = (0..SERVICES).map(service).collect();
    let slices: Vec<EndpointSlice> = (0..SERVICES).map(|i| slice(i, ENDPOINTS)).collect();
    let zone = || Zone::new("cluster.local", 5).expect("zone");
    let started = Instant::now();
    let index = Catalog::index_of(zone(), &services, &slices);
    println!(
        "index: {} Services x {ENDPOINTS} endpoints built in {:?}",
        index.service_count(),
        started.elapsed()
    );

    let mut catalog = Catalog::new(zone());
    catalog.replace_services(services);
    catalog.replace_slices(slices);
    let _ = catalog.snapshot(true);
    let started = Instant::now();
    catalog.apply_slice(slice(7, ENDPOINTS - 1));
    let _ = catalog.snapshot(true);
    println!(
        "index: one endpoint removed and a new snapshot published in {:?}",
        started.elapsed()
    );
    index
}

/// One closed-loop client: send, wait for the matching reply, repeat.
async fn client(
    server: SocketAddr,
    queries: Vec<Vec<u8>>,
    offset: usize,
    until: Instant,
) -> (Vec<u32>, u64) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    socket.connect(server).await.expect("connect");
    let (mut latencies, mut lost) = (Vec::with_capacity(1 << 18), 0u64);
    let mut buf = [0u8; 4096];
    let mut n = offset;
    while Instant::now() < until {
        let mut query = queries[n % queries.len()].clone();
        let id = (n as u16).to_be_bytes();
        query[..2].copy_from_slice(&id);
        n += 1;
        let sent = Instant::now();
        socket.send(&query).await.expect("send");
        loop {
            match tokio::time::timeout(Duration::from_millis(500), socket.recv(&mut buf)).await {
                Ok(Ok(len)) if len >= 2 && buf[..2] == id => {
                    latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                    break;
                }
                Ok(_) => continue,
                Err(_) => {
                    lost += 1;
                    break;
                }
            }
        }
    }
    (latencies, lost)
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let seconds = args.first().copied().unwrap_or(10) as u64;
    let clients = args.get(1).copied().unwrap_or(16);
    let threads = args.get(2).copied().unwrap_or(2);
    let index = build_index();

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("rt");
    let options = DnsOptions {
        listen: "127.0.0.1:0".parse().expect("addr"),
        upstreams: vec!["127.0.0.1:9".parse().expect("addr")],
        ..DnsOptions::default()
    };
    let server = server_rt.block_on(DnsServer::bind(options)).expect("bind");
    server.publish(index);
    let addr = server.local_addr();
    server_rt.spawn(server.serve(std::future::pending()));

    let load_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let queries = queries();
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let results = load_rt.block_on(async {
        let tasks: Vec<_> = (0..clients)
            .map(|c| tokio::spawn(client(addr, queries.clone(), c * 7919, until)))
            .collect();
        futures::future::join_all(tasks).await
    });
    let elapsed = started.elapsed().as_secs_f64();
    let (mut latencies, mut lost) = (Vec::new(), 0);
    for (l, n) in results.into_iter().map(|r| r.expect("client")) {
        latencies.extend(l);
        lost += n;
    }
    latencies.sort_unstable();
    println!(
        "load: {clients} UDP clients for {elapsed:.1} s against {threads} server threads: {} queries, {:.0} queries/s, \
         p50 {} µs, p99 {} µs, p99.9 {} µs, max {} µs, lost {lost}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 0.999),
        latencies.last().copied().unwrap_or(0),
    );
    server_rt.shutdown_background();
}
