//! Forwarding names outside the cluster domain to upstream resolvers: UDP
//! first, TCP when the UDP answer is truncated, each upstream in turn with a
//! timeout. The caller answers SERVFAIL when every upstream fails.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Upstream resolvers and how long each may take.
#[derive(Clone, Debug)]
pub(crate) struct Forwarder {
    upstreams: Vec<SocketAddr>,
    timeout: Duration,
}

impl Forwarder {
    pub(crate) fn new(upstreams: Vec<SocketAddr>, timeout: Duration) -> Self {
        Self { upstreams, timeout }
    }

    /// The first upstream response to `query` (whose ID is `id`), or `None`
    /// when every upstream failed or timed out.
    pub(crate) async fn forward(&self, query: &[u8], id: u16) -> Option<Vec<u8>> {
        for upstream in &self.upstreams {
            match tokio::time::timeout(self.timeout, exchange(*upstream, query, id)).await {
                Ok(Ok(response)) => return Some(response),
                Ok(Err(e)) => tracing::debug!(%upstream, error = %e, "upstream resolver failed"),
                Err(_) => tracing::debug!(%upstream, "upstream resolver timed out"),
            }
        }
        None
    }
}

async fn exchange(upstream: SocketAddr, query: &[u8], id: u16) -> io::Result<Vec<u8>> {
    let response = udp_exchange(upstream, query, id).await?;
    if is_truncated(&response) {
        return tcp_exchange(upstream, query, id).await;
    }
    Ok(response)
}

fn is_truncated(response: &[u8]) -> bool {
    response.get(2).is_some_and(|flags| flags & 0x02 != 0)
}

fn matches(response: &[u8], id: u16) -> bool {
    response.len() >= 12
        && u16::from_be_bytes([response[0], response[1]]) == id
        && response[2] & 0x80 != 0
}

async fn udp_exchange(upstream: SocketAddr, query: &[u8], id: u16) -> io::Result<Vec<u8>> {
    let local: SocketAddr = if upstream.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(upstream).await?;
    socket.send(query).await?;
    let mut buf = vec![0u8; 65535];
    loop {
        let len = socket.recv(&mut buf).await?;
        if matches(&buf[..len], id) {
            buf.truncate(len);
            return Ok(buf);
        }
    }
}

async fn tcp_exchange(upstream: SocketAddr, query: &[u8], id: u16) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(upstream).await?;
    let len = u16::try_from(query.len()).map_err(|_| io::Error::other("query too long"))?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(query);
    stream.write_all(&framed).await?;
    let len = stream.read_u16().await?;
    let mut response = vec![0u8; usize::from(len)];
    stream.read_exact(&mut response).await?;
    if !matches(&response, id) {
        return Err(io::Error::other("upstream answered another query over TCP"));
    }
    Ok(response)
}
