//! Forwarding to upstream resolvers that the test runs on 127.0.0.1: UDP,
//! TCP fallback on truncation, the next upstream after a silent one, and
//! SERVFAIL when none answers. No API server is needed: the server runs with
//! an empty, ready index.

mod dns_client;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use berth_dns::{Catalog, DnsOptions, DnsServer, RecordType, Zone};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::oneshot;

use dns_client::{addresses, query, rcode};

/// A fake upstream: answers every query with `answer`; over UDP with the
/// TC bit and no records when `truncate_udp`; over TCP always in full.
struct FakeUpstream {
    addr: SocketAddr,
    _tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn reply(request: &[u8], answer: Ipv4Addr, truncated: bool) -> Vec<u8> {
    let request = Message::from_vec(request).expect("query decodes");
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata.recursion_available = true;
    response.add_queries(request.queries.iter().cloned());
    if truncated {
        response.metadata.truncation = true;
    } else {
        let name = request.queries[0].name().clone();
        response.add_answer(Record::from_rdata(name, 60, RData::A(A(answer))));
    }
    response.to_vec().expect("response encodes")
}

impl FakeUpstream {
    async fn start(answer: Ipv4Addr, truncate_udp: bool) -> Self {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
        let addr = udp.local_addr().expect("addr");
        let tcp = TcpListener::bind(addr).await.expect("tcp on the same port");
        let udp_task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok((len, peer)) = udp.recv_from(&mut buf).await {
                let _ = udp
                    .send_to(&reply(&buf[..len], answer, truncate_udp), peer)
                    .await;
            }
        });
        let tcp_task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = tcp.accept().await {
                let len = stream.read_u16().await.expect("length");
                let mut buf = vec![0u8; usize::from(len)];
                stream.read_exact(&mut buf).await.expect("query");
                let bytes = reply(&buf, answer, false);
                let len = u16::try_from(bytes.len()).expect("fits");
                stream.write_all(&len.to_be_bytes()).await.expect("write");
                stream.write_all(&bytes).await.expect("write");
            }
        });
        Self {
            addr,
            _tasks: vec![udp_task, tcp_task],
        }
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        for task in &self._tasks {
            task.abort();
        }
    }
}

/// A DNS server on 127.0.0.1 with a ready, empty index; stops when dropped.
struct Running {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn serve(upstreams: Vec<SocketAddr>) -> Running {
    let options = DnsOptions {
        listen: "127.0.0.1:0".parse().expect("addr"),
        upstreams,
        forward_timeout: Duration::from_millis(300),
        ..DnsOptions::default()
    };
    let server = DnsServer::bind(options).await.expect("binds");
    let zone = Zone::new("cluster.local", 5).expect("zone");
    server.publish(Catalog::index_of(zone, &[], &[]));
    let addr = server.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server.serve(async move {
        let _ = stopped.await;
    }));
    Running { addr, _stop: stop }
}

#[tokio::test]
async fn names_outside_the_cluster_domain_are_forwarded_upstream() {
    let upstream = FakeUpstream::start(Ipv4Addr::new(192, 0, 2, 7), false).await;
    let dns = serve(vec![upstream.addr]).await;
    let response = query(dns.addr, "www.example.com.", RecordType::A)
        .await
        .expect("answer");
    assert_eq!(rcode(&response), ResponseCode::NoError);
    assert_eq!(
        addresses(&response),
        vec!["192.0.2.7".parse::<std::net::IpAddr>().expect("ip")]
    );
}

#[tokio::test]
async fn a_truncated_upstream_answer_is_retried_over_tcp() {
    let upstream = FakeUpstream::start(Ipv4Addr::new(192, 0, 2, 8), true).await;
    let dns = serve(vec![upstream.addr]).await;
    let response = query(dns.addr, "big.example.com.", RecordType::A)
        .await
        .expect("answer");
    assert!(!response.metadata.truncation);
    assert_eq!(
        addresses(&response),
        vec!["192.0.2.8".parse::<std::net::IpAddr>().expect("ip")]
    );
}

#[tokio::test]
async fn a_silent_upstream_is_skipped_and_none_answering_is_servfail() {
    let silent = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    let silent_addr = silent.local_addr().expect("addr");
    let upstream = FakeUpstream::start(Ipv4Addr::new(192, 0, 2, 9), false).await;
    let dns = serve(vec![silent_addr, upstream.addr]).await;
    let response = query(dns.addr, "www.example.com.", RecordType::A)
        .await
        .expect("answer");
    assert_eq!(
        addresses(&response),
        vec!["192.0.2.9".parse::<std::net::IpAddr>().expect("ip")]
    );

    let only_silent = serve(vec![silent_addr]).await;
    let response = query(only_silent.addr, "www.example.com.", RecordType::A)
        .await
        .expect("answer");
    assert_eq!(rcode(&response), ResponseCode::ServFail);
}

#[tokio::test]
async fn cluster_names_are_answered_authoritatively_without_forwarding() {
    let silent = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    let dns = serve(vec![silent.local_addr().expect("addr")]).await;
    let response = query(dns.addr, "nope.default.svc.cluster.local.", RecordType::A)
        .await
        .expect("answer");
    assert_eq!(rcode(&response), ResponseCode::NXDomain);
    assert!(response.metadata.authoritative);
    assert_eq!(response.authorities.len(), 1, "the zone's SOA");
}
