//! Which strategy serves which (group, kind).

use super::kind::{Generation, KindStrategy};
use super::{
    apiextensions, apps, autoscaling, batch, cluster, config, endpoints, events, namespace,
    networking, node,
};
use super::{pod, policy, rbac, replication, service, storage};
use crate::resource::Scope::{Cluster, Namespaced};

pub(super) static GENERIC: KindStrategy = KindStrategy::generic();

static CUSTOM_NAMESPACED: KindStrategy = custom(true, false);
static CUSTOM_NAMESPACED_STATUS: KindStrategy = custom(true, true);
static CUSTOM_CLUSTER: KindStrategy = custom(false, false);
static CUSTOM_CLUSTER_STATUS: KindStrategy = custom(false, true);

const fn custom(namespaced: bool, status: bool) -> KindStrategy {
    let mut strategy = KindStrategy::generic();
    strategy.scope = Some(if namespaced { Namespaced } else { Cluster });
    strategy.status = status;
    strategy.generation = Generation::Spec;
    strategy
}

pub(super) fn custom_resource(namespaced: bool, status: bool) -> &'static KindStrategy {
    match (namespaced, status) {
        (true, false) => &CUSTOM_NAMESPACED,
        (true, true) => &CUSTOM_NAMESPACED_STATUS,
        (false, false) => &CUSTOM_CLUSTER,
        (false, true) => &CUSTOM_CLUSTER_STATUS,
    }
}

pub(super) fn builtin(group: &str, kind: &str) -> Option<&'static KindStrategy> {
    let strategy = match (group, kind) {
        ("", "Pod") => &pod::POD,
        ("", "PodTemplate") => &pod::POD_TEMPLATE,
        ("", "Namespace") => &namespace::NAMESPACE,
        ("", "Service") => &service::SERVICE,
        ("", "Endpoints") => &endpoints::ENDPOINTS,
        ("", "ConfigMap") => &config::CONFIG_MAP,
        ("", "Secret") => &config::SECRET,
        ("", "ServiceAccount") => &cluster::SERVICE_ACCOUNT,
        ("", "Node") => &node::NODE,
        ("", "Event") => &events::CORE_EVENT,
        ("", "PersistentVolume") => &storage::PERSISTENT_VOLUME,
        ("", "PersistentVolumeClaim") => &storage::PERSISTENT_VOLUME_CLAIM,
        ("", "LimitRange") => &cluster::LIMIT_RANGE,
        ("", "ResourceQuota") => &cluster::RESOURCE_QUOTA,
        ("", "ReplicationController") => &replication::REPLICATION_CONTROLLER,
        ("apps", "Deployment") => &apps::DEPLOYMENT,
        ("apps", "ReplicaSet") => &apps::REPLICA_SET,
        ("apps", "StatefulSet") => &apps::STATEFUL_SET,
        ("apps", "DaemonSet") => &apps::DAEMON_SET,
        ("apps", "ControllerRevision") => &apps::CONTROLLER_REVISION,
        ("batch", "Job") => &batch::JOB,
        ("batch", "CronJob") => &batch::CRON_JOB,
        ("autoscaling", "HorizontalPodAutoscaler") => &autoscaling::HORIZONTAL_POD_AUTOSCALER,
        ("networking.k8s.io", "Ingress") => &networking::INGRESS,
        ("networking.k8s.io", "IngressClass") => &networking::INGRESS_CLASS,
        ("networking.k8s.io", "NetworkPolicy") => &networking::NETWORK_POLICY,
        ("discovery.k8s.io", "EndpointSlice") => &endpoints::ENDPOINT_SLICE,
        ("coordination.k8s.io", "Lease") => &cluster::LEASE,
        ("events.k8s.io", "Event") => &events::EVENT,
        ("rbac.authorization.k8s.io", "Role") => &rbac::ROLE,
        ("rbac.authorization.k8s.io", "RoleBinding") => &rbac::ROLE_BINDING,
        ("rbac.authorization.k8s.io", "ClusterRole") => &rbac::CLUSTER_ROLE,
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => &rbac::CLUSTER_ROLE_BINDING,
        ("storage.k8s.io", "StorageClass") => &storage::STORAGE_CLASS,
        ("policy", "PodDisruptionBudget") => &policy::POD_DISRUPTION_BUDGET,
        ("scheduling.k8s.io", "PriorityClass") => &cluster::PRIORITY_CLASS,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            &apiextensions::CUSTOM_RESOURCE_DEFINITION
        }
        _ => return None,
    };
    Some(strategy)
}
