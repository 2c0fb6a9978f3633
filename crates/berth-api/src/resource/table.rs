//! The built-in resources, as kube-apiserver 1.32 discovery lists them.

use super::{ResourceInfo, Scope, Subresource};

use Scope::{Cluster, Namespaced};
use Subresource::*;

/// Verbs of an ordinary resource.
const FULL: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// Namespaces cannot be deleted as a collection.
const NO_COLLECTION_DELETE: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

/// One row of the table; `singular` is always the lowercase kind.
struct Row {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    scope: Scope,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    verbs: &'static [&'static str],
    subresources: &'static [Subresource],
}

const fn row(
    group_version: (&'static str, &'static str),
    kind: &'static str,
    plural: &'static str,
    scope: Scope,
    short_names: &'static [&'static str],
    subresources: &'static [Subresource],
) -> Row {
    Row {
        group: group_version.0,
        version: group_version.1,
        kind,
        plural,
        scope,
        short_names,
        categories: &[],
        verbs: FULL,
        subresources,
    }
}

impl Row {
    const fn in_all(mut self) -> Row {
        self.categories = &["all"];
        self
    }

    const fn categories(mut self, categories: &'static [&'static str]) -> Row {
        self.categories = categories;
        self
    }

    const fn verbs(mut self, verbs: &'static [&'static str]) -> Row {
        self.verbs = verbs;
        self
    }

    fn info(&self) -> ResourceInfo {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        ResourceInfo {
            group: self.group.to_string(),
            version: self.version.to_string(),
            kind: self.kind.to_string(),
            plural: self.plural.to_string(),
            singular: self.kind.to_ascii_lowercase(),
            scope: self.scope,
            short_names: strings(self.short_names),
            categories: strings(self.categories),
            verbs: strings(self.verbs),
            subresources: self.subresources.to_vec(),
        }
    }
}

const CORE: (&str, &str) = ("", "v1");
const APPS: (&str, &str) = ("apps", "v1");
const EVENTS: (&str, &str) = ("events.k8s.io", "v1");
const AUTOSCALING_V1: (&str, &str) = ("autoscaling", "v1");
const AUTOSCALING_V2: (&str, &str) = ("autoscaling", "v2");
const BATCH: (&str, &str) = ("batch", "v1");
const NETWORKING: (&str, &str) = ("networking.k8s.io", "v1");
const POLICY: (&str, &str) = ("policy", "v1");
const RBAC: (&str, &str) = ("rbac.authorization.k8s.io", "v1");
const STORAGE: (&str, &str) = ("storage.k8s.io", "v1");
const APIEXTENSIONS: (&str, &str) = ("apiextensions.k8s.io", "v1");
const SCHEDULING: (&str, &str) = ("scheduling.k8s.io", "v1");
const COORDINATION: (&str, &str) = ("coordination.k8s.io", "v1");
const DISCOVERY: (&str, &str) = ("discovery.k8s.io", "v1");
const AUTHORIZATION: (&str, &str) = ("authorization.k8s.io", "v1");
const AUTHENTICATION: (&str, &str) = ("authentication.k8s.io", "v1");
/// Reviews are only ever created (and never stored).
const CREATE_ONLY: &[&str] = &["create"];

const POD_SUBRESOURCES: &[Subresource] = &[
    Attach,
    Binding,
    Eviction,
    Exec,
    Log,
    PortForward,
    Proxy,
    Status,
];

