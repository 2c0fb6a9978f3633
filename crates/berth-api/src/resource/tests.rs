use super::*;

/// group, version, plural, kind, scope, short names, subresources
type DiscoveryRow<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Scope,
    &'a [&'a str],
    &'a [Subresource],
);
/// subresource, name, kind, verbs
type SubresourceRow<'a> = (
    Subresource,
    &'a str,
    Option<(&'a str, &'a str, &'a str)>,
    &'a [&'a str],
);

fn info(group: &str, version: &str, plural: &str) -> &'static ResourceInfo {
    match find(group, version, plural) {
        Some(info) => info,
        None => panic!("{group}/{version} {plural} missing"),
    }
}

#[test]
fn short_names_scope_and_subresources_match_upstream_discovery() {
    let cases: &[DiscoveryRow] = &[
        (
            "",
            "v1",
            "namespaces",
            "Namespace",
            Scope::Cluster,
            &["ns"],
            &[Subresource::Status],
        ),
        (
            "",
            "v1",
            "pods",
            "Pod",
            Scope::Namespaced,
            &["po"],
            &[
                Subresource::Attach,
                Subresource::Binding,
                Subresource::Eviction,
                Subresource::Exec,
                Subresource::Log,
                Subresource::PortForward,
                Subresource::Proxy,
                Subresource::Status,
            ],
        ),
        (
            "",
            "v1",
            "services",
            "Service",
            Scope::Namespaced,
            &["svc"],
            &[Subresource::Proxy, Subresource::Status],
        ),
        (
            "",
            "v1",
            "endpoints",
            "Endpoints",
            Scope::Namespaced,
            &["ep"],
            &[],
        ),
        (
            "",
            "v1",
            "serviceaccounts",
            "ServiceAccount",
            Scope::Namespaced,
            &["sa"],
            &[Subresource::Token],
        ),
        (
            "",
            "v1",
            "nodes",
            "Node",
            Scope::Cluster,
            &["no"],
            &[Subresource::Proxy, Subresource::Status],
        ),
        (
            "",
            "v1",
            "limitranges",
            "LimitRange",
            Scope::Namespaced,
            &["limits"],
            &[],
        ),
        (
            "",
            "v1",
            "resourcequotas",
            "ResourceQuota",
            Scope::Namespaced,
            &["quota"],
            &[Subresource::Status],
        ),
        (
            "",
            "v1",
            "replicationcontrollers",
            "ReplicationController",
            Scope::Namespaced,
            &["rc"],
            &[Subresource::Scale, Subresource::Status],
        ),
        (
            "apps",
            "v1",
            "deployments",
            "Deployment",
            Scope::Namespaced,
            &["deploy"],
            &[Subresource::Scale, Subresource::Status],
        ),
        (
            "apps",
            "v1",
            "daemonsets",
            "DaemonSet",
            Scope::Namespaced,
            &["ds"],
            &[Subresource::Status],
        ),
        (
            "batch",
            "v1",
            "cronjobs",
            "CronJob",
            Scope::Namespaced,
            &["cj"],
            &[Subresource::Status],
        ),
        (
            "autoscaling",
            "v2",
            "horizontalpodautoscalers",
            "HorizontalPodAutoscaler",
            Scope::Namespaced,
            &["hpa"],
            &[Subresource::Status],
        ),
        (
            "autoscaling",
            "v1",
            "horizontalpodautoscalers",
            "HorizontalPodAutoscaler",
            Scope::Namespaced,
            &["hpa"],
            &[Subresource::Status],
        ),
        (
            "networking.k8s.io",
            "v1",
            "ingressclasses",
            "IngressClass",
            Scope::Cluster,
            &[],
            &[],
        ),
        (
            "storage.k8s.io",
            "v1",
            "storageclasses",
            "StorageClass",
            Scope::Cluster,
            &["sc"],
            &[],
        ),
        (
            "scheduling.k8s.io",
            "v1",
            "priorityclasses",
            "PriorityClass",
            Scope::Cluster,
            &["pc"],
            &[],
        ),
        (
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            Scope::Cluster,
            &["crd", "crds"],
            &[Subresource::Status],
        ),
        (
            "events.k8s.io",
            "v1",
            "events",
            "Event",
            Scope::Namespaced,
            &["ev"],
            &[],
        ),
    ];
    for (group, version, plural, kind, scope, short, subs) in cases {
        let r = info(group, version, plural);
        assert_eq!(r.kind, *kind, "{plural}");
        assert_eq!(r.scope, *scope, "{plural}");
        assert_eq!(r.short_names, *short, "{plural}");
        assert_eq!(r.subresources, *subs, "{plural}");
        assert_eq!(r.singular, kind.to_ascii_lowercase(), "{plural}");
    }
}

