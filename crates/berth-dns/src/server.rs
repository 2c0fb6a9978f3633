//! The DNS server: one UDP socket read by a few worker tasks and a TCP
//! listener, both answering from the current [`Index`] snapshot (an
//! `ArcSwap` load per query: lookups never wait for updates) and forwarding
//! other names on spawned tasks so a slow upstream never stalls the loop.

mod response;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use hickory_proto::op::{Message, ResponseCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinSet;

use crate::forward::Forwarder;
use crate::index::Index;
use crate::{DnsError, DnsOptions};
pub(crate) use response::{Handled, Transport, handle};

/// How long an idle TCP client connection is kept.
const TCP_IDLE: Duration = Duration::from_secs(10);

/// The snapshot slot and forwarder every task shares.
pub(crate) struct Shared {
    pub(crate) index: ArcSwap<Index>,
    pub(crate) forwarder: Forwarder,
}

/// A bound (not yet serving) DNS server.
pub struct DnsServer {
    pub(crate) options: DnsOptions,
    udp: Arc<UdpSocket>,
    tcp: TcpListener,
    pub(crate) shared: Arc<Shared>,
}

impl DnsServer {
    /// Validates `options`, reads the upstream resolvers and binds UDP and
    /// TCP on the same address; nothing is served until [`DnsServer::serve`].
    pub async fn bind(options: DnsOptions) -> Result<Self, DnsError> {
        options.validate()?;
        let zone = crate::Zone::new(&options.cluster_domain, options.ttl)?;
        let upstreams = options.resolve_upstreams()?;
        if upstreams.is_empty() {
            tracing::warn!("no upstream resolvers: names outside the cluster domain get SERVFAIL");
        }
        let (udp, tcp) = bind_pair(options.listen).await?;
        let shared = Arc::new(Shared {
            index: ArcSwap::from_pointee(Index::empty(zone)),
            forwarder: Forwarder::new(upstreams, options.forward_timeout),
        });
        Ok(Self {
            options,
            udp: Arc::new(udp),
            tcp,
            shared,
        })
    }

    /// The address UDP and TCP are bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.tcp.local_addr().unwrap_or(self.options.listen)
    }

    /// Replaces the index served (the watchers do this on every change;
    /// benchmarks and tests install a fixed one).
    pub fn publish(&self, index: Index) {
        self.shared.index.store(Arc::new(index));
    }

    /// Serves until `shutdown` completes.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), DnsError> {
        tracing::info!(addr = %self.local_addr(), "cluster DNS serving");
        let mut tasks = JoinSet::new();
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .max(2);
        for _ in 0..workers {
            tasks.spawn(udp_worker(self.udp.clone(), self.shared.clone()));
        }
        tasks.spawn(tcp_acceptor(self.tcp, self.shared.clone()));
        shutdown.await;
        tasks.shutdown().await;
        Ok(())
    }
}

/// UDP and TCP on one port; with port 0 the TCP side takes UDP's port,
/// retrying a few free ports if TCP's is taken.
async fn bind_pair(listen: SocketAddr) -> Result<(UdpSocket, TcpListener), DnsError> {
    let bind_err = |addr, source| DnsError::Bind { addr, source };
    let mut attempts = 0;
    loop {
        let udp = UdpSocket::bind(listen)
            .await
            .map_err(|e| bind_err(listen, e))?;
        let addr = udp.local_addr().map_err(|e| bind_err(listen, e))?;
        match TcpListener::bind(addr).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(_) if listen.port() == 0 && attempts < 16 => attempts += 1,
            Err(e) => return Err(bind_err(addr, e)),
        }
    }
}

async fn udp_worker(socket: Arc<UdpSocket>, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                tracing::debug!(error = %e, "receiving a DNS datagram");
                continue;
            }
        };
        let handled = handle(&shared.index.load(), &buf[..len], Transport::Udp);
        match handled {
            Handled::Reply(bytes) => {
                if let Err(e) = socket.send_to(&bytes, peer).await {
                    tracing::debug!(%peer, error = %e, "sending a DNS response");
                }
            }
            Handled::Forward(request) => {
                let (socket, shared, query) = (socket.clone(), shared.clone(), buf[..len].to_vec());
                tokio::spawn(async move {
                    let bytes = forward(&shared, &query, &request, Transport::Udp).await;
                    let _ = socket.send_to(&bytes, peer).await;
                });
            }
            Handled::Drop => {}
        }
    }
}

/// The upstream answer relayed to the client, or SERVFAIL.
async fn forward(
    shared: &Shared,
    query: &[u8],
    request: &Message,
    transport: Transport,
) -> Vec<u8> {
    match shared.forwarder.forward(query, request.metadata.id).await {
        Some(upstream) => response::relay(upstream, request, transport),
        None => response::error(request, ResponseCode::ServFail, transport),
    }
}

async fn tcp_acceptor(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(tcp_connection(stream, shared.clone()));
                }
                Err(e) => tracing::debug!(error = %e, "accepting a DNS connection"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Serves length-prefixed requests on one connection, in order, until the
/// client closes it or stays idle.
async fn tcp_connection(mut stream: TcpStream, shared: Arc<Shared>) {
    loop {
        let Ok(Ok(len)) = tokio::time::timeout(TCP_IDLE, stream.read_u16()).await else {
            return;
        };
        let mut query = vec![0u8; usize::from(len)];
        if stream.read_exact(&mut query).await.is_err() {
            return;
        }
        let handled = handle(&shared.index.load(), &query, Transport::Tcp);
        let bytes = match handled {
            Handled::Reply(bytes) => bytes,
            Handled::Forward(request) => forward(&shared, &query, &request, Transport::Tcp).await,
            Handled::Drop => continue,
        };
        let Ok(len) = u16::try_from(bytes.len()) else {
            return;
        };
        let mut framed = Vec::with_capacity(bytes.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&bytes);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}
