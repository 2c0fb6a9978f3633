//! httpGet and tcpSocket probes, over plain sockets (the pod IP, or the
//! probe's `host`). Named ports are looked up in the container's ports.

use k8s_openapi::api::core::v1::{Container, HTTPGetAction, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn port_number(port: &IntOrString, c: &Container) -> Option<u16> {
    match port {
        IntOrString::Int(p) => u16::try_from(*p).ok(),
        IntOrString::String(name) => c
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok())
            .or_else(|| name.parse().ok()),
    }
}

fn authority(host: Option<&String>, pod_ip: &str, port: u16) -> String {
    let host = host
        .filter(|h| !h.is_empty())
        .map_or(pod_ip, |h| h.as_str());
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

pub async fn tcp_socket(t: &TCPSocketAction, c: &Container, pod_ip: &str) -> bool {
    let Some(port) = port_number(&t.port, c) else {
        return false;
    };
    TcpStream::connect(authority(t.host.as_ref(), pod_ip, port))
        .await
        .is_ok()
}

/// A GET answered with a status in [200, 400) is a success, as upstream.
pub async fn http_get(h: &HTTPGetAction, c: &Container, pod_ip: &str) -> bool {
    if h.scheme.as_deref() == Some("HTTPS") {
        tracing::warn!(
            container = c.name,
            "HTTPS probes are not supported yet: failing"
        );
        return false;
    }
    let Some(port) = port_number(&h.port, c) else {
        return false;
    };
    let addr = authority(h.host.as_ref(), pod_ip, port);
    let path = h.path.as_deref().filter(|p| !p.is_empty()).unwrap_or("/");
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n"
    );
    for header in h.http_headers.iter().flatten() {
        request.push_str(&format!("{}: {}\r\n", header.name, header.value));
    }
    request.push_str("\r\n");
    match exchange(&addr, request.as_bytes()).await {
        Some(code) => (200..400).contains(&code),
        None => false,
    }
}

/// Sends the request and reads the status code of the response.
async fn exchange(addr: &str, request: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream.write_all(request).await.ok()?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 4096 {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    line.split_whitespace().nth(1)?.parse().ok()
}
