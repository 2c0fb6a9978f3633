//! Berth's controller manager: the level-triggered reconcilers that turn
//! declared state into running state, as upstream's kube-controller-manager.
//!
//! It is: one kube-runtime reconciler per resource kind (ReplicaSet,
//! Deployment, StatefulSet, DaemonSet, Job, CronJob, PodDisruptionBudget
//! (disruption), Namespace, ServiceAccount and `kube-root-ca.crt`,
//! Endpoints, EndpointSlices, Node lifecycle and podCIDR allocation) plus the garbage
//! collector, fed by shared informers ([`informer`]) so every kind is
//! watched once, and [`run`], which waits for leadership through a Lease and
//! runs them all until shutdown or until leadership is lost.
//!
//! It is not: a scheduler, a kubelet, or anything that touches the store;
//! every read and write goes through the API server with kube-rs.

pub mod controller_ref;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod endpoints;
pub mod endpointslice;
mod error;
pub mod events;
pub mod expectations;
pub mod garbagecollector;
pub mod history;
pub mod informer;
pub mod job;
mod manager;
pub mod namespace;
pub mod nodeipam;
pub mod nodelifecycle;
mod options;
pub mod pod_deletion;
pub mod pod_state;
pub mod replicaset;
pub mod rootcacert;
pub mod serviceaccount;
pub mod statefulset;
mod workqueue;

pub use error::Error;
pub use manager::{run, run_controllers};
pub use options::{ControllerOptions, root_ca_from_kubeconfig};
