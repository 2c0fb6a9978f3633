//! The crate's error type.

use crate::resource::ResourceError;
use crate::selector::SelectorError;

/// What went wrong while preparing scheduler state. Scheduling decisions
/// themselves are reported as [`crate::framework::Status`] values, not errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedulerError {
    /// A pod's resource requests contain a malformed quantity.
    #[error("pod {pod}: {source}")]
    InvalidPodResources {
        /// `namespace/name` of the pod.
        pod: String,
        /// The malformed entry.
        #[source]
        source: ResourceError,
    },
    /// A pod's affinity or spread constraint has a malformed label selector.
    #[error("pod {pod}: invalid label selector: {source}")]
    InvalidPodSelector {
        /// `namespace/name` of the pod.
        pod: String,
        /// The malformed requirement.
        #[source]
        source: SelectorError,
    },
    /// A node's allocatable resources contain a malformed quantity.
    #[error("node {node}: {source}")]
    InvalidNodeResources {
        /// The node's name.
        node: String,
        /// The malformed entry.
        #[source]
        source: ResourceError,
    },
    /// A profile's configuration is inconsistent.
    #[error("profile {profile}: {reason}")]
    InvalidProfile {
        /// The scheduler name of the profile.
        profile: String,
        /// What is wrong.
        reason: String,
    },
}
