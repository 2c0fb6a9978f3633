//! Columns of Ingresses, NetworkPolicies and EndpointSlices.

use serde_json::{Value, json};

use super::super::cells::{arr, i, or_none, s, selector};
use super::{AGE, Col, NAME, col};

/// Up to `max` items joined with ",", then " + N more...", as upstream.
pub fn first_of(items: &[String], max: usize) -> String {
    let shown = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(",");
    match items.len().saturating_sub(max) {
        0 => shown,
        more => format!("{shown} + {more} more..."),
    }
}

fn ingress_hosts(o: &Value) -> Value {
    let hosts: Vec<String> = arr(o, &["spec", "rules"])
        .iter()
        .map(|r| s(r, &["host"]).to_string())
        .filter(|h| !h.is_empty())
        .collect();
    json!(if hosts.is_empty() {
        "*".into()
    } else {
        first_of(&hosts, 3)
    })
}

fn load_balancer_addresses(o: &Value) -> Value {
    let addrs: Vec<String> = arr(o, &["status", "loadBalancer", "ingress"])
        .iter()
        .map(|a| match s(a, &["ip"]) {
            "" => s(a, &["hostname"]).to_string(),
            ip => ip.to_string(),
        })
        .collect();
    json!(addrs.join(","))
}

pub fn ingresses() -> Vec<Col> {
    vec![
        NAME,
        col("Class", "string", 0, |o| {
            json!(or_none(s(o, &["spec", "ingressClassName"]).into()))
        }),
        col("Hosts", "string", 0, ingress_hosts),
        col("Address", "string", 0, load_balancer_addresses),
        col("Ports", "string", 0, |o| {
            let tls = !arr(o, &["spec", "tls"]).is_empty();
            json!(if tls { "80, 443" } else { "80" })
        }),
        AGE,
    ]
}

pub fn network_policies() -> Vec<Col> {
    vec![
        NAME,
        col("Pod-Selector", "string", 0, |o| {
            let sel = o.pointer("/spec/podSelector").map(selector);
            json!(or_none(sel.unwrap_or_default()))
        }),
        AGE,
    ]
}

fn slice_ports(o: &Value) -> Value {
    let ports: Vec<String> = arr(o, &["ports"])
        .iter()
        .map(|p| i(p, &["port"]).to_string())
        .collect();
    json!(if ports.is_empty() {
        "<unset>".into()
    } else {
        first_of(&ports, 3)
    })
}

fn slice_endpoints(o: &Value) -> Value {
    let addrs: Vec<String> = arr(o, &["endpoints"])
        .iter()
        .flat_map(|e| arr(e, &["addresses"]))
        .filter_map(Value::as_str)
        .map(String::from)
        .collect();
    json!(if addrs.is_empty() {
        "<unset>".into()
    } else {
        first_of(&addrs, 3)
    })
}

pub fn endpoint_slices() -> Vec<Col> {
    vec![
        NAME,
        col("AddressType", "string", 0, |o| {
            json!(s(o, &["addressType"]))
        }),
        col("Ports", "string", 0, slice_ports),
        col("Endpoints", "string", 0, slice_endpoints),
        AGE,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut_after_three() {
        let items: Vec<String> = (1..=5).map(|n| n.to_string()).collect();
        assert_eq!(first_of(&items, 3), "1,2,3 + 2 more...");
        assert_eq!(first_of(&items[..2], 3), "1,2");
    }
}