const ROWS: &[Row] = &[
    row(CORE, "ConfigMap", "configmaps", Namespaced, &["cm"], &[]),
    row(CORE, "Endpoints", "endpoints", Namespaced, &["ep"], &[]),
    row(CORE, "Event", "events", Namespaced, &["ev"], &[]),
    row(
        CORE,
        "LimitRange",
        "limitranges",
        Namespaced,
        &["limits"],
        &[],
    ),
    row(CORE, "Namespace", "namespaces", Cluster, &["ns"], &[Status]).verbs(NO_COLLECTION_DELETE),
    row(CORE, "Node", "nodes", Cluster, &["no"], &[Proxy, Status]),
    row(
        CORE,
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        Namespaced,
        &["pvc"],
        &[Status],
    ),
    row(
        CORE,
        "PersistentVolume",
        "persistentvolumes",
        Cluster,
        &["pv"],
        &[Status],
    ),
    row(CORE, "Pod", "pods", Namespaced, &["po"], POD_SUBRESOURCES).in_all(),
    row(CORE, "PodTemplate", "podtemplates", Namespaced, &[], &[]),
    row(
        CORE,
        "ReplicationController",
        "replicationcontrollers",
        Namespaced,
        &["rc"],
        &[Scale, Status],
    )
    .in_all(),
    row(
        CORE,
        "ResourceQuota",
        "resourcequotas",
        Namespaced,
        &["quota"],
        &[Status],
    ),
    row(CORE, "Secret", "secrets", Namespaced, &[], &[]),
    row(
        CORE,
        "ServiceAccount",
        "serviceaccounts",
        Namespaced,
        &["sa"],
        &[Token],
    ),
    row(
        CORE,
        "Service",
        "services",
        Namespaced,
        &["svc"],
        &[Proxy, Status],
    )
    .in_all(),
    row(
        APPS,
        "ControllerRevision",
        "controllerrevisions",
        Namespaced,
        &[],
        &[],
    ),
    row(
        APPS,
        "DaemonSet",
        "daemonsets",
        Namespaced,
        &["ds"],
        &[Status],
    )
    .in_all(),
    row(
        APPS,
        "Deployment",
        "deployments",
        Namespaced,
        &["deploy"],
        &[Scale, Status],
    )
    .in_all(),
    row(
        APPS,
        "ReplicaSet",
        "replicasets",
        Namespaced,
        &["rs"],
        &[Scale, Status],
    )
    .in_all(),
    row(
        APPS,
        "StatefulSet",
        "statefulsets",
        Namespaced,
        &["sts"],
        &[Scale, Status],
    )
    .in_all(),
    row(EVENTS, "Event", "events", Namespaced, &["ev"], &[]),
    row(
        AUTOSCALING_V2,
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        Namespaced,
        &["hpa"],
        &[Status],
    )
    .in_all(),
    row(
        AUTOSCALING_V1,
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        Namespaced,
        &["hpa"],
        &[Status],
    )
    .in_all(),
    row(BATCH, "CronJob", "cronjobs", Namespaced, &["cj"], &[Status]).in_all(),
    row(BATCH, "Job", "jobs", Namespaced, &[], &[Status]).in_all(),
    row(
        NETWORKING,
        "IngressClass",
        "ingressclasses",
        Cluster,
        &[],
        &[],
    ),
    row(
        NETWORKING,
        "Ingress",
        "ingresses",
        Namespaced,
        &["ing"],
        &[Status],
    ),
    row(
        NETWORKING,
        "NetworkPolicy",
        "networkpolicies",
        Namespaced,
        &["netpol"],
        &[],
    ),
    row(
        POLICY,
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        Namespaced,
        &["pdb"],
        &[Status],
    ),
    row(
        RBAC,
        "ClusterRoleBinding",
        "clusterrolebindings",
        Cluster,
        &[],
        &[],
    ),
    row(RBAC, "ClusterRole", "clusterroles", Cluster, &[], &[]),
    row(RBAC, "RoleBinding", "rolebindings", Namespaced, &[], &[]),
    row(RBAC, "Role", "roles", Namespaced, &[], &[]),
    row(
        STORAGE,
        "StorageClass",
        "storageclasses",
        Cluster,
        &["sc"],
        &[],
    ),
    row(
        APIEXTENSIONS,
        "CustomResourceDefinition",
        "customresourcedefinitions",
        Cluster,
        &["crd", "crds"],
        &[Status],
    )
    .categories(&["api-extensions"]),
    row(
        SCHEDULING,
        "PriorityClass",
        "priorityclasses",
        Cluster,
        &["pc"],
        &[],
    ),
    row(COORDINATION, "Lease", "leases", Namespaced, &[], &[]),
    row(
        DISCOVERY,
        "EndpointSlice",
        "endpointslices",
        Namespaced,
        &[],
        &[],
    ),
    row(
        AUTHENTICATION,
        "SelfSubjectReview",
        "selfsubjectreviews",
        Cluster,
        &[],
        &[],
    )
    .verbs(CREATE_ONLY),
    row(
        AUTHENTICATION,
        "TokenReview",
        "tokenreviews",
        Cluster,
        &[],
        &[],
    )
    .verbs(CREATE_ONLY),
    row(
        AUTHORIZATION,
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        Namespaced,
        &[],
        &[],
    )
    .verbs(CREATE_ONLY),
    row(
        AUTHORIZATION,
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        Cluster,
        &[],
        &[],
    )
    .verbs(CREATE_ONLY),
    row(
        AUTHORIZATION,
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        Cluster,
        &[],
        &[],
    )
    .verbs(CREATE_ONLY),
    row(
        AUTHORIZATION,
        "SubjectAccessReview",
        "subjectaccessreviews",
        Cluster,
        &[],
        &[],
    )
    .verbs(CREATE_ONLY),
];

pub(super) fn build() -> Vec<ResourceInfo> {
    ROWS.iter().map(Row::info).collect()
}
