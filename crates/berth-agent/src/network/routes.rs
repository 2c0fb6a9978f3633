//! host-gw routing (flannel's model): on this node, one route per other
//! Node, `<its podCIDR> via <its InternalIP>`. The [`RouteTable`] trait is
//! the OS edge; [`IpRouteTable`] drives `ip route` and tags every route with
//! [`ROUTE_PROTOCOL`], so the agent lists and removes only routes it added.
//! [`FakeRouteTable`] records them for unit tests.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::process::Command;

use super::NetworkError;

/// The routing protocol number Berth's routes carry (`ip route … proto 190`,
/// a number iproute2's `rt_protos` does not name); anything else in the
/// table is never touched.
pub const ROUTE_PROTOCOL: u8 = 190;

/// A route to another node's pods.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    /// The other node's podCIDR (`10.42.1.0/24`).
    pub dst: String,
    /// The other node's InternalIP.
    pub via: IpAddr,
}

/// The node's routing table, as far as Berth's routes go.
#[async_trait]
pub trait RouteTable: Send + Sync {
    /// The routes Berth added (and only those).
    async fn list(&self) -> Result<Vec<Route>, NetworkError>;
    /// Adds the route, or changes the gateway of Berth's route to `dst`.
    async fn replace(&self, route: &Route) -> Result<(), NetworkError>;
    async fn delete(&self, route: &Route) -> Result<(), NetworkError>;
}

/// Makes Berth's routes exactly `desired`: adds or changes what differs,
/// removes the rest (routes to nodes that are gone). Idempotent.
pub async fn reconcile(table: &dyn RouteTable, desired: &[Route]) -> Result<(), NetworkError> {
    let existing: BTreeSet<Route> = table.list().await?.into_iter().collect();
    for r in desired.iter().filter(|r| !existing.contains(*r)) {
        table.replace(r).await?;
        tracing::info!(dst = r.dst, via = %r.via, "route to a node's pods added");
    }
    for r in existing
        .iter()
        .filter(|r| !desired.iter().any(|d| d.dst == r.dst))
    {
        table.delete(r).await?;
        tracing::info!(dst = r.dst, via = %r.via, "route to a removed node's pods deleted");
    }
    Ok(())
}

/// The real table, through `ip route`.
#[derive(Debug, Default, Clone)]
pub struct IpRouteTable;

async fn ip(args: &[&str]) -> Result<String, NetworkError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .await
        .map_err(|e| NetworkError::Route {
            command: args.join(" "),
            message: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(NetworkError::Route {
            command: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Routes in `ip -j route show` output.
fn parse_routes(json: &str) -> Vec<Route> {
    let entries: Vec<serde_json::Value> = serde_json::from_str(json).unwrap_or_default();
    entries
        .iter()
        .filter_map(|e| {
            let dst = e.get("dst")?.as_str()?.to_string();
            let via = e.get("gateway")?.as_str()?.parse().ok()?;
            Some(Route { dst, via })
        })
        .collect()
}

#[async_trait]
impl RouteTable for IpRouteTable {
    async fn list(&self) -> Result<Vec<Route>, NetworkError> {
        let proto = ROUTE_PROTOCOL.to_string();
        let out = ip(&[
            "-j", "-4", "route", "show", "table", "main", "proto", &proto,
        ])
        .await?;
        Ok(parse_routes(&out))
    }

    async fn replace(&self, r: &Route) -> Result<(), NetworkError> {
        let (proto, via) = (ROUTE_PROTOCOL.to_string(), r.via.to_string());
        ip(&["route", "replace", &r.dst, "via", &via, "proto", &proto]).await?;
        Ok(())
    }

    async fn delete(&self, r: &Route) -> Result<(), NetworkError> {
        let (proto, via) = (ROUTE_PROTOCOL.to_string(), r.via.to_string());
        ip(&["route", "del", &r.dst, "via", &via, "proto", &proto]).await?;
        Ok(())
    }
}

/// An in-memory table holding Berth's routes; records every change.
#[derive(Debug, Default, Clone)]
pub struct FakeRouteTable {
    routes: Arc<Mutex<BTreeSet<Route>>>,
    changes: Arc<Mutex<Vec<String>>>,
}

impl FakeRouteTable {
    pub fn routes(&self) -> Vec<Route> {
        self.routes.lock().iter().cloned().collect()
    }
    /// `replace <dst> via <ip>` / `delete <dst> via <ip>`, in order.
    pub fn changes(&self) -> Vec<String> {
        self.changes.lock().clone()
    }
}

#[async_trait]
impl RouteTable for FakeRouteTable {
    async fn list(&self) -> Result<Vec<Route>, NetworkError> {
        Ok(self.routes())
    }
    async fn replace(&self, r: &Route) -> Result<(), NetworkError> {
        let mut routes = self.routes.lock();
        routes.retain(|x| x.dst != r.dst);
        routes.insert(r.clone());
        self.changes
            .lock()
            .push(format!("replace {} via {}", r.dst, r.via));
        Ok(())
    }
    async fn delete(&self, r: &Route) -> Result<(), NetworkError> {
        self.routes.lock().remove(r);
        self.changes
            .lock()
            .push(format!("delete {} via {}", r.dst, r.via));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(dst: &str, via: &str) -> Route {
        Route {
            dst: dst.into(),
            via: via.parse().expect("ip"),
        }
    }

    #[tokio::test]
    async fn routes_follow_the_nodes_and_are_removed_with_them() {
        let t = FakeRouteTable::default();
        let a = route("10.42.1.0/24", "192.168.77.2");
        let b = route("10.42.2.0/24", "192.168.77.3");
        reconcile(&t, &[a.clone(), b.clone()]).await.expect("ok");
        assert_eq!(t.routes(), [a.clone(), b.clone()]);
        reconcile(&t, &[a.clone(), b.clone()]).await.expect("ok");
        assert_eq!(t.changes().len(), 2, "a second pass changes nothing");
        reconcile(&t, std::slice::from_ref(&a)).await.expect("ok");
        assert_eq!(t.routes(), [a]);
        assert_eq!(
            t.changes().last().map(String::as_str),
            Some("delete 10.42.2.0/24 via 192.168.77.3")
        );
    }

    #[tokio::test]
    async fn a_node_that_changes_address_gets_its_route_replaced_not_deleted() {
        let t = FakeRouteTable::default();
        reconcile(&t, &[route("10.42.1.0/24", "192.168.77.2")])
            .await
            .expect("ok");
        let moved = route("10.42.1.0/24", "192.168.77.9");
        reconcile(&t, std::slice::from_ref(&moved))
            .await
            .expect("ok");
        assert_eq!(t.routes(), [moved]);
        assert!(!t.changes().iter().any(|c| c.starts_with("delete")));
    }

    #[test]
    fn ip_json_output_is_read_into_routes() {
        let json = r#"[{"dst":"10.42.1.0/24","gateway":"192.168.77.2","dev":"eth0","protocol":"190","flags":[]},
            {"dst":"10.42.9.0/24","dev":"cni0","protocol":"190","flags":[]}]"#;
        assert_eq!(parse_routes(json), [route("10.42.1.0/24", "192.168.77.2")]);
    }
}
