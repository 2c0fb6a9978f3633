//! A minimal DNS client for the tests: one UDP query, one response.

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::net::UdpSocket;

/// Sends one query for `name`/`rtype` to `server`; `None` on timeout.
pub async fn query(server: SocketAddr, name: &str, rtype: RecordType) -> Option<Message> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.ok()?;
    let mut request = Message::query();
    request.metadata.recursion_desired = true;
    request.add_query(Query::query(Name::from_ascii(name).ok()?, rtype));
    socket.send_to(&request.to_vec().ok()?, server).await.ok()?;
    let mut buf = vec![0u8; 4096];
    let (len, _) = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    let response = Message::from_vec(&buf[..len]).ok()?;
    (response.metadata.id == request.metadata.id).then_some(response)
}

/// The A/AAAA addresses of a response, sorted.
pub fn addresses(response: &Message) -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = response
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect();
    ips.sort();
    ips
}

/// The answers' data in text form.
pub fn data(response: &Message) -> Vec<String> {
    response
        .answers
        .iter()
        .map(|r| r.data.to_string())
        .collect()
}

pub fn rcode(response: &Message) -> ResponseCode {
    response.metadata.response_code
}
