//! Classifying a query name against the cluster domain: which part of the
//! zone it addresses (a Service, an endpoint of one, a port, a pod, a reverse
//! address) or that it lies outside. Pure string work on lowercase names.

use std::net::IpAddr;

use hickory_proto::rr::Name;

/// What a query name addresses. `&str` parts borrow the lowercase name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum QueryName<'a> {
    /// The cluster domain itself.
    Apex,
    /// `svc.<domain>`, `pod.<domain>` or `<ns>.pod.<domain>`: exist, hold no records.
    EmptyNonTerminal,
    /// `<ns>.svc.<domain>`: exists while the namespace has a Service.
    Namespace(&'a str),
    /// `[prefix.]<svc>.<ns>.svc.<domain>`; `key` is `<svc>.<ns>`.
    Service { key: &'a str, prefix: Prefix<'a> },
    /// `<dashed-ip>.<ns>.pod.<domain>`.
    Pod(IpAddr),
    /// A complete reverse name (`in-addr.arpa`, `ip6.arpa`).
    Reverse(IpAddr),
    /// In the cluster domain, but no name of that shape exists.
    Nonexistent,
    /// Not ours: forwarded upstream.
    Outside,
}

/// The labels before `<svc>.<ns>.svc.<domain>`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Prefix<'a> {
    None,
    /// `<hostname or dashed-ip>.`
    Endpoint(&'a str),
    /// `_<port>._<proto>.` (without underscores).
    Port {
        port: &'a str,
        protocol: &'a str,
    },
    /// `_<proto>.` alone: an empty non-terminal above the port names.
    Protocol(&'a str),
}

/// The name in lowercase dotted form without the trailing dot, or `None`
/// when a label is not UTF-8 or holds a dot.
pub(crate) fn lowercase_text(name: &Name, out: &mut String) -> Option<()> {
    out.clear();
    for (i, label) in name.iter().enumerate() {
        let label = std::str::from_utf8(label).ok()?;
        if label.contains('.') {
            return None;
        }
        if i > 0 {
            out.push('.');
        }
        out.extend(label.chars().map(|c| c.to_ascii_lowercase()));
    }
    Some(())
}

/// Classifies `text` (from [`lowercase_text`]) against `domain` (lowercase,
/// no trailing dot).
pub(crate) fn classify<'a>(text: &'a str, domain: &str) -> QueryName<'a> {
    if text == domain {
        return QueryName::Apex;
    }
    let Some(rest) = text.strip_suffix(domain).and_then(|r| r.strip_suffix('.')) else {
        return reverse(text).map_or(QueryName::Outside, QueryName::Reverse);
    };
    if rest == "svc" || rest == "pod" {
        return QueryName::EmptyNonTerminal;
    }
    if let Some(names) = rest.strip_suffix(".svc") {
        return service(names);
    }
    if let Some(names) = rest.strip_suffix(".pod") {
        return pod(names);
    }
    QueryName::Nonexistent
}

/// `names` is `[prefix.]<svc>.<ns>` or `<ns>`.
fn service(names: &str) -> QueryName<'_> {
    let Some((front, namespace)) = names.rsplit_once('.') else {
        return QueryName::Namespace(names);
    };
    let (prefix, key) = match front.rsplit_once('.') {
        Some((prefix, svc)) => (Some(prefix), &names[front.len() - svc.len()..]),
        None => (None, names),
    };
    debug_assert!(key.ends_with(namespace));
    let prefix = match prefix {
        None => Prefix::None,
        Some(p) => match p.split_once('.') {
            None => match p.strip_prefix('_') {
                Some(protocol) => Prefix::Protocol(protocol),
                None => Prefix::Endpoint(p),
            },
            Some((port, protocol)) => match (port.strip_prefix('_'), protocol.strip_prefix('_')) {
                (Some(port), Some(protocol)) if !protocol.contains('.') => {
                    Prefix::Port { port, protocol }
                }
                _ => return QueryName::Nonexistent,
            },
        },
    };
    QueryName::Service { key, prefix }
}

/// `names` is `<dashed-ip>.<ns>` or `<ns>`.
fn pod(names: &str) -> QueryName<'_> {
    match names.split_once('.') {
        None => QueryName::EmptyNonTerminal,
        Some((dashed, namespace)) if !namespace.contains('.') => {
            dashed_ip(dashed).map_or(QueryName::Nonexistent, QueryName::Pod)
        }
        Some(_) => QueryName::Nonexistent,
    }
}

/// `10-0-0-1` → 10.0.0.1; `fd00--1` → fd00::1.
pub(crate) fn dashed_ip(dashed: &str) -> Option<IpAddr> {
    let dotted = dashed.replace('-', ".");
    if let Ok(ip) = dotted.parse::<std::net::Ipv4Addr>() {
        return Some(IpAddr::V4(ip));
    }
    dashed
        .replace('-', ":")
        .parse::<std::net::Ipv6Addr>()
        .ok()
        .map(IpAddr::V6)
}

