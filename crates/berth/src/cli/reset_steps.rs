//! What `berth reset` undoes on the machine besides the data dir: the
//! service proxy's nftables tables, the pod network's bridge and the
//! host-gw routes the agent added. Each step is idempotent and tolerant of
//! what is already gone.

use anyhow::{Context, Result, bail};

/// One undo step: a name for messages and the work.
pub struct Step {
    pub name: &'static str,
    run: fn() -> Result<()>,
}

impl Step {
    pub fn run(&self) -> Result<()> {
        (self.run)()
    }
}

/// Every step, in order.
pub fn all() -> Vec<Step> {
    vec![
        Step {
            name: "removing the service proxy's nftables tables",
            run: delete_nft_tables,
        },
        Step {
            name: "removing the pod network's bridge",
            run: delete_bridge,
        },
        Step {
            name: "removing the pod network's routes",
            run: delete_routes,
        },
    ]
}

/// The service proxy's and the pod network's tables (family, name).
const NFT_TABLES: &[(&str, &str)] = &[("ip", "berth"), ("ip6", "berth"), ("ip", "berth_masq")];
/// The bridge the default CNI configuration makes.
const BRIDGE: &str = "cni0";

fn run(program: &str, args: &[&str]) -> Result<std::process::Output> {
    std::process::Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))
}

fn delete_nft_tables() -> Result<()> {
    let listed = run("nft", &["list", "tables"])?;
    let tables = String::from_utf8_lossy(&listed.stdout);
    for (family, name) in NFT_TABLES {
        if tables
            .lines()
            .any(|l| l.trim() == format!("table {family} {name}"))
        {
            let out = run("nft", &["delete", "table", family, name])?;
            if !out.status.success() {
                bail!(
                    "nft delete table {family} {name}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            println!("berth: nftables table {family} {name} removed");
        }
    }
    Ok(())
}

fn delete_bridge() -> Result<()> {
    if !std::path::Path::new("/sys/class/net").join(BRIDGE).exists() {
        return Ok(());
    }
    let out = run("ip", &["link", "delete", BRIDGE])?;
    if !out.status.success() {
        bail!(
            "ip link delete {BRIDGE}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!("berth: interface {BRIDGE} removed");
    Ok(())
}

/// The host-gw routes the agent added (tagged with its route protocol).
fn delete_routes() -> Result<()> {
    let proto = berth_agent::network::routes::ROUTE_PROTOCOL.to_string();
    let out = run("ip", &["-4", "route", "flush", "proto", &proto])?;
    if !out.status.success() {
        bail!(
            "ip route flush proto {proto}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
