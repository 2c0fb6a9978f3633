//! How many pods a budget expects and how many must stay healthy, as
//! upstream's getExpectedPodCount: an integer `minAvailable` counts the
//! selected pods; a percentage or `maxUnavailable` is scaled (rounding up)
//! against the sum of the scales of the pods' controllers (ReplicaSet, the
//! Deployment above a ReplicaSet, StatefulSet, ReplicationController).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};

use super::Context;
use crate::Error;
use crate::controller_ref::controller_of;

/// The counts a budget's status is computed from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub expected: i32,
    pub desired_healthy: i32,
    /// Selected pods without a controller (only counted when scaling).
    pub unmanaged: usize,
}

/// `value` of `total`: an integer as is, a percentage rounded up.
pub fn scaled(value: &IntOrString, total: i32) -> Result<i32, String> {
    match value {
        IntOrString::Int(n) => Ok(*n),
        IntOrString::String(s) => {
            let pct: i64 = s
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| format!("invalid value for IntOrString: invalid value {s:?}"))?;
            let n = (pct * i64::from(total) + 99).div_euclid(100);
            Ok(i32::try_from(n).unwrap_or(i32::MAX))
        }
    }
}

/// Upstream's getExpectedPodCount.
pub async fn expected_pod_count(
    ctx: &Context,
    pdb: &PodDisruptionBudget,
    pods: &[Arc<Pod>],
) -> Result<Counts, Error> {
    let spec = pdb.spec.clone().unwrap_or_default();
    let invalid = |message: String| Error::Invalid {
        object: format!("poddisruptionbudget {}", pdb.name_any()),
        message,
    };
    if let Some(max) = &spec.max_unavailable {
        let (expected, unmanaged) = expected_scale(ctx, pods).await?;
        let max = scaled(max, expected).map_err(invalid)?;
        return Ok(Counts {
            expected,
            desired_healthy: (expected - max).max(0),
            unmanaged,
        });
    }
    match &spec.min_available {
        Some(IntOrString::Int(n)) => Ok(Counts {
            expected: i32::try_from(pods.len()).unwrap_or(i32::MAX),
            desired_healthy: *n,
            unmanaged: 0,
        }),
        Some(min) => {
            let (expected, unmanaged) = expected_scale(ctx, pods).await?;
            Ok(Counts {
                expected,
                desired_healthy: scaled(min, expected).map_err(invalid)?,
                unmanaged,
            })
        }
        None => Ok(Counts::default()),
    }
}

/// The sum of the scales of the pods' controllers, and the number of pods
/// without a controller.
async fn expected_scale(ctx: &Context, pods: &[Arc<Pod>]) -> Result<(i32, usize), Error> {
    let mut scales: HashMap<String, i32> = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut unmanaged = 0;
    for pod in pods {
        let Some(owner) = controller_of(&pod.metadata) else {
            unmanaged += 1;
            continue;
        };
        if !seen.insert(owner.uid.clone()) {
            continue;
        }
        let ns = pod.namespace().unwrap_or_default();
        match find_controller(ctx, owner, &ns).await? {
            Some((uid, scale)) => {
                scales.insert(uid, scale);
            }
            None => {
                return Err(Error::Invalid {
                    object: format!("pod {ns}/{}", pod.name_any()),
                    message: format!("found no controllers for pod {:?}", pod.name_any()),
                });
            }
        }
    }
    Ok((scales.values().sum(), unmanaged))
}

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// The controller a pod's controller reference leads to (the Deployment for
/// a Deployment's ReplicaSet) and its scale; `None` when it is unknown.
async fn find_controller(
    ctx: &Context,
    owner: &OwnerReference,
    ns: &str,
) -> Result<Option<(String, i32)>, Error> {
    let group = group_of(&owner.api_version);
    match (group, owner.kind.as_str()) {
        ("apps", "ReplicaSet") => Ok(replica_set_scale(ctx, owner, ns)),
        ("apps", "StatefulSet") => {
            let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), ns);
            let sts = get_opt(&api, &owner.name).await?;
            Ok(sts
                .filter(|s| s.uid().as_deref() == Some(owner.uid.as_str()))
                .map(|s| {
                    (
                        owner.uid.clone(),
                        s.spec.map_or(1, |s| s.replicas.unwrap_or(1)),
                    )
                }))
        }
        ("", "ReplicationController") => {
            let api: Api<ReplicationController> = Api::namespaced(ctx.client.clone(), ns);
            let rc = get_opt(&api, &owner.name).await?;
            Ok(rc
                .filter(|r| r.uid().as_deref() == Some(owner.uid.as_str()))
                .map(|r| {
                    (
                        owner.uid.clone(),
                        r.spec.map_or(1, |s| s.replicas.unwrap_or(1)),
                    )
                }))
        }
        _ => Ok(None),
    }
}

async fn get_opt<K>(api: &Api<K>, name: &str) -> Result<Option<K>, Error>
where
    K: kube::Resource + Clone + k8s_openapi::serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.get_opt(name)
        .await
        .map_err(|e| Error::api("reading", name.to_string(), e))
}

/// A ReplicaSet's own scale, or its Deployment's when one controls it.
fn replica_set_scale(ctx: &Context, owner: &OwnerReference, ns: &str) -> Option<(String, i32)> {
    let rs = ctx
        .replica_sets
        .get(&ObjectRef::new(&owner.name).within(ns))
        .filter(|rs| rs.uid().as_deref() == Some(owner.uid.as_str()))?;
    match controller_of(&rs.metadata).filter(|r| r.kind == "Deployment") {
        Some(d) => {
            let dep = ctx
                .deployments
                .get(&ObjectRef::new(&d.name).within(ns))
                .filter(|dep| dep.uid().as_deref() == Some(d.uid.as_str()))?;
            Some((d.uid.clone(), dep.spec.as_ref()?.replicas.unwrap_or(1)))
        }
        None => Some((owner.uid.clone(), rs.spec.as_ref()?.replicas.unwrap_or(1))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_scaled_rounding_up() {
        let pct = |s: &str| IntOrString::String(s.into());
        assert_eq!(scaled(&pct("50%"), 3), Ok(2));
        assert_eq!(scaled(&pct("34%"), 3), Ok(2));
        assert_eq!(scaled(&pct("33%"), 3), Ok(1));
        assert_eq!(scaled(&pct("100%"), 7), Ok(7));
        assert_eq!(scaled(&pct("0%"), 7), Ok(0));
        assert_eq!(scaled(&IntOrString::Int(4), 7), Ok(4));
        assert!(scaled(&pct("half"), 3).is_err());
    }
}
