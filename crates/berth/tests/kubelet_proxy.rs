//! The API server forwards `pods/log` to the kubelet of the pod's node (a
//! fake kubelet here: a TLS server on an ephemeral port that the Node
//! object names in `status.daemonEndpoints`), and `kubectl logs` prints
//! what the kubelet answers; pods without a node get upstream's error.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use berth_testkit::{Kubectl, TestServer};
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;

/// A kubelet that answers every request with a fixed log and records the
/// paths and queries it was asked for.
struct FakeKubelet {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn tls() -> rustls::ServerConfig {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).expect("cert");
    let key =
        rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).expect("key");
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .expect("server config");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

async fn fake_kubelet() -> FakeKubelet {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls()));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = seen.clone();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(stream) = acceptor.accept(tcp).await else {
                continue;
            };
            let record = record.clone();
            let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let uri = req.uri().to_string();
                record.lock().expect("lock").push(uri);
                async move {
                    Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(
                        b"line one\nline two\n",
                    ))))
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    FakeKubelet { addr, seen, task }
}

fn apply(k: &Kubectl, manifest: serde_json::Value) {
    k.run_with_stdin(&["apply", "-f", "-"], Some(&manifest.to_string()))
        .ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_reads_through_the_pods_kubelet() {
    let server = TestServer::start(Path::new(env!("CARGO_BIN_EXE_berth"))).expect("server");
    let k = Kubectl::new(&server.kubeconfig());
    let kubelet = fake_kubelet().await;
    apply(
        &k,
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}),
    );
    let status = json!({"status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet.addr.port()}}}});
    k.run(&[
        "patch",
        "node",
        "n1",
        "--subresource=status",
        "--type=merge",
        "-p",
        &status.to_string(),
    ])
    .ok();
    apply(
        &k,
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]}}),
    );
    apply(
        &k,
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two"},
        "spec": {"nodeName": "n1", "containers": [{"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}]}}),
    );
    apply(
        &k,
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pending"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
    );

    let out = k.run(&["logs", "p", "--tail=5", "--timestamps"]).ok();
    assert_eq!(out, "line one\nline two\n");
    let seen = kubelet.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].starts_with("/containerLogs/default/p/c?"),
        "{seen:?}"
    );
    assert!(
        seen[0].contains("tailLines=5") && seen[0].contains("timestamps=true"),
        "{seen:?}"
    );

    k.run(&["logs", "two", "-c", "b"]).ok();
    let err = k
        .run(&["get", "--raw", "/api/v1/namespaces/default/pods/two/log"])
        .err();
    assert!(
        err.contains("a container name must be specified for pod two, choose one of: [a b]"),
        "{err}"
    );
    let err = k.run(&["logs", "pending"]).err();
    assert!(
        err.contains("pod pending does not have a host assigned"),
        "{err}"
    );
    let err = k.run(&["logs", "missing"]).err();
    assert!(err.contains("pods \"missing\" not found"), "{err}");
}
