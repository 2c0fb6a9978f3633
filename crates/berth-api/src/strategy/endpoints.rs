//! Endpoints (core) and EndpointSlices (discovery.k8s.io).

use k8s_openapi::api::{core::v1 as core, discovery::v1 as discovery};
use serde_json::{Value, json};

use super::kind::KindStrategy;
use super::pod::validate_protocol;
use crate::resource::Scope::Namespaced;
use crate::validation::{ErrorList, FieldError, child, index};
use crate::wire::{default_at, list_at, list_at_mut, str_at};

const ADDRESS_TYPES: &[&str] = &["FQDN", "IPv4", "IPv6"];

pub(super) static ENDPOINTS: KindStrategy = KindStrategy {
    default: default_endpoints,
    validate: validate_endpoints,
    ..KindStrategy::typed::<core::Endpoints>("Endpoints", Namespaced)
};

pub(super) static ENDPOINT_SLICE: KindStrategy = KindStrategy {
    default: default_endpoint_slice,
    validate: validate_endpoint_slice,
    validate_update: address_type_unchanged,
    ..KindStrategy::typed::<discovery::EndpointSlice>("EndpointSlice", Namespaced)
};

fn default_endpoints(obj: &mut Value) {
    for subset in list_at_mut(obj, &["subsets"]).into_iter().flatten() {
        for port in list_at_mut(subset, &["ports"]).into_iter().flatten() {
            default_at(port, &["protocol"], json!("TCP"));
        }
    }
}

fn validate_endpoints(obj: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, subset) in list_at(obj, &["subsets"]).iter().enumerate() {
        let at = index("subsets", i);
        for list in ["addresses", "notReadyAddresses"] {
            for (j, address) in list_at(subset, &[list]).iter().enumerate() {
                let ip = str_at(address, &["ip"]);
                if ip.parse::<std::net::IpAddr>().is_err() {
                    let path = child(&index(&child(&at, list), j), "ip");
                    errs.push(FieldError::invalid(
                        &path,
                        ip,
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                    ));
                }
            }
        }
        for (j, port) in list_at(subset, &["ports"]).iter().enumerate() {
            let path = index(&child(&at, "ports"), j);
            errs.extend(validate_protocol(
                str_at(port, &["protocol"]),
                &child(&path, "protocol"),
            ));
        }
    }
    errs
}

fn default_endpoint_slice(obj: &mut Value) {
    for port in list_at_mut(obj, &["ports"]).into_iter().flatten() {
        default_at(port, &["protocol"], json!("TCP"));
        default_at(port, &["name"], json!(""));
    }
}

fn validate_endpoint_slice(obj: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    let address_type = str_at(obj, &["addressType"]);
    if address_type.is_empty() {
        errs.push(FieldError::required("addressType", ""));
    } else if !ADDRESS_TYPES.contains(&address_type) {
        errs.push(FieldError::not_supported(
            "addressType",
            address_type,
            ADDRESS_TYPES,
        ));
    }
    for (i, endpoint) in list_at(obj, &["endpoints"]).iter().enumerate() {
        let addresses = list_at(endpoint, &["addresses"]);
        let at = child(&index("endpoints", i), "addresses");
        if addresses.is_empty() {
            errs.push(FieldError::required(&at, "must contain at least 1 address"));
        }
        if address_type == "IPv4" || address_type == "IPv6" {
            for (j, address) in addresses.iter().enumerate() {
                let ip = address.as_str().unwrap_or_default();
                if ip.parse::<std::net::IpAddr>().is_err() {
                    errs.push(FieldError::invalid(
                        &index(&at, j),
                        ip,
                        "must be a valid IP address",
                    ));
                }
            }
        }
    }
    errs
}

fn address_type_unchanged(new: &Value, old: &Value) -> ErrorList {
    let (new_type, old_type) = (str_at(new, &["addressType"]), str_at(old, &["addressType"]));
    if new_type == old_type {
        return Vec::new();
    }
    vec![FieldError::invalid(
        "addressType",
        new_type,
        crate::validation::FIELD_IMMUTABLE,
    )]
}
