//! Turning a classified query name into records, NODATA or NXDOMAIN with
//! CoreDNS's kubernetes-plugin semantics: a name that exists without records
//! of the asked type is NODATA; a headless Service without published
//! endpoints, an unknown endpoint or port name, is NXDOMAIN.

use std::net::IpAddr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, PTR, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::query::{Prefix, QueryName};
use super::service::{PortRecord, ServiceKind, ServiceRecords};
use super::{Index, Lookup};

pub(super) fn lookup(
    index: &Index,
    name: &Name,
    shape: QueryName<'_>,
    rtype: RecordType,
) -> Lookup {
    match shape {
        QueryName::Outside => Lookup::Forward,
        QueryName::Nonexistent => Lookup::NxDomain,
        QueryName::EmptyNonTerminal => Lookup::NoData,
        QueryName::Apex if rtype == RecordType::SOA => answers(vec![index.soa()], Vec::new()),
        QueryName::Apex => Lookup::NoData,
        QueryName::Namespace(ns) if index.namespaces.contains_key(ns) => Lookup::NoData,
        QueryName::Namespace(_) => Lookup::NxDomain,
        QueryName::Pod(ip) => addresses(index, name, rtype, [ip]),
        QueryName::Reverse(ip) => reverse(index, name, rtype, ip),
        QueryName::Service { key, prefix } => match index.services.get(key) {
            None => Lookup::NxDomain,
            Some(service) => Answerer {
                index,
                name,
                rtype,
                service,
            }
            .answer(prefix),
        },
    }
}

fn answers(answers: Vec<Record>, additionals: Vec<Record>) -> Lookup {
    if answers.is_empty() {
        Lookup::NoData
    } else {
        Lookup::Answer {
            answers,
            additionals,
        }
    }
}

/// A/AAAA records of `ips` at `name`; NODATA for other types or families.
fn addresses(
    index: &Index,
    name: &Name,
    rtype: RecordType,
    ips: impl IntoIterator<Item = IpAddr>,
) -> Lookup {
    answers(address_records(index, name, rtype, ips), Vec::new())
}

fn address_records(
    index: &Index,
    name: &Name,
    rtype: RecordType,
    ips: impl IntoIterator<Item = IpAddr>,
) -> Vec<Record> {
    ips.into_iter()
        .filter_map(|ip| match (rtype, ip) {
            (RecordType::A | RecordType::ANY, IpAddr::V4(v4)) => Some(RData::A(A(v4))),
            (RecordType::AAAA | RecordType::ANY, IpAddr::V6(v6)) => Some(RData::AAAA(AAAA(v6))),
            _ => None,
        })
        .map(|data| index.zone.record(name.clone(), data))
        .collect()
}

fn reverse(index: &Index, name: &Name, rtype: RecordType, ip: IpAddr) -> Lookup {
    let Some(targets) = index.reverse.get(&ip) else {
        return Lookup::Forward;
    };
    if !matches!(rtype, RecordType::PTR | RecordType::ANY) {
        return Lookup::NoData;
    }
    let records = targets
        .iter()
        .map(|t| index.zone.record(name.clone(), RData::PTR(PTR(t.clone()))))
        .collect();
    answers(records, Vec::new())
}

/// Answers for one Service's names.
struct Answerer<'a> {
    index: &'a Index,
    name: &'a Name,
    rtype: RecordType,
    service: &'a ServiceRecords,
}

