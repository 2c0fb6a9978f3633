//! Berth's cluster DNS.
//!
//! It is: a pure record [`Index`] of the cluster domain built from Services
//! and EndpointSlices (A/AAAA, SRV, headless and StatefulSet pod records,
//! ExternalName CNAMEs, PTR, `<dashed-ip>.<ns>.pod` records, NXDOMAIN vs
//! NODATA as CoreDNS's kubernetes plugin), a [`Catalog`] that keeps it
//! current from kube-rs watchers and publishes snapshots, a lean UDP+TCP
//! server ([`DnsServer`]) that answers from the current snapshot and forwards
//! every other name upstream, and the `kube-system/kube-dns` Service and
//! EndpointSlice that make it reachable at the cluster DNS address.
//!
//! It is not: a caching resolver (forwarded answers are relayed, not
//! cached), a DNSSEC signer, or CLI wiring (the `berth` binary does that).

mod catalog;
mod error;
mod forward;
mod index;
pub mod kube_dns;
mod options;
mod server;
mod watch;

pub use catalog::{Catalog, SERVICE_NAME_LABEL};
pub use error::DnsError;
pub use hickory_proto::rr::{Name, Record, RecordType};
pub use index::{Index, Lookup, Zone};
pub use options::{DEFAULT_CLUSTER_DOMAIN, DEFAULT_TTL, DnsOptions, nameservers};
pub use server::DnsServer;
use std::future::Future;

/// Validates `options`, binds the listener, ensures the kube-dns Service
/// (when `service_ip` is set), starts the watchers and serves until
/// `shutdown` completes.
pub async fn run(
    client: kube::Client,
    options: DnsOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DnsError> {
    DnsServer::bind(options).await?.run(client, shutdown).await
}

impl DnsServer {
    /// As [`run`], on an already bound server (tests read
    /// [`DnsServer::local_addr`] first).
    pub async fn run(
        self,
        client: kube::Client,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), DnsError> {
        kube_dns::ensure(&client, &self.options).await?;
        let zone = self.shared.index.load().zone().clone();
        let watcher = tokio::spawn(watch::maintain(
            client,
            Catalog::new(zone),
            self.shared.clone(),
        ));
        let served = self.serve(shutdown).await;
        watcher.abort();
        served
    }
}
