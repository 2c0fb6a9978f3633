//! The record index of the cluster domain: an immutable snapshot built from
//! Services and EndpointSlices that answers `lookup(name, type)`.
//!
//! It is pure (no I/O, no clock). It is not kept current here: the
//! [`crate::catalog::Catalog`] rebuilds the parts a change touches and
//! publishes a new snapshot; readers never wait for it.

mod answer;
mod query;
mod service;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::DnsError;
pub(crate) use query::{QueryName, classify, lowercase_text};
pub(crate) use service::ServiceRecords;

/// The cluster domain and its record TTL.
#[derive(Clone, Debug)]
pub struct Zone {
    /// Lowercase, fully qualified (`cluster.local.`).
    origin: Name,
    /// Lowercase, no trailing dot (`cluster.local`).
    text: String,
    ttl: u32,
}

impl Zone {
    /// A zone for `domain` (e.g. `cluster.local`) with records of `ttl` seconds.
    pub fn new(domain: &str, ttl: u32) -> Result<Self, DnsError> {
        let origin = crate::options::cluster_domain_name(domain).map_err(|reason| {
            DnsError::InvalidName {
                name: domain.to_string(),
                reason,
            }
        })?;
        let text = origin.to_ascii().trim_end_matches('.').to_string();
        Ok(Self { origin, text, ttl })
    }

    /// The TTL of every record in the zone.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }

    /// `<labels…>.<domain>`, or `None` if a label is not a valid DNS label.
    pub(crate) fn name_of(&self, labels: &[&str]) -> Option<Name> {
        let mut name = self.origin.clone();
        for label in labels.iter().rev() {
            name = name
                .prepend_label(label.to_ascii_lowercase().as_str())
                .ok()?;
        }
        Some(name)
    }

    pub(crate) fn record(&self, name: Name, data: RData) -> Record {
        let mut record = Record::from_rdata(name, self.ttl, data);
        record.dns_class = DNSClass::IN;
        record
    }

    /// The zone's SOA, as the authority of negative answers.
    pub(crate) fn soa(&self, serial: u32) -> Record {
        let mname = self
            .name_of(&["ns", "dns"])
            .unwrap_or_else(|| self.origin.clone());
        let rname = self
            .name_of(&["hostmaster"])
            .unwrap_or_else(|| self.origin.clone());
        let soa = SOA::new(mname, rname, serial, 7200, 1800, 86400, self.ttl);
        self.record(self.origin.clone(), RData::SOA(soa))
    }
}

/// The outcome of a lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Authoritative records for the name and type (a CNAME for an
    /// ExternalName Service); `additionals` hold addresses of SRV targets.
    Answer {
        answers: Vec<Record>,
        additionals: Vec<Record>,
    },
    /// The name exists but has no records of the type (NOERROR, empty).
    NoData,
    /// The name does not exist in the cluster domain.
    NxDomain,
    /// In the cluster domain, but the Services and EndpointSlices have not
    /// been listed yet: the server answers SERVFAIL so clients retry.
    NotReady,
    /// Not ours (outside the cluster domain, or a reverse address we do not
    /// know): forwarded upstream.
    Forward,
}

/// An immutable snapshot of the zone.
///
/// Invariants: `services` keys are `<svc>.<ns>` in lowercase; `namespaces`
/// counts the Services of each namespace in `services`; `reverse` holds
/// exactly the [`ServiceRecords::reverse_entries`] of `services`.
#[derive(Clone, Debug)]
pub struct Index {
    pub(crate) zone: Arc<Zone>,
    pub(crate) services: HashMap<Arc<str>, Arc<ServiceRecords>>,
    pub(crate) namespaces: HashMap<Arc<str>, usize>,
    pub(crate) reverse: HashMap<IpAddr, Arc<[Name]>>,
    pub(crate) serial: u32,
    pub(crate) ready: bool,
}

impl Index {
    /// An empty, not yet ready index of `zone`.
    pub fn empty(zone: Zone) -> Self {
        Self {
            zone: Arc::new(zone),
            services: HashMap::new(),
            namespaces: HashMap::new(),
            reverse: HashMap::new(),
            serial: 0,
            ready: false,
        }
    }

    /// The zone this index answers for.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// Whether the Services and EndpointSlices have been listed.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// The number of Services indexed.
    pub fn service_count(&self) -> usize {
        self.services.len()
    }

    /// The SOA record for the authority section of negative answers.
    pub fn soa(&self) -> Record {
        self.zone.soa(self.serial)
    }

    /// Answers `name`/`rtype` from the index. Answer records carry `name`
    /// as asked (case preserved).
    pub fn lookup(&self, name: &Name, rtype: RecordType) -> Lookup {
        let mut text = String::with_capacity(64);
        if lowercase_text(name, &mut text).is_none() {
            return Lookup::Forward;
        }
        let shape = classify(&text, &self.zone.text);
        if !self.ready && !matches!(shape, QueryName::Outside) {
            return Lookup::NotReady;
        }
        answer::lookup(self, name, shape, rtype)
    }

    /// As [`Index::lookup`], for a name in text form (diagnostics, the CLI).
    pub fn lookup_str(&self, name: &str, rtype: RecordType) -> Result<Lookup, DnsError> {
        let mut parsed = Name::from_ascii(name).map_err(|e| DnsError::InvalidName {
            name: name.to_string(),
            reason: e.to_string(),
        })?;
        parsed.set_fqdn(true);
        Ok(self.lookup(&parsed, rtype))
    }
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;
