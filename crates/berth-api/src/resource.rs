//! Resource type metadata: what discovery serves and what the registry routes on.

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

impl Subresource {
    /// The path segment, e.g. `"status"`.
    pub fn name(self) -> &'static str {
        todo!("helper: fill in")
    }

    /// The kind served at this subresource, e.g. Scale → ("autoscaling", "v1", "Scale").
    /// `None` for Status (same kind as the parent).
    pub fn kind(self) -> Option<(&'static str, &'static str, &'static str)> {
        todo!("helper: fill in")
    }

    /// Verbs upstream's discovery lists for this subresource.
    pub fn verbs(self) -> &'static [&'static str] {
        todo!("helper: fill in")
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
    todo!("helper: fill in")
}
