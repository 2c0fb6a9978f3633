//! Discovery documents: `/api`, `/apis`, `/apis/{group}`, per group-version
//! resource lists, and aggregated discovery (`apidiscovery.k8s.io/v2`) as
//! kubectl 1.32 asks for it.

use berth_api::{ResourceInfo, Scope};
use serde_json::{Value, json};

use crate::resources::{Resource, ResourceTable};

/// The media type a client sends in `Accept` to get aggregated discovery,
/// and that the answer must carry in `Content-Type`.
pub const AGGREGATED_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether an Accept header asks for aggregated discovery (v2).
pub fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let p: String = part.chars().filter(|c| !c.is_whitespace()).collect();
        p.contains("g=apidiscovery.k8s.io")
            && p.contains("v=v2")
            && p.contains("as=APIGroupDiscoveryList")
    })
}

pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let gv = |v: &String| json!({"groupVersion": format!("{name}/{v}"), "version": v});
    json!({
        "name": name,
        "versions": versions.iter().map(gv).collect::<Vec<_>>(),
        "preferredVersion": versions.first().map(gv).unwrap_or(Value::Null),
    })
}

pub fn group_list(table: &ResourceTable) -> Value {
    let groups: Vec<Value> = table
        .groups()
        .iter()
        .map(|(g, vs)| group_json(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn group(table: &ResourceTable, name: &str) -> Option<Value> {
    let groups = table.groups();
    let (g, vs) = groups.iter().find(|(g, _)| g == name)?;
    let mut doc = group_json(g, vs);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

fn scope_str(info: &ResourceInfo) -> &'static str {
    match info.scope {
        Scope::Namespaced => "Namespaced",
        Scope::Cluster => "Cluster",
    }
}

fn legacy_resources(r: &Resource) -> Vec<Value> {
    let i = &r.info;
    let mut main = json!({
        "name": i.plural,
        "singularName": i.singular,
        "namespaced": i.namespaced(),
        "kind": i.kind,
        "verbs": i.verbs,
    });
    if !i.short_names.is_empty() {
        main["shortNames"] = json!(i.short_names);
    }
    if !i.categories.is_empty() {
        main["categories"] = json!(i.categories);
    }
    let mut out = vec![main];
    for sub in &i.subresources {
        let mut s = json!({
            "name": format!("{}/{}", i.plural, sub.name()),
            "singularName": "",
            "namespaced": i.namespaced(),
            "kind": sub.kind().map(|k| k.2).unwrap_or(&i.kind),
            "verbs": sub.verbs(),
        });
        if let Some((g, v, _)) = sub.kind() {
            s["group"] = json!(g);
            s["version"] = json!(v);
        }
        out.push(s);
    }
    out
}

/// `/api/v1` or `/apis/{group}/{version}`: an APIResourceList.
pub fn resource_list(table: &ResourceTable, group: &str, version: &str) -> Option<Value> {
    let resources: Vec<Value> = table
        .in_group_version(group, version)
        .flat_map(|r| legacy_resources(r))
        .collect();
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

fn aggregated_resource(r: &Resource) -> Value {
    let i = &r.info;
    let subresources: Vec<Value> = i
        .subresources
        .iter()
        .map(|sub| {
            let (g, v, k) = sub.kind().unwrap_or((&i.group, &i.version, &i.kind));
            json!({
                "subresource": sub.name(),
                "responseKind": {"group": g, "version": v, "kind": k},
                "verbs": sub.verbs(),
            })
        })
        .collect();
    let mut res = json!({
        "resource": i.plural,
        "responseKind": {"group": i.group, "version": i.version, "kind": i.kind},
        "scope": scope_str(i),
        "singularResource": i.singular,
        "verbs": i.verbs,
    });
    if !i.short_names.is_empty() {
        res["shortNames"] = json!(i.short_names);
    }
    if !i.categories.is_empty() {
        res["categories"] = json!(i.categories);
    }
    if !subresources.is_empty() {
        res["subresources"] = json!(subresources);
    }
    res
}

fn aggregated_group(table: &ResourceTable, name: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let resources: Vec<Value> = table
                .in_group_version(name, v)
                .map(|r| aggregated_resource(r))
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let metadata = if name.is_empty() {
        json!({"creationTimestamp": null})
    } else {
        json!({"name": name, "creationTimestamp": null})
    };
    json!({"metadata": metadata, "versions": versions})
}

/// Aggregated discovery for `/api` (core only) or `/apis` (every group).
pub fn aggregated(table: &ResourceTable, core: bool) -> Value {
    let items: Vec<Value> = if core {
        vec![aggregated_group(table, "", &["v1".to_string()])]
    } else {
        table
            .groups()
            .iter()
            .map(|(g, vs)| aggregated_group(table, g, vs))
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

/// `/version`: a v1.32-level version document.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": concat!("v1.32.0+berth-", env!("CARGO_PKG_VERSION")),
        "gitCommit": "berth",
        "gitTreeState": "clean",
        "buildDate": "2026-11-23T00:00:00Z",
        "goVersion": "rust",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    })
}

/// The architecture as Go names it (`amd64`, `arm64`).
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_aggregated_accept_header_is_recognised() {
        let accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert!(wants_aggregated(accept));
        assert!(!wants_aggregated("application/json, */*"));
    }
}
