//! `exec`, `attach` and `portForward`: the runtime prepares the stream
//! (CRI `Exec`/`Attach`/`PortForward` return a URL on its streaming
//! server), and the client's upgrade request is proxied there: same method,
//! the negotiation headers only. On `101 Switching Protocols` both upgraded
//! connections are piped into each other byte for byte, so whatever the
//! runtime speaks (SPDY `v4.channel.k8s.io`, `portforward.k8s.io`, its
//! WebSocket protocols) reaches the client unchanged; any other answer (a
//! refused WebSocket protocol: kubectl then falls back to SPDY) is passed
//! back as it is.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::response::Body;
use super::{ContainerRef, KubeletApiError, KubeletRuntime, lookup};
use crate::cri::api;

const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// The streams and command a request asks for (upstream's query names).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StreamOptions {
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

impl StreamOptions {
    /// Reads the query; a TTY merges stderr into stdout, as upstream's.
    pub fn from_query(query: Option<&str>) -> Result<Self, KubeletApiError> {
        let flag = |v: &str| matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True");
        let mut o = StreamOptions::default();
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "command" => o.command.push(v.into_owned()),
                "input" | "stdin" => o.stdin = flag(&v),
                "output" | "stdout" => o.stdout = flag(&v),
                "error" | "stderr" => o.stderr = flag(&v),
                "tty" => o.tty = flag(&v),
                _ => {}
            }
        }
        if o.tty {
            o.stderr = false;
        }
        if !(o.stdin || o.stdout || o.stderr) {
            return Err(KubeletApiError::BadRequest(
                "you must specify at least 1 of stdin, stdout, stderr".into(),
            ));
        }
        Ok(o)
    }
}

/// `/exec/{ns}/{pod}/{container}`.
pub async fn exec(
    runtime: &dyn KubeletRuntime,
    c: &ContainerRef,
    req: Request<Incoming>,
) -> Result<Response<Body>, KubeletApiError> {
    let o = StreamOptions::from_query(req.uri().query())?;
    if o.command.is_empty() {
        return Err(KubeletApiError::BadRequest(
            "you must specify at least one command for the container".into(),
        ));
    }
    let container = lookup::running_container(runtime, c).await?;
    let url = runtime
        .exec(api::ExecRequest {
            container_id: container.id,
            cmd: o.command,
            tty: o.tty,
            stdin: o.stdin,
            stdout: o.stdout,
            stderr: o.stderr,
        })
        .await?;
    proxy(&url, req).await
}

/// `/attach/{ns}/{pod}/{container}`.
pub async fn attach(
    runtime: &dyn KubeletRuntime,
    c: &ContainerRef,
    req: Request<Incoming>,
) -> Result<Response<Body>, KubeletApiError> {
    let o = StreamOptions::from_query(req.uri().query())?;
    let container = lookup::running_container(runtime, c).await?;
    let url = runtime
        .attach(api::AttachRequest {
            container_id: container.id,
            stdin: o.stdin,
            tty: o.tty,
            stdout: o.stdout,
            stderr: o.stderr,
        })
        .await?;
    proxy(&url, req).await
}

/// `/portForward/{ns}/{pod}`: ports come with each stream (SPDY headers)
/// or, for WebSocket clients, as `port=` in the query.
pub async fn port_forward(
    runtime: &dyn KubeletRuntime,
    namespace: &str,
    pod: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, KubeletApiError> {
    let mut port = Vec::new();
    for (k, v) in form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()) {
        if k == "port" {
            let p = v.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                KubeletApiError::BadRequest(format!("invalid port {v:?}: want 1-65535"))
            })?;
            port.push(i32::from(p));
        }
    }
    let sandbox = lookup::ready_sandbox(runtime, namespace, pod).await?;
    let url = runtime
        .port_forward(api::PortForwardRequest {
            pod_sandbox_id: sandbox.id,
            port,
        })
        .await?;
    proxy(&url, req).await
}

