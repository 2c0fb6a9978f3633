//! podCIDR allocation, as upstream's range allocator: each Node without a
//! podCIDR gets the lowest free `/node-cidr-mask-size` block of
//! `--cluster-cidr`, written once to `spec.podCIDR` and `spec.podCIDRs`.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::informer::{Change, Informer};
use crate::{Error, workqueue};

/// The blocks of a cluster CIDR.
#[derive(Clone, Copy, Debug)]
pub struct Blocks {
    base: u32,
    cluster_bits: u8,
    node_bits: u8,
}

impl Blocks {
    pub fn new((ip, cluster_bits): (Ipv4Addr, u8), node_bits: u8) -> Self {
        Self {
            base: u32::from(ip),
            cluster_bits,
            node_bits,
        }
    }

    pub fn count(&self) -> u32 {
        1u32 << (self.node_bits - self.cluster_bits).min(31)
    }

    pub fn cidr(&self, index: u32) -> String {
        let ip = Ipv4Addr::from(self.base + (index << (32 - u32::from(self.node_bits))));
        format!("{ip}/{}", self.node_bits)
    }

    /// The index of a CIDR inside the range, if it is one of its blocks.
    pub fn index(&self, cidr: &str) -> Option<u32> {
        let (ip, bits) = cidr.split_once('/')?;
        let ip: Ipv4Addr = ip.parse().ok()?;
        if bits.parse::<u8>().ok()? != self.node_bits {
            return None;
        }
        let offset = u32::from(ip).checked_sub(self.base)?;
        let index = offset >> (32 - u32::from(self.node_bits));
        (index < self.count()).then_some(index)
    }
}

pub struct Context {
    client: Client,
    nodes: Store<Node>,
    blocks: Blocks,
    handed_out: Mutex<HashSet<u32>>,
}

pub fn register(
    client: Client,
    nodes: &mut Informer<Node>,
    blocks: Blocks,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let (queue, rx) = workqueue::queue::<Node>();
    let q = queue.clone();
    nodes.on_change(move |change| {
        if let Change::Applied { new, .. } = change
            && new
                .spec
                .as_ref()
                .and_then(|s| s.pod_cidr.as_ref())
                .is_none()
        {
            q.add(ObjectRef::from_obj(*new));
        }
    });
    let ctx = Arc::new(Context {
        client,
        nodes: nodes.store(),
        blocks,
        handed_out: Mutex::default(),
    });
    workqueue::run("nodeipam", nodes.primary(), (queue, rx), reconcile, ctx, 1)
}

async fn reconcile(node: Arc<Node>, ctx: Arc<Context>) -> Result<Action, Error> {
    if node
        .spec
        .as_ref()
        .and_then(|s| s.pod_cidr.as_ref())
        .is_some()
    {
        return Ok(Action::await_change());
    }
    let mut used: HashSet<u32> = ctx
        .nodes
        .state()
        .iter()
        .filter_map(|n| {
            n.spec
                .as_ref()?
                .pod_cidr
                .as_deref()
                .and_then(|c| ctx.blocks.index(c))
        })
        .collect();
    let index = {
        let mut handed = ctx
            .handed_out
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        used.extend(handed.iter().copied());
        let free = (0..ctx.blocks.count()).find(|i| !used.contains(i));
        let Some(i) = free else {
            return Err(Error::Invalid {
                object: node.name_any(),
                message: "no podCIDR left in --cluster-cidr".into(),
            });
        };
        handed.insert(i);
        i
    };
    let cidr = ctx.blocks.cidr(index);
    let patch = json!({"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}});
    Api::<Node>::all(ctx.client.clone())
        .patch(
            &node.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
        .map_err(|e| Error::api("allocating a podCIDR to", node.name_any(), e))?;
    tracing::info!(node = %node.name_any(), %cidr, "allocated podCIDR");
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_of_a_cluster_cidr_are_numbered_from_its_base() {
        let b = Blocks::new((Ipv4Addr::new(10, 42, 0, 0), 16), 24);
        assert_eq!(b.count(), 256);
        assert_eq!(b.cidr(0), "10.42.0.0/24");
        assert_eq!(b.cidr(7), "10.42.7.0/24");
        assert_eq!(b.index("10.42.7.0/24"), Some(7));
        assert_eq!(b.index("10.43.0.0/24"), None);
    }
}
