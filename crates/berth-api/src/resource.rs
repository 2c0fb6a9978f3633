//! Resource type metadata: what discovery serves and what the registry routes on.

mod table;

use std::sync::OnceLock;

/// Whether objects of a resource live in a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Namespaced,
    Cluster,
}

/// A subresource a resource serves, e.g. `pods/status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subresource {
    /// `.../status`: get, update, patch of `.status` only.
    Status,
    /// `.../scale`: an `autoscaling/v1` Scale view of replicas.
    Scale,
    /// `pods/binding`: create a Binding to set `spec.nodeName`.
    Binding,
    /// `pods/eviction`: create an Eviction (policy/v1).
    Eviction,
    /// `pods/log`, `pods/exec`, `pods/attach`, `pods/portforward`, `*/proxy`:
    /// served by proxying to the node agent.
    Log,
    Exec,
    Attach,
    PortForward,
    Proxy,
    /// `serviceaccounts/token`: TokenRequest.
    Token,
}

/// Verbs of a resource whose objects are read and written whole.
const STATUS_VERBS: &[&str] = &["get", "patch", "update"];
/// Verbs of a connect subresource that upgrades (exec, attach, portforward).
const CONNECT_VERBS: &[&str] = &["create", "get"];
/// Verbs of a proxy subresource: every HTTP method is forwarded.
const PROXY_VERBS: &[&str] = &["create", "delete", "get", "patch", "update"];

impl Subresource {
    /// Every subresource, for lookups by name.
    pub const ALL: [Subresource; 10] = [
        Subresource::Status,
        Subresource::Scale,
        Subresource::Binding,
        Subresource::Eviction,
        Subresource::Log,
        Subresource::Exec,
        Subresource::Attach,
        Subresource::PortForward,
        Subresource::Proxy,
        Subresource::Token,
    ];

    /// The path segment, e.g. `"status"`.
    pub fn name(self) -> &'static str {
        match self {
            Subresource::Status => "status",
            Subresource::Scale => "scale",
            Subresource::Binding => "binding",
            Subresource::Eviction => "eviction",
            Subresource::Log => "log",
            Subresource::Exec => "exec",
            Subresource::Attach => "attach",
            Subresource::PortForward => "portforward",
            Subresource::Proxy => "proxy",
            Subresource::Token => "token",
        }
    }

    /// The subresource whose path segment is `name`.
    pub fn from_name(name: &str) -> Option<Subresource> {
        Self::ALL.into_iter().find(|sub| sub.name() == name)
    }

    /// The kind served at this subresource, e.g. Scale → ("autoscaling", "v1", "Scale").
    /// `None` for Status (same kind as the parent). For Proxy this is the
    /// pods' options kind; see [`Subresource::kind_in`] for the exact one.
    pub fn kind(self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            Subresource::Status => None,
            Subresource::Scale => Some(("autoscaling", "v1", "Scale")),
            Subresource::Binding => Some(("", "v1", "Binding")),
            Subresource::Eviction => Some(("policy", "v1", "Eviction")),
            Subresource::Log => Some(("", "v1", "Pod")),
            Subresource::Exec => Some(("", "v1", "PodExecOptions")),
            Subresource::Attach => Some(("", "v1", "PodAttachOptions")),
            Subresource::PortForward => Some(("", "v1", "PodPortForwardOptions")),
            Subresource::Proxy => Some(("", "v1", "PodProxyOptions")),
            Subresource::Token => Some(("authentication.k8s.io", "v1", "TokenRequest")),
        }
    }

    /// The kind discovery lists for this subresource of a resource whose kind
    /// is `parent_kind`: the parent's own kind for Status, `NodeProxyOptions`
    /// for `nodes/proxy`, and so on.
    pub fn kind_in(self, parent_kind: &str) -> Option<(&'static str, &'static str, &'static str)> {
        match (self, parent_kind) {
            (Subresource::Proxy, "Service") => Some(("", "v1", "ServiceProxyOptions")),
            (Subresource::Proxy, "Node") => Some(("", "v1", "NodeProxyOptions")),
            _ => self.kind(),
        }
    }

    /// Verbs upstream's discovery lists for this subresource.
    pub fn verbs(self) -> &'static [&'static str] {
        match self {
            Subresource::Status | Subresource::Scale => STATUS_VERBS,
            Subresource::Binding | Subresource::Eviction | Subresource::Token => &["create"],
            Subresource::Log => &["get"],
            Subresource::Exec | Subresource::Attach | Subresource::PortForward => CONNECT_VERBS,
            Subresource::Proxy => PROXY_VERBS,
        }
    }
}

/// One resource type, e.g. `apps/v1 deployments`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group; "" for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    /// e.g. "deployments"
    pub plural: String,
    /// e.g. "deployment"
    pub singular: String,
    pub scope: Scope,
    /// e.g. ["deploy"]
    pub short_names: Vec<String>,
    /// e.g. ["all"]
    pub categories: Vec<String>,
    /// Verbs on the collection/object as discovery lists them, e.g.
    /// ["create","delete","deletecollection","get","list","patch","update","watch"].
    pub verbs: Vec<String>,
    pub subresources: Vec<Subresource>,
}

impl ResourceInfo {
    /// "apps/v1", or "v1" for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// e.g. "DeploymentList".
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn namespaced(&self) -> bool {
        self.scope == Scope::Namespaced
    }

    pub fn has_subresource(&self, sub: Subresource) -> bool {
        self.subresources.contains(&sub)
    }
}

/// Every built-in resource Berth serves, in discovery order (core first,
/// then groups as upstream orders them). Each group-version appears once per
/// resource; resources served at several versions (autoscaling v1 and v2
/// horizontalpodautoscalers) appear once per version.
pub fn builtin() -> Vec<ResourceInfo> {
    builtin_table().to_vec()
}

/// The same list as [`builtin`], built once and shared.
pub fn builtin_table() -> &'static [ResourceInfo] {
    static TABLE: OnceLock<Vec<ResourceInfo>> = OnceLock::new();
    TABLE.get_or_init(table::build)
}

/// The built-in resource `group`/`version`/`plural`, e.g. ("apps", "v1", "deployments").
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    builtin_table()
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The built-in resource serving `kind` in `group`/`version`.
pub fn find_by_kind(group: &str, version: &str, kind: &str) -> Option<&'static ResourceInfo> {
    builtin_table()
        .iter()
        .find(|r| r.group == group && r.version == version && r.kind == kind)
}

#[cfg(test)]
mod tests;