/// The dashed label of an address, as pod and endpoint names use it.
pub(crate) fn dashed_label(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string().replace('.', "-"),
        IpAddr::V6(v6) => v6.to_string().replace(':', "-"),
    }
}

/// The address of a complete reverse name.
fn reverse(text: &str) -> Option<IpAddr> {
    if let Some(octets) = text.strip_suffix(".in-addr.arpa") {
        let mut bytes = [0u8; 4];
        let mut labels = octets.split('.');
        for byte in bytes.iter_mut().rev() {
            *byte = labels.next()?.parse().ok()?;
        }
        return labels.next().is_none().then_some(IpAddr::from(bytes));
    }
    let nibbles = text.strip_suffix(".ip6.arpa")?;
    let mut value: u128 = 0;
    let mut count = 0;
    for (i, nibble) in nibbles.split('.').enumerate() {
        let digit = u128::from_str_radix(nibble, 16)
            .ok()
            .filter(|_| nibble.len() == 1)?;
        value |= digit << (4 * i);
        count += 1;
    }
    (count == 32).then_some(IpAddr::V6(value.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: &str = "cluster.local";

    #[test]
    fn service_names_split_into_key_and_prefix() {
        assert_eq!(
            classify("web.default.svc.cluster.local", DOMAIN),
            QueryName::Service {
                key: "web.default",
                prefix: Prefix::None
            }
        );
        assert_eq!(
            classify("db-0.db.prod.svc.cluster.local", DOMAIN),
            QueryName::Service {
                key: "db.prod",
                prefix: Prefix::Endpoint("db-0")
            }
        );
        assert_eq!(
            classify("_http._tcp.web.default.svc.cluster.local", DOMAIN),
            QueryName::Service {
                key: "web.default",
                prefix: Prefix::Port {
                    port: "http",
                    protocol: "tcp"
                }
            }
        );
        assert_eq!(
            classify("_tcp.web.default.svc.cluster.local", DOMAIN),
            QueryName::Service {
                key: "web.default",
                prefix: Prefix::Protocol("tcp")
            }
        );
        assert_eq!(
            classify("a.b.web.default.svc.cluster.local", DOMAIN),
            QueryName::Nonexistent
        );
    }

    #[test]
    fn zone_structure_names_are_classified() {
        assert_eq!(classify("cluster.local", DOMAIN), QueryName::Apex);
        assert_eq!(
            classify("svc.cluster.local", DOMAIN),
            QueryName::EmptyNonTerminal
        );
        assert_eq!(
            classify("default.svc.cluster.local", DOMAIN),
            QueryName::Namespace("default")
        );
        assert_eq!(
            classify("foo.cluster.local", DOMAIN),
            QueryName::Nonexistent
        );
        assert_eq!(classify("example.com", DOMAIN), QueryName::Outside);
        assert_eq!(classify("notcluster.local", DOMAIN), QueryName::Outside);
    }

    #[test]
    fn pod_names_carry_the_dashed_address() {
        assert_eq!(
            classify("10-1-2-3.default.pod.cluster.local", DOMAIN),
            QueryName::Pod("10.1.2.3".parse().expect("ip"))
        );
        assert_eq!(
            classify("fd00--1.default.pod.cluster.local", DOMAIN),
            QueryName::Pod("fd00::1".parse().expect("ip"))
        );
        assert_eq!(
            classify("nope.default.pod.cluster.local", DOMAIN),
            QueryName::Nonexistent
        );
    }

    #[test]
    fn reverse_names_parse_only_when_complete() {
        assert_eq!(
            classify("10.0.96.10.in-addr.arpa", DOMAIN),
            QueryName::Reverse("10.96.0.10".parse().expect("ip"))
        );
        assert_eq!(classify("96.10.in-addr.arpa", DOMAIN), QueryName::Outside);
        let v6: IpAddr = "fd00::1".parse().expect("ip");
        let IpAddr::V6(addr) = v6 else { unreachable!() };
        let nibbles: Vec<String> = format!("{:032x}", u128::from(addr))
            .chars()
            .rev()
            .map(String::from)
            .collect();
        let name = format!("{}.ip6.arpa", nibbles.join("."));
        assert_eq!(classify(&name, DOMAIN), QueryName::Reverse(v6));
    }

    #[test]
    fn dashed_labels_round_trip() {
        for ip in ["10.0.0.1", "fd00::1", "2001:db8::a:1"] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert_eq!(dashed_ip(&dashed_label(ip)), Some(ip));
        }
    }
}