impl Answerer<'_> {
    fn answer(&self, prefix: Prefix<'_>) -> Lookup {
        if let ServiceKind::ExternalName(target) = &self.service.kind {
            return match prefix {
                Prefix::None => self.cname(target),
                _ => Lookup::NxDomain,
            };
        }
        match prefix {
            Prefix::None => self.service_name(),
            Prefix::Endpoint(label) => self.endpoint_name(label),
            Prefix::Port { port, protocol } => self.port_name(Some(port), protocol),
            Prefix::Protocol(protocol) => match self.port_name(None, protocol) {
                Lookup::NxDomain => Lookup::NxDomain,
                _ => Lookup::NoData,
            },
        }
    }

    fn cname(&self, target: &Name) -> Lookup {
        let data = RData::CNAME(CNAME(target.clone()));
        answers(
            vec![self.index.zone.record(self.name.clone(), data)],
            Vec::new(),
        )
    }

    fn service_name(&self) -> Lookup {
        match &self.service.kind {
            ServiceKind::Headless if self.service.endpoints.is_empty() => Lookup::NxDomain,
            _ if self.rtype == RecordType::SRV => self.srv(|_| true),
            ServiceKind::ClusterIp(ips) => {
                addresses(self.index, self.name, self.rtype, ips.iter().copied())
            }
            _ => {
                let ips = self.service.endpoints.iter().map(|e| e.ip);
                addresses(self.index, self.name, self.rtype, ips)
            }
        }
    }

    fn endpoint_name(&self, label: &str) -> Lookup {
        let ips: Vec<IpAddr> = self
            .service
            .endpoints
            .iter()
            .filter(|e| &*e.label == label)
            .map(|e| e.ip)
            .collect();
        if ips.is_empty() {
            return Lookup::NxDomain;
        }
        addresses(self.index, self.name, self.rtype, ips)
    }

    /// `_<port>._<protocol>`: SRV for the matching ports; A/AAAA of the
    /// addresses behind them, as CoreDNS; `port: None` matches any name.
    fn port_name(&self, port: Option<&str>, protocol: &str) -> Lookup {
        let matches =
            |p: &PortRecord| &*p.protocol == protocol && port.is_none_or(|n| &*p.name == n);
        let exists = match &self.service.kind {
            ServiceKind::Headless => self
                .service
                .endpoints
                .iter()
                .any(|e| e.ports.iter().any(matches)),
            _ => self.service.ports.iter().any(matches),
        };
        if !exists {
            return Lookup::NxDomain;
        }
        match (&self.service.kind, self.rtype) {
            (_, RecordType::SRV) => self.srv(matches),
            (ServiceKind::ClusterIp(ips), rtype) => {
                addresses(self.index, self.name, rtype, ips.iter().copied())
            }
            (_, rtype) => {
                let ips = self
                    .service
                    .endpoints
                    .iter()
                    .filter(|e| e.ports.iter().any(matches))
                    .map(|e| e.ip);
                addresses(self.index, self.name, rtype, ips)
            }
        }
    }

    /// SRV records for the ports `matches` selects: per Service port with a
    /// ClusterIP, per endpoint and endpoint port when headless.
    fn srv(&self, matches: impl Fn(&PortRecord) -> bool) -> Lookup {
        let mut targets: Vec<(u16, &Name, Vec<IpAddr>)> = Vec::new();
        match &self.service.kind {
            ServiceKind::ClusterIp(ips) => {
                for port in self.service.ports.iter().filter(|p| matches(p)) {
                    targets.push((port.port, &self.service.fqdn, ips.clone()));
                }
            }
            _ => {
                for endpoint in &self.service.endpoints {
                    for port in endpoint.ports.iter().filter(|p| matches(p)) {
                        targets.push((port.port, &endpoint.fqdn, vec![endpoint.ip]));
                    }
                }
            }
        }
        let weight = u16::try_from(100 / targets.len().max(1))
            .unwrap_or(1)
            .max(1);
        let zone = &self.index.zone;
        let mut additionals: Vec<Record> = Vec::new();
        let records = targets
            .into_iter()
            .map(|(port, target, ips)| {
                let glue = address_records(self.index, target, RecordType::ANY, ips);
                for record in glue {
                    if !additionals.contains(&record) {
                        additionals.push(record);
                    }
                }
                let data = RData::SRV(SRV::new(0, weight, port, target.clone()));
                zone.record(self.name.clone(), data)
            })
            .collect();
        answers(records, additionals)
    }
}
