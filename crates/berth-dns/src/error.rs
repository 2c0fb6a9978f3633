//! The crate's error type: what failed, with the key or address involved.
//!
//! It is not where errors become DNS response codes: the server turns a
//! failed lookup or forward into SERVFAIL itself.

use std::net::SocketAddr;

/// Errors from configuring, binding or running the cluster DNS server.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The options are invalid; every field error, with its path.
    #[error("invalid DNS options: {}", .0.join("; "))]
    InvalidOptions(Vec<String>),
    /// A name given to a lookup is not a valid domain name.
    #[error("invalid domain name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    /// The UDP or TCP listener could not be bound.
    #[error("binding the DNS listener on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The upstream resolvers could not be read from resolv.conf.
    #[error("reading upstream resolvers from {path}: {source}")]
    ResolvConf {
        path: String,
        source: std::io::Error,
    },
    /// Ensuring the `kube-system/kube-dns` Service or its EndpointSlice failed.
    #[error("ensuring {kind} kube-system/kube-dns: {source}")]
    KubeDns {
        kind: &'static str,
        source: kube::Error,
    },
}
