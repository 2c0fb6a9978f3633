//! One request forwarded to a kubelet over TLS: plain responses (logs) are
//! streamed back; a 101 Switching Protocols (exec, attach, port-forward)
//! joins the client's and the kubelet's upgraded connections.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, BodyStream, Empty, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::KubeletTarget;
use crate::error::{ApiError, ApiResult};
use crate::handler::ResponseBody;

const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

fn dial_error(target: &KubeletTarget, e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!(
        "error dialing backend: dial tcp {}:{}: {e}",
        target.host, target.port
    ))
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

/// A TLS connection to the kubelet with an HTTP/1.1 client on it.
async fn connect(tls: Arc<rustls::ClientConfig>, target: &KubeletTarget) -> ApiResult<Sender> {
    let addr = (target.host.as_str(), target.port);
    let tcp = tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| dial_error(target, "i/o timeout"))?
        .map_err(|e| dial_error(target, e))?;
    let _ = tcp.set_nodelay(true);
    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
        .map_err(|e| dial_error(target, e))?;
    let stream = TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(|e| dial_error(target, e))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| dial_error(target, e))?;
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(error = %e, "kubelet connection ended");
        }
    });
    Ok(sender)
}

/// The headers a streaming protocol negotiates with; everything else
/// (credentials above all) stays here.
fn forwarded_headers(from: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in from {
        let n = name.as_str();
        let keep = n == "connection"
            || n == "upgrade"
            || n.starts_with("sec-websocket-")
            || n == "x-stream-protocol-version"
            || n == "accept"
            || n == "user-agent";
        if keep {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// Sends `req`'s method and negotiation headers to the kubelet's path.
pub async fn forward(
    tls: Arc<rustls::ClientConfig>,
    target: &KubeletTarget,
    req: Request<Incoming>,
) -> ApiResult<Response<ResponseBody>> {
    let mut sender = connect(tls, target).await?;
    let mut out = Request::builder()
        .method(req.method().clone())
        .uri(&target.path_and_query)
        .body(Empty::<Bytes>::new())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    *out.headers_mut() = forwarded_headers(req.headers());
    if let Ok(host) = http::HeaderValue::from_str(&format!("{}:{}", target.host, target.port)) {
        out.headers_mut().insert(header::HOST, host);
    }
    let resp = sender
        .send_request(out)
        .await
        .map_err(|e| dial_error(target, e))?;
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        return Ok(join_upgrades(req, resp));
    }
    Ok(stream_back(resp))
}

/// Answers 101 with the kubelet's headers, then pipes both upgraded
/// connections into each other until either side closes.
fn join_upgrades(req: Request<Incoming>, resp: Response<Incoming>) -> Response<ResponseBody> {
    let mut answer = Response::new(Empty::<Bytes>::new().map_err(|e| match e {}).boxed());
    *answer.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *answer.headers_mut() = resp.headers().clone();
    tokio::spawn(async move {
        let (client, kubelet) =
            match tokio::join!(hyper::upgrade::on(req), hyper::upgrade::on(resp)) {
                (Ok(c), Ok(k)) => (c, k),
                (c, k) => {
                    tracing::debug!(client = ?c.err(), kubelet = ?k.err(), "upgrade failed");
                    return;
                }
            };
        let mut client = TokioIo::new(client);
        let mut kubelet = TokioIo::new(kubelet);
        if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut kubelet).await {
            tracing::debug!(error = %e, "stream to the kubelet ended");
        }
    });
    answer
}

/// The kubelet's status, content type and body, streamed (`logs -f`).
fn stream_back(resp: Response<Incoming>) -> Response<ResponseBody> {
    let (parts, body) = resp.into_parts();
    let frames = BodyStream::new(body)
        .take_while(|f| std::future::ready(f.is_ok()))
        .filter_map(|f| async move { f.ok().and_then(|f| f.into_data().ok()) })
        .map(|data| Ok::<_, Infallible>(Frame::data(data)));
    let mut answer = Response::new(BodyExt::boxed(StreamBody::new(frames)));
    *answer.status_mut() = parts.status;
    if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
        answer
            .headers_mut()
            .insert(header::CONTENT_TYPE, ct.clone());
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_not_forwarded_but_negotiation_is() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            "Bearer secret".parse().expect("valid"),
        );
        h.insert(header::UPGRADE, "websocket".parse().expect("valid"));
        h.insert(
            "sec-websocket-protocol",
            "v5.channel.k8s.io".parse().expect("valid"),
        );
        h.insert(
            "x-stream-protocol-version",
            "v4.channel.k8s.io".parse().expect("valid"),
        );
        let out = forwarded_headers(&h);
        assert!(out.get(header::AUTHORIZATION).is_none());
        assert_eq!(out.len(), 3);
    }
}
