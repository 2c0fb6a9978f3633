//! The server over real TLS on loopback with the fake runtime: clients
//! signed by the cluster CA are served, others are turned away.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use super::*;
use crate::cri::FakeRuntime;

/// Accepts the kubelet's self-signed certificate, as the API server does.
#[derive(Debug)]
struct AnyServer(rustls::crypto::WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// A CA (DER) and a client certificate and key it signed.
fn ca_and_client() -> (Vec<u8>, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "test-ca");
    let ca_cert = ca.self_signed(&ca_key).expect("CA cert");
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("client key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
    params.distinguished_name.push(DnType::CommonName, "admin");
    let cert = params.signed_by(&key, &issuer).expect("client cert");
    let key = PrivateKeyDer::try_from(key.serialize_der()).expect("key der");
    (ca_cert.der().to_vec(), cert.der().clone(), key)
}

fn client(identity: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>) -> TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyServer(provider.signature_verification_algorithms));
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(vec![cert], key)
            .expect("identity"),
        None => builder.with_no_client_auth(),
    };
    TlsConnector::from(Arc::new(config))
}

/// Sends `GET path` over a new connection; the whole answer, or the error.
async fn get(connector: &TlsConnector, addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let mut tls = connector.connect(name, tcp).await?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).await?;
    let mut answer = String::new();
    tls.read_to_string(&mut answer).await?;
    Ok(answer)
}

async fn start(ca: Vec<u8>) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let config = KubeletApiConfig {
        node_name: "n1".into(),
        address: SocketAddr::from(([127, 0, 0, 1], 0)),
        names: vec!["127.0.0.1".into()],
        client_ca: vec![ca],
    };
    let server = KubeletApiServer::bind(&config).await.expect("binds");
    let addr = server.local_addr().expect("address");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let runtime = Arc::new(FakeRuntime::new());
    tokio::spawn(server.serve(runtime, async move {
        let _ = rx.await;
    }));
    (addr, tx)
}

#[tokio::test]
async fn a_client_signed_by_the_cluster_ca_is_served() {
    let (ca, cert, key) = ca_and_client();
    let (addr, _stop) = start(ca).await;
    let admin = client(Some((cert, key)));
    let health = get(&admin, addr, "/healthz").await.expect("answered");
    assert!(
        health.starts_with("HTTP/1.1 200 OK") && health.ends_with("ok"),
        "{health}"
    );
    let logs = get(&admin, addr, "/containerLogs/default/web/c").await;
    let logs = logs.expect("answered");
    assert!(logs.starts_with("HTTP/1.1 404"), "{logs}");
    assert!(
        logs.contains(r#""kind":"Status""#) && logs.contains("not found"),
        "{logs}"
    );
}

#[tokio::test]
async fn a_client_without_a_ca_signed_certificate_is_refused() {
    let (ca, _, _) = ca_and_client();
    let (_, stranger_cert, stranger_key) = ca_and_client();
    let (addr, _stop) = start(ca).await;
    let anonymous = get(&client(None), addr, "/healthz").await;
    assert!(anonymous.is_err(), "{anonymous:?}");
    let stranger = get(
        &client(Some((stranger_cert, stranger_key))),
        addr,
        "/healthz",
    )
    .await;
    assert!(stranger.is_err(), "{stranger:?}");
}
