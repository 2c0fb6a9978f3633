//! The kubelet API's TLS: a self-signed serving certificate made at start
//! (for the node's names and IPs; clients do not verify it, as upstream's
//! API server does not without `--kubelet-certificate-authority`), and
//! client certificates required and verified against the cluster CA.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use super::KubeletApiError;

/// The certificates of a PEM bundle, DER-encoded (the form
/// [`KubeletApiConfig::client_ca`](super::KubeletApiConfig) takes, as
/// `kube::Config::root_cert` holds the kubeconfig's CA).
pub fn ca_from_pem(pem: &str) -> Result<Vec<Vec<u8>>, KubeletApiError> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| KubeletApiError::Tls(format!("the client CA does not parse: {e}")))
}

/// The rustls configuration for names `names` (IPs and DNS names; empty
/// means `localhost`), accepting only clients signed by `client_ca` (DER).
pub fn serving_config(
    names: &[String],
    client_ca: &[Vec<u8>],
) -> Result<rustls::ServerConfig, KubeletApiError> {
    let tls = |e: &dyn std::fmt::Display| KubeletApiError::Tls(e.to_string());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for der in client_ca {
        let cert = CertificateDer::from(der.clone());
        roots.add(cert).map_err(|e| tls(&e))?;
    }
    if roots.is_empty() {
        return Err(tls(&"the client CA holds no certificate"));
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| tls(&e))?;
    let names = if names.is_empty() {
        vec!["localhost".to_string()]
    } else {
        names.to_vec()
    };
    let certified = rcgen::generate_simple_self_signed(names).map_err(|e| tls(&e))?;
    let chain = vec![certified.cert.der().clone()];
    let key = PrivateKeyDer::from_pem_slice(certified.signing_key.serialize_pem().as_bytes())
        .map_err(|e| tls(&e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(&e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| tls(&e))?;
    // Upgrades (exec, port-forward) need HTTP/1.1.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
