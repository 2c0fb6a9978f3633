//! Berth's node agent: runs the pods bound to one node on a CRI runtime
//! (containerd), and reports them and the node back to the API server.
//!
//! It is: pod workers (one task per pod UID, an explicit state machine),
//! the CRI client and a fake of it, probes, pod status computed as the
//! kubelet does and written coalesced, node registration and the Lease
//! heartbeat, supervision of a private containerd, and offline OCI images
//! (the pause image, busybox) built from the host's `busybox-static`.
//!
//! It also wires pod networking: CNI through containerd's CRI plugin (a
//! bridge conflist on the node's podCIDR), host-gw routes to the other
//! nodes' podCIDRs, and each pod's DNS configuration.
//!
//! And it serves the kubelet API over TLS to holders of a cluster-CA
//! certificate (the API server): container logs from the CRI log files,
//! exec/attach/port-forward through containerd's streaming server, and
//! `/stats/summary`.
//!
//! It is not (yet): volumes, lifecycle hooks. See the crate's NOTES.md.

pub mod agent;
pub mod backoff;
pub mod clock;
pub mod containerd;
pub mod cri;
pub mod error;
pub mod image;
pub mod kubelet_api;
pub mod network;
pub mod node;
pub mod pleg;
pub mod pod_api;
pub mod pod_worker;
pub mod probe;
pub mod status;
pub mod status_manager;

pub use agent::{AgentConfig, run};
pub use error::AgentError;
