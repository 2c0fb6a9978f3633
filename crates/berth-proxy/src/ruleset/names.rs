//! Chain and set names of one service port.
//!
//! Names read like upstream's (`service-<ns>/<name>/<proto>/<port>`) without
//! the hash prefix: Kubernetes names are short enough for nftables' 256-byte
//! limit and the full name is what `berth why service` shows.

use crate::model::{ServicePortName, Target};

/// The names of the chains and sets one service port owns.
#[derive(Debug, Clone)]
pub struct ChainNames {
    suffix: String,
}

impl ChainNames {
    pub fn new(name: &ServicePortName) -> Self {
        Self {
            suffix: format!(
                "{}/{}/{}/{}",
                name.namespace,
                name.name,
                name.protocol.nft(),
                name.port_name
            ),
        }
    }

    /// The chain balancing over the cluster-wide endpoints.
    pub fn service(&self) -> String {
        format!("service-{}", self.suffix)
    }

    /// The chain balancing over this node's endpoints.
    pub fn local(&self) -> String {
        format!("local-{}", self.suffix)
    }

    /// The chain NodePort traffic enters first.
    pub fn external(&self) -> String {
        format!("external-{}", self.suffix)
    }

    /// The chain that DNATs to one endpoint.
    pub fn endpoint(&self, target: &Target) -> String {
        format!("endpoint-{}__{}", self.suffix, target_suffix(target))
    }

    /// The ClientIP affinity set of one endpoint.
    pub fn affinity(&self, target: &Target) -> String {
        format!("affinity-{}__{}", self.suffix, target_suffix(target))
    }
}

/// `ip/port`; IPv6 colons become dots (a colon is not allowed in a name).
fn target_suffix(target: &Target) -> String {
    format!("{}/{}", target.ip, target.port).replace(':', ".")
}
