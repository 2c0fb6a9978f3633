//! The upstream in-tree plugins and the default profile.

pub mod balanced_allocation;
pub mod default_preemption;
pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod resource_allocation;
pub mod taint_toleration;

use crate::error::SchedulerError;
use crate::framework::Profile;

/// Plugin names, as in upstream's scheduler configuration.
pub mod names {
    /// NodeName.
    pub const NODE_NAME: &str = "NodeName";
    /// NodeUnschedulable.
    pub const NODE_UNSCHEDULABLE: &str = "NodeUnschedulable";
    /// NodeResourcesFit.
    pub const NODE_RESOURCES_FIT: &str = "NodeResourcesFit";
    /// NodeResourcesBalancedAllocation.
    pub const NODE_RESOURCES_BALANCED_ALLOCATION: &str = "NodeResourcesBalancedAllocation";
    /// NodeAffinity.
    pub const NODE_AFFINITY: &str = "NodeAffinity";
    /// TaintToleration.
    pub const TAINT_TOLERATION: &str = "TaintToleration";
    /// NodePorts.
    pub const NODE_PORTS: &str = "NodePorts";
    /// ImageLocality.
    pub const IMAGE_LOCALITY: &str = "ImageLocality";
    /// InterPodAffinity.
    pub const INTER_POD_AFFINITY: &str = "InterPodAffinity";
    /// PodTopologySpread.
    pub const POD_TOPOLOGY_SPREAD: &str = "PodTopologySpread";
    /// DefaultPreemption.
    pub const DEFAULT_PREEMPTION: &str = "DefaultPreemption";
}

/// The scheduler name pods get when they do not set one.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// Upstream's default profile: plugins in upstream's filter order with
/// upstream's score weights (TaintToleration 3, NodeAffinity 2,
/// PodTopologySpread 2, InterPodAffinity 2, NodeResourcesFit 1,
/// NodeResourcesBalancedAllocation 1, ImageLocality 1).
pub fn default_profile() -> Result<Profile, SchedulerError> {
    Profile::builder(DEFAULT_SCHEDULER_NAME)
        .plugin(node_unschedulable::NodeUnschedulable, 0)
        .plugin(node_name::NodeName, 0)
        .plugin(taint_toleration::TaintToleration, 3)
        .plugin(node_affinity::NodeAffinity, 2)
        .plugin(node_ports::NodePorts, 0)
        .plugin(node_resources_fit::NodeResourcesFit::default(), 1)
        .plugin(pod_topology_spread::PodTopologySpread, 2)
        .plugin(inter_pod_affinity::InterPodAffinity::default(), 2)
        .plugin(balanced_allocation::BalancedAllocation::default(), 1)
        .plugin(image_locality::ImageLocality, 1)
        .plugin(default_preemption::DefaultPreemption, 0)
        .build()
}
