//! End to end across machines: two test hosts (network namespaces on one
//! LAN bridge), each running the real `berth agent` with its own
//! containerd; the real API server and controller manager (node IPAM) in
//! the root namespace. Pods get IPs from their node's podCIDR, reach each
//! other across hosts through the agents' host-gw routes, answer on a
//! hostPort from the LAN, and get their hostname and cluster DNS
//! configuration.

mod multihost_support;

use std::net::Ipv4Addr;
use std::time::Duration;

use berth_testkit::eventually;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use multihost_support::{Cluster, IMAGE, node_name};

/// True when `ip` is inside `cidr` (`a.b.c.d/n`).
fn in_cidr(ip: &str, cidr: &str) -> bool {
    let Some((base, bits)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(ip), Ok(base), Ok(bits)) = (
        ip.parse::<Ipv4Addr>(),
        base.parse::<Ipv4Addr>(),
        bits.parse::<u32>(),
    ) else {
        return false;
    };
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    u32::from(ip) & mask == u32::from(base) & mask
}

/// A shell line fetching `path` from `ip:port` with busybox `nc` (Debian's
/// static busybox `wget` crashes on some machines).
fn http_get(ip: &str, port: u16, path: &str) -> String {
    format!("printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 {ip} {port}")
}

/// The body of an HTTP response.
fn body(response: &str) -> &str {
    response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .trim()
}

/// busybox httpd serving `page` at `/` and the client's address at
/// `/cgi-bin/ip` (REMOTE_ADDR), with hostPort 8080.
/// The client address the CGI script printed (busybox httpd gives it as
/// `[::ffff:a.b.c.d]`).
fn remote_addr(response: &str) -> String {
    let last = response.lines().rev().find(|l| !l.trim().is_empty());
    let addr = last.unwrap_or_default().trim();
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    addr.trim_start_matches("::ffff:").to_string()
}

fn httpd(page: &str) -> serde_json::Value {
    let cgi = "printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REMOTE_ADDR\\n' > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip";
    let script = format!(
        "mkdir -p /www/cgi-bin && echo {page} > /www/index.html && {cgi} && exec httpd -f -p 80 -h /www"
    );
    serde_json::json!({
        "name": "web", "image": IMAGE, "command": ["sh", "-c", script],
        "ports": [{"containerPort": 80, "hostPort": 8080}]
    })
}

fn sleeper() -> serde_json::Value {
    serde_json::json!({"name": "c", "image": IMAGE, "command": ["sleep", "3600"]})
}

/// `ip route show proto <Berth's>` on a host: Berth's routes there.
fn berth_routes(cluster: &Cluster, host: usize) -> String {
    let out = cluster.hosts[host]
        .command("ip")
        .args(["-4", "route", "show", "proto"])
        .arg(berth_agent::network::routes::ROUTE_PROTOCOL.to_string())
        .output()
        .expect("ip runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_on_two_hosts_reach_each_other_and_a_host_port_answers_from_the_lan() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let (n1, n2) = (node_name(0), node_name(1));
    cluster
        .create_pod("server", &n2, httpd("hello-from-node-2"))
        .await;
    cluster.create_pod("client", &n1, sleeper()).await;
    let server = cluster.running("server").await;
    let client = cluster.running("client").await;
    let server_ip = server
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .expect("pod IP");
    let client_ip = client
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .expect("pod IP");
    let (cidr1, cidr2) = (cluster.pod_cidr(&n1).await, cluster.pod_cidr(&n2).await);
    assert!(in_cidr(&client_ip, &cidr1), "{client_ip} not in {cidr1}");
    assert!(in_cidr(&server_ip, &cidr2), "{server_ip} not in {cidr2}");
    assert_ne!(cidr1, cidr2);

    // Pod to pod across hosts, through host-gw routes.
    let page = eventually(
        "client fetches the server pod across hosts",
        Duration::from_secs(30),
        || async {
            let (_, out) = cluster
                .exec(&client, &["sh", "-c", &http_get(&server_ip, 80, "/")])
                .await;
            out.contains("200 OK").then_some(out)
        },
    )
    .await;
    assert_eq!(body(&page), "hello-from-node-2");
    assert!(
        berth_routes(&cluster, 0).contains(&format!("{cidr2} via {}", cluster.hosts[1].address))
    );

    // No NAT between pods: the server sees the client's pod IP.
    let get_ip = http_get(&server_ip, 80, "/cgi-bin/ip");
    let (_, seen) = cluster.exec(&client, &["sh", "-c", &get_ip]).await;
    assert_eq!(remote_addr(&seen), client_ip, "{seen}");
    // Egress leaves with the node's address: through node-2's hostPort (a
    // LAN address, outside the cluster CIDR) the server sees node-1.
    let node2 = cluster.hosts[1].address.to_string();
    let get_ip = http_get(&node2, 8080, "/cgi-bin/ip");
    let (_, seen) = cluster.exec(&client, &["sh", "-c", &get_ip]).await;
    assert_eq!(
        remote_addr(&seen),
        cluster.hosts[0].address.to_string(),
        "{seen}"
    );

    // hostPort 8080 on node-2's LAN address, from a client on the LAN.
    let out = cluster
        .lan
        .command("busybox")
        .args(["sh", "-c", &http_get(&node2, 8080, "/")])
        .output()
        .expect("nc runs");
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains("200 OK"), "{page}");
    assert_eq!(body(&page), "hello-from-node-2");

    // Its own UTS namespace (hostname = pod name) and cluster DNS.
    let (_, hostname) = cluster.exec(&client, &["hostname"]).await;
    assert_eq!(hostname.trim(), "client");
    let (_, resolv) = cluster.exec(&client, &["cat", "/etc/resolv.conf"]).await;
    assert!(resolv.contains("nameserver 10.43.0.10"), "{resolv}");
    assert!(
        resolv.contains("search default.svc.cluster.local svc.cluster.local cluster.local"),
        "{resolv}"
    );
    assert!(resolv.contains("ndots:5"), "{resolv}");

    cluster.delete_pods().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_follows_a_node_and_goes_when_the_node_is_deleted() {
    let Some(cluster) = Cluster::start(1).await else {
        return;
    };
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let ghost: Node = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "ghost"},
        "spec": {"podCIDR": "10.42.200.0/24", "podCIDRs": ["10.42.200.0/24"]}
    }))
    .expect("node");
    nodes
        .create(&PostParams::default(), &ghost)
        .await
        .expect("created");
    let status = serde_json::json!({"status": {"addresses": [{"type": "InternalIP", "address": "192.168.77.9"}]}});
    nodes
        .patch_status("ghost", &PatchParams::default(), &Patch::Merge(status))
        .await
        .expect("status");
    eventually(
        "the route to ghost's pods",
        Duration::from_secs(30),
        || async {
            berth_routes(&cluster, 0)
                .contains("10.42.200.0/24 via 192.168.77.9")
                .then_some(())
        },
    )
    .await;
    nodes
        .delete("ghost", &DeleteParams::default())
        .await
        .expect("deleted");
    eventually(
        "the route removed with the node",
        Duration::from_secs(30),
        || async { (!berth_routes(&cluster, 0).contains("10.42.200.0/24")).then_some(()) },
    )
    .await;
}
