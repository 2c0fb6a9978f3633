//! The CNI network configuration the agent writes for its node: Debian's
//! `containernetworking-plugins` bridge (gateway, hairpin; no `ipMasq`: the
//! plugin would masquerade pod-to-pod traffic between nodes too, so egress
//! masquerade is the agent's own rule, see `masquerade`) with host-local
//! IPAM on the node's podCIDR, then portmap for hostPorts. containerd's CRI plugin adds the loopback network itself
//! (from the same bin dir). Pure except [`write_conflist`].

use std::path::{Path, PathBuf};

use super::NetworkError;

/// The file written into the CNI conf dir (containerd loads the first
/// conflist by name).
pub const CONFLIST_NAME: &str = "10-berth.conflist";
/// The CNI network name (also host-local's directory name).
pub const NETWORK_NAME: &str = "berth";

/// What the conflist is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeNetwork {
    /// The Linux bridge pods attach to (`cni0`).
    pub bridge: String,
    /// The node's podCIDR (`10.42.0.0/24`).
    pub pod_cidr: String,
    /// Where host-local keeps its allocations (under the agent's data dir,
    /// so several agents on one machine never share them).
    pub ipam_data_dir: PathBuf,
}

/// The conflist JSON.
pub fn conflist(net: &BridgeNetwork) -> serde_json::Value {
    serde_json::json!({
        "cniVersion": "1.0.0",
        "name": NETWORK_NAME,
        "plugins": [
            {
                "type": "bridge",
                "bridge": net.bridge,
                "isGateway": true,
                "ipMasq": false,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": net.pod_cidr}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": net.ipam_data_dir,
                }
            },
            {"type": "portmap", "capabilities": {"portMappings": true}}
        ]
    })
}

/// Writes the conflist into `conf_dir` (atomically: a temporary file renamed
/// over the old one); returns false when the file already said the same.
pub fn write_conflist(conf_dir: &Path, net: &BridgeNetwork) -> Result<bool, NetworkError> {
    let path = conf_dir.join(CONFLIST_NAME);
    let text = serde_json::to_string_pretty(&conflist(net)).unwrap_or_default();
    if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    let io = |source| NetworkError::Write {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(conf_dir).map_err(io)?;
    std::fs::create_dir_all(&net.ipam_data_dir).map_err(io)?;
    let tmp = conf_dir.join(format!(".{CONFLIST_NAME}.tmp"));
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net() -> BridgeNetwork {
        BridgeNetwork {
            bridge: "cni0".into(),
            pod_cidr: "10.42.3.0/24".into(),
            ipam_data_dir: PathBuf::from("/data/cni/networks"),
        }
    }

    #[test]
    fn the_conflist_is_a_hairpin_gateway_bridge_on_the_pod_cidr_then_portmap() {
        let c = conflist(&net());
        let bridge = &c["plugins"][0];
        assert_eq!(bridge["type"], "bridge");
        assert_eq!(bridge["bridge"], "cni0");
        for flag in ["isGateway", "hairpinMode"] {
            assert_eq!(bridge[flag], true, "{flag}");
        }
        assert_eq!(bridge["ipMasq"], false, "egress masquerade is the agent's");
        assert_eq!(bridge["ipam"]["type"], "host-local");
        assert_eq!(bridge["ipam"]["ranges"][0][0]["subnet"], "10.42.3.0/24");
        assert_eq!(bridge["ipam"]["dataDir"], "/data/cni/networks");
        assert_eq!(c["plugins"][1]["type"], "portmap");
        assert_eq!(c["plugins"][1]["capabilities"]["portMappings"], true);
    }

    #[test]
    fn writing_twice_changes_nothing_the_second_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut n = net();
        n.ipam_data_dir = dir.path().join("networks");
        assert!(write_conflist(dir.path(), &n).expect("written"));
        assert!(!write_conflist(dir.path(), &n).expect("unchanged"));
        n.pod_cidr = "10.42.4.0/24".into();
        assert!(write_conflist(dir.path(), &n).expect("rewritten"));
        let text = std::fs::read_to_string(dir.path().join(CONFLIST_NAME)).expect("file");
        assert!(text.contains("10.42.4.0/24"));
    }
}
