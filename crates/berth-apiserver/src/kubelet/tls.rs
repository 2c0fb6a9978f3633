//! The TLS client configuration for talking to kubelets: the API server's
//! client certificate, and no verification of the kubelet's serving
//! certificate (upstream's default without `--kubelet-certificate-authority`;
//! agents make their own self-signed certificates).

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::pki::CertPair;

/// Accepts any kubelet serving certificate, still checking that the peer
/// holds its key (the handshake signatures are verified).
#[derive(Debug)]
struct AnyKubeletCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyKubeletCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

fn pem_error(what: &str) -> rustls::Error {
    rustls::Error::General(format!(
        "the API server's kubelet client {what} does not parse"
    ))
}

/// A client configuration presenting `client` (PEM cert and key), HTTP/1.1.
pub fn client_config(client: &CertPair) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> =
        rustls_pemfile_certs(client.cert_pem.as_bytes()).ok_or_else(|| pem_error("certificate"))?;
    let key =
        PrivateKeyDer::from_pem_slice(client.key_pem.as_bytes()).map_err(|_| pem_error("key"))?;
    let verifier = AnyKubeletCertificate(provider.signature_verification_algorithms);
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn rustls_pemfile_certs(pem: &[u8]) -> Option<Vec<CertificateDer<'static>>> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    certs.ok().filter(|c| !c.is_empty())
}
