//! Egress masquerade for the node's pods: traffic from the node's podCIDR
//! to anywhere outside the cluster CIDR (and not multicast) leaves with the
//! node's address; pod-to-pod traffic between nodes keeps the pod IPs (the
//! Kubernetes network model: no NAT between pods). One nftables table,
//! `ip berth_masq`, replaced atomically. [`NatTable`] is the OS edge:
//! [`NftNatTable`] runs `nft -f -`, [`FakeNatTable`] records rulesets.

use std::process::Stdio;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::NetworkError;

/// The nftables table Berth's masquerade rule lives in.
pub const TABLE: &str = "berth_masq";

/// The ruleset (an `nft -f` script that replaces the whole table).
pub fn ruleset(pod_cidr: &str, cluster_cidr: &str) -> String {
    format!(
        "table ip {TABLE}\n\
         delete table ip {TABLE}\n\
         table ip {TABLE} {{\n\
         \tchain postrouting {{\n\
         \t\ttype nat hook postrouting priority srcnat; policy accept;\n\
         \t\tip saddr {pod_cidr} ip daddr != {{ {cluster_cidr}, 224.0.0.0/4 }} masquerade\n\
         \t}}\n\
         }}\n"
    )
}

/// Where rulesets are applied.
#[async_trait]
pub trait NatTable: Send + Sync {
    /// Applies an `nft -f` script atomically.
    async fn apply(&self, ruleset: &str) -> Result<(), NetworkError>;
}

/// The kernel's nftables, through `nft -f -`.
#[derive(Debug, Default, Clone)]
pub struct NftNatTable;

#[async_trait]
impl NatTable for NftNatTable {
    async fn apply(&self, ruleset: &str) -> Result<(), NetworkError> {
        let fail = |message: String| NetworkError::Nft { message };
        let mut child = Command::new("nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(e.to_string()))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(ruleset.as_bytes())
                .await
                .map_err(|e| fail(e.to_string()))?;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !out.status.success() {
            return Err(fail(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ));
        }
        Ok(())
    }
}

/// Records every ruleset applied.
#[derive(Debug, Default, Clone)]
pub struct FakeNatTable {
    applied: Arc<Mutex<Vec<String>>>,
}

impl FakeNatTable {
    pub fn applied(&self) -> Vec<String> {
        self.applied.lock().clone()
    }
}

#[async_trait]
impl NatTable for FakeNatTable {
    async fn apply(&self, ruleset: &str) -> Result<(), NetworkError> {
        self.applied.lock().push(ruleset.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_traffic_leaving_the_cluster_cidr_is_masqueraded() {
        let r = ruleset("10.42.3.0/24", "10.42.0.0/16");
        assert!(r.contains(
            "ip saddr 10.42.3.0/24 ip daddr != { 10.42.0.0/16, 224.0.0.0/4 } masquerade"
        ));
        assert!(r.contains("type nat hook postrouting priority srcnat"));
        assert!(
            r.find("delete table ip berth_masq") < r.find("table ip berth_masq {"),
            "the table is replaced, not appended to"
        );
    }
}