#[test]
fn category_all_is_exactly_where_upstream_puts_it() {
    let mut in_all: Vec<String> = builtin()
        .into_iter()
        .filter(|r| r.categories.iter().any(|c| c == "all"))
        .map(|r| r.plural)
        .collect();
    in_all.sort();
    in_all.dedup();
    assert_eq!(
        in_all,
        [
            "cronjobs",
            "daemonsets",
            "deployments",
            "horizontalpodautoscalers",
            "jobs",
            "pods",
            "replicasets",
            "replicationcontrollers",
            "services",
            "statefulsets",
        ]
    );
}

#[test]
fn namespaces_cannot_be_deleted_as_a_collection() {
    assert!(
        !info("", "v1", "namespaces")
            .verbs
            .iter()
            .any(|v| v == "deletecollection")
    );
    assert!(
        info("", "v1", "pods")
            .verbs
            .iter()
            .any(|v| v == "deletecollection")
    );
}

#[test]
fn every_group_version_resource_appears_once() {
    let all = builtin();
    for r in &all {
        let same = all
            .iter()
            .filter(|o| o.group == r.group && o.version == r.version && o.plural == r.plural)
            .count();
        assert_eq!(same, 1, "{} {}", r.api_version(), r.plural);
    }
    assert_eq!(info("", "v1", "pods").api_version(), "v1");
    assert_eq!(
        info("apps", "v1", "deployments").list_kind(),
        "DeploymentList"
    );
}

#[test]
fn subresources_serve_upstream_kinds_and_verbs() {
    let cases: &[SubresourceRow] = &[
        (
            Subresource::Status,
            "status",
            None,
            &["get", "patch", "update"],
        ),
        (
            Subresource::Scale,
            "scale",
            Some(("autoscaling", "v1", "Scale")),
            &["get", "patch", "update"],
        ),
        (
            Subresource::Binding,
            "binding",
            Some(("", "v1", "Binding")),
            &["create"],
        ),
        (
            Subresource::Eviction,
            "eviction",
            Some(("policy", "v1", "Eviction")),
            &["create"],
        ),
        (Subresource::Log, "log", Some(("", "v1", "Pod")), &["get"]),
        (
            Subresource::Exec,
            "exec",
            Some(("", "v1", "PodExecOptions")),
            &["create", "get"],
        ),
        (
            Subresource::Attach,
            "attach",
            Some(("", "v1", "PodAttachOptions")),
            &["create", "get"],
        ),
        (
            Subresource::PortForward,
            "portforward",
            Some(("", "v1", "PodPortForwardOptions")),
            &["create", "get"],
        ),
        (
            Subresource::Proxy,
            "proxy",
            Some(("", "v1", "PodProxyOptions")),
            &["create", "delete", "get", "patch", "update"],
        ),
        (
            Subresource::Token,
            "token",
            Some(("authentication.k8s.io", "v1", "TokenRequest")),
            &["create"],
        ),
    ];
    for (sub, name, kind, verbs) in cases {
        assert_eq!(sub.name(), *name);
        assert_eq!(Subresource::from_name(name), Some(*sub));
        assert_eq!(sub.kind(), *kind, "{name}");
        assert_eq!(sub.verbs(), *verbs, "{name}");
    }
    assert_eq!(
        Subresource::Proxy.kind_in("Node"),
        Some(("", "v1", "NodeProxyOptions"))
    );
    assert_eq!(
        Subresource::Proxy.kind_in("Service"),
        Some(("", "v1", "ServiceProxyOptions"))
    );
}

#[test]
fn find_by_kind_finds_each_version() {
    let v1 = find_by_kind("autoscaling", "v1", "HorizontalPodAutoscaler");
    let v2 = find_by_kind("autoscaling", "v2", "HorizontalPodAutoscaler");
    assert_eq!(
        v1.map(|r| r.plural.as_str()),
        Some("horizontalpodautoscalers")
    );
    assert_eq!(v2.map(|r| r.version.as_str()), Some("v2"));
    assert!(find_by_kind("apps", "v1", "Pod").is_none());
}
