//! The kubelet API: the node agent's HTTPS server that the API server's
//! `pods/log`, `pods/exec`, `pods/attach` and `pods/portforward` forward to.
//!
//! TLS with a self-signed serving certificate made at start (the API server
//! does not verify it, as upstream without `--kubelet-certificate-authority`)
//! and client certificates required, signed by the cluster CA: only the API
//! server or an admin reaches it. Routes, as upstream's kubelet:
//! `GET /healthz`, `GET /stats/summary` (CRI stats and `/proc`),
//! `GET /containerLogs/{ns}/{pod}/{container}` (from the CRI
//! log files), `GET|POST /exec|attach/{ns}/{pod}/{container}` and
//! `GET|POST /portForward/{ns}/{pod}` (CRI streaming URLs, proxied).
//!
//! It is not an authorizer (any CA-signed client may do anything), and it
//! does not serve `/metrics`, `/pods` or `/run` yet.

mod logs;
mod lookup;
mod response;
mod route;
mod stats;
mod stream;
#[cfg(test)]
mod tests;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::cri::stats::StatsService;
use crate::cri::streaming::StreamingService;
use crate::cri::{CriError, RuntimeService};
pub use response::Body;
pub use route::{ContainerRef, Route};
pub use tls::{ca_from_pem, serving_config};

/// What the kubelet API needs of the container runtime.
pub trait KubeletRuntime: RuntimeService + StreamingService + StatsService {}
impl<T: RuntimeService + StreamingService + StatsService> KubeletRuntime for T {}

/// What failed, at start or in one request. [`response`] turns the request
/// errors into HTTP answers (a `Status` body, as the API server relays it).
#[derive(Debug, thiserror::Error)]
pub enum KubeletApiError {
    #[error("kubelet API TLS configuration: {0}")]
    Tls(String),
    #[error("kubelet API: listening on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the method {0} is not allowed here")]
    MethodNotAllowed(String),
    #[error(transparent)]
    Runtime(#[from] CriError),
    #[error("the runtime's streaming server at {url}: {message}")]
    Streaming { url: String, message: String },
}

/// How the server is set up: where it listens, the names its certificate
/// carries, and the CA that signs acceptable client certificates.
#[derive(Debug, Clone)]
pub struct KubeletApiConfig {
    /// The node this agent registers (`/stats/summary` names it).
    pub node_name: String,
    /// `--kubelet-address`:`--kubelet-port` (port 0 picks a free one).
    pub address: SocketAddr,
    /// Subject alternative names: the node's IPs and hostname.
    pub names: Vec<String>,
    /// The cluster CA's certificates (DER), from the agent's kubeconfig
    /// (`kube::Config::root_cert`); [`ca_from_pem`] reads a PEM file.
    pub client_ca: Vec<Vec<u8>>,
}

/// A bound kubelet API server, not yet serving.
pub struct KubeletApiServer {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    node_name: Arc<str>,
}

impl KubeletApiServer {
    /// Makes the certificate and binds the address.
    pub async fn bind(config: &KubeletApiConfig) -> Result<Self, KubeletApiError> {
        let tls = serving_config(&config.names, &config.client_ca)?;
        let listener =
            TcpListener::bind(config.address)
                .await
                .map_err(|source| KubeletApiError::Bind {
                    addr: config.address,
                    source,
                })?;
        Ok(Self {
            listener,
            acceptor: TlsAcceptor::from(Arc::new(tls)),
            node_name: Arc::from(config.node_name.as_str()),
        })
    }

    /// The bound address: its port goes into the Node's
    /// `status.daemonEndpoints.kubeletEndpoint.Port`.
    pub fn local_addr(&self) -> Result<SocketAddr, KubeletApiError> {
        let addr = self.listener.local_addr();
        addr.map_err(|source| KubeletApiError::Bind {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
        })
    }

    /// Accepts connections until `shutdown` resolves. Streams already open
    /// (a `logs -f`, an exec) end with their clients.
    pub async fn serve(
        self,
        runtime: Arc<dyn KubeletRuntime>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        loop {
            let (tcp, peer) = tokio::select! {
                _ = &mut shutdown => return,
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "kubelet API: accepting a connection");
                        continue;
                    }
                },
            };
            let _ = tcp.set_nodelay(true);
            let (acceptor, runtime) = (self.acceptor.clone(), runtime.clone());
            let node_name = self.node_name.clone();
            tokio::spawn(async move {
                let stream = match acceptor.accept(tcp).await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "kubelet API: TLS handshake failed");
                        return;
                    }
                };
                let service = service_fn(move |req: http::Request<Incoming>| {
                    let (runtime, node) = (runtime.clone(), node_name.clone());
                    async move { Ok::<_, std::convert::Infallible>(handle(runtime, &node, req).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades();
                if let Err(e) = conn.await {
                    tracing::debug!(%peer, error = %e, "kubelet API connection ended");
                }
            });
        }
    }
}

/// One request, start to finish: errors become HTTP answers here.
pub async fn handle(
    runtime: Arc<dyn KubeletRuntime>,
    node_name: &str,
    req: http::Request<Incoming>,
) -> http::Response<Body> {
    let result = match route::parse(req.method(), req.uri().path()) {
        Ok(Route::Healthz) => Ok(response::text(http::StatusCode::OK, "ok")),
        Ok(Route::StatsSummary) => stats::serve(runtime.as_ref(), node_name).await,
        Ok(Route::ContainerLogs(c)) => logs::serve(runtime, &c, req.uri().query()).await,
        Ok(Route::Exec(c)) => stream::exec(runtime.as_ref(), &c, req).await,
        Ok(Route::Attach(c)) => stream::attach(runtime.as_ref(), &c, req).await,
        Ok(Route::PortForward { namespace, pod }) => {
            stream::port_forward(runtime.as_ref(), &namespace, &pod, req).await
        }
        Err(e) => Err(e),
    };
    result.unwrap_or_else(|e| {
        tracing::debug!(error = %e, "kubelet API request failed");
        response::error(&e)
    })
}