/// The headers a streaming protocol negotiates with.
fn negotiation_headers(from: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in from {
        let n = name.as_str();
        let keep = n == "connection"
            || n == "upgrade"
            || n.starts_with("sec-websocket-")
            || n == "x-stream-protocol-version"
            || n == "origin"
            || n == "user-agent";
        if keep {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// Sends the client's request to the runtime's streaming URL and answers
/// with what the runtime answers.
async fn proxy(url: &str, req: Request<Incoming>) -> Result<Response<Body>, KubeletApiError> {
    let failed = |message: String| KubeletApiError::Streaming {
        url: url.to_string(),
        message,
    };
    let uri: Uri = url.parse().map_err(|e| failed(format!("{e}")))?;
    let (Some("http"), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(failed(
            "want an http:// URL (TLS streaming is not supported)".into(),
        ));
    };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let addr = (host, authority.port_u16().unwrap_or(80));
    let tcp = tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| failed("dial timed out".into()))?
        .map_err(|e| failed(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| failed(e.to_string()))?;
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(error = %e, "runtime streaming connection ended");
        }
    });
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = Request::builder()
        .method(req.method().clone())
        .uri(path)
        .body(Empty::<Bytes>::new())
        .map_err(|e| failed(e.to_string()))?;
    *out.headers_mut() = negotiation_headers(req.headers());
    if let Ok(h) = header::HeaderValue::from_str(authority.as_str()) {
        out.headers_mut().insert(header::HOST, h);
    }
    let resp = sender
        .send_request(out)
        .await
        .map_err(|e| failed(e.to_string()))?;
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        return Ok(join_upgrades(req, resp));
    }
    let (parts, body) = resp.into_parts();
    Ok(Response::from_parts(parts, body.boxed()))
}

/// Answers 101 with the runtime's headers, then pipes the client's and the
/// runtime's upgraded connections into each other until either closes.
fn join_upgrades(req: Request<Incoming>, resp: Response<Incoming>) -> Response<Body> {
    let mut answer = Response::new(Empty::<Bytes>::new().map_err(|e| match e {}).boxed());
    *answer.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *answer.headers_mut() = resp.headers().clone();
    tokio::spawn(async move {
        let (client, runtime) =
            match tokio::join!(hyper::upgrade::on(req), hyper::upgrade::on(resp)) {
                (Ok(c), Ok(r)) => (c, r),
                (c, r) => {
                    tracing::debug!(client = ?c.err(), runtime = ?r.err(), "stream upgrade failed");
                    return;
                }
            };
        let (mut client, mut runtime) = (TokioIo::new(client), TokioIo::new(runtime));
        if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut runtime).await {
            tracing::debug!(error = %e, "stream to the runtime ended");
        }
    });
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_options_read_kubectls_query_and_a_tty_drops_stderr() {
        let q = "command=sh&command=-c&command=echo+hi&container=c&stdin=true&stdout=true&stderr=true&tty=true";
        let o = StreamOptions::from_query(Some(q)).expect("valid");
        assert_eq!(o.command, vec!["sh", "-c", "echo hi"]);
        assert!(o.stdin && o.stdout && o.tty && !o.stderr);
        let one = StreamOptions::from_query(Some("command=ls&output=1")).expect("valid");
        assert!(one.stdout && !one.stdin);
    }

    #[test]
    fn a_request_without_any_stream_is_refused() {
        let r = StreamOptions::from_query(Some("command=ls"));
        assert!(matches!(r, Err(KubeletApiError::BadRequest(m)) if m.contains("at least 1 of")));
    }

    #[test]
    fn only_negotiation_headers_reach_the_runtime() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Bearer x".parse().expect("value"));
        h.append(
            "x-stream-protocol-version",
            "v4.channel.k8s.io".parse().expect("value"),
        );
        h.append(
            "x-stream-protocol-version",
            "channel.k8s.io".parse().expect("value"),
        );
        h.insert(header::UPGRADE, "SPDY/3.1".parse().expect("value"));
        let out = negotiation_headers(&h);
        assert!(out.get(header::AUTHORIZATION).is_none());
        assert_eq!(out.get_all("x-stream-protocol-version").iter().count(), 2);
    }
}
