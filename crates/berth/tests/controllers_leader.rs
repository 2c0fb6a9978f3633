//! Leader election of `berth controller-manager`: two instances, one works;
//! when the leader dies the other takes over within 15 s and keeps
//! reconciling.

mod controllers_support;

use std::time::{Duration, Instant};

use berth_testkit::{FakeKubelet, FakeKubeletConfig, TestServer, eventually};
use controllers_support::{TIMEOUT, binary, from_json, replica_set, start_manager};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

const ELECTION: &[&str] = &[
    "--leader-elect=true",
    "--leader-elect-lease-duration=6s",
    "--leader-elect-renew-deadline=4s",
    "--leader-elect-retry-period=1s",
];

async fn holder(leases: &Api<Lease>) -> Option<String> {
    leases
        .get_opt("kube-controller-manager")
        .await
        .ok()??
        .spec?
        .holder_identity
}

/// The pid in an identity `host_pid_nanos`.
fn pid_of(identity: &str) -> Option<u32> {
    identity.split('_').rev().nth(1)?.parse().ok()
}

#[tokio::test]
async fn a_second_controller_manager_takes_over_when_the_leader_dies() {
    let server = TestServer::start(binary()).expect("server");
    let client = server.client().await.expect("client");
    let _kubelet = FakeKubelet::start(client.clone(), FakeKubeletConfig::nodes(1))
        .await
        .expect("kubelet");
    let mut first = start_manager(&server, ELECTION);
    let mut second = start_manager(&server, ELECTION);
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    let leader = eventually("a leader", TIMEOUT, || async { holder(&leases).await }).await;
    let rs: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    rs.create(&PostParams::default(), &from_json(replica_set("ha", 2)))
        .await
        .expect("rs");
    let ready = |n: i32| {
        let rs = rs.clone();
        async move { (rs.get("ha").await.ok()?.status?.ready_replicas == Some(n)).then_some(()) }
    };
    eventually("the leader runs the ReplicaSet", TIMEOUT, || ready(2)).await;
    let leader_pid = pid_of(&leader).expect("pid in identity");
    let (dead, survivor) = if first.pid() == Some(leader_pid) {
        (&mut first, &second)
    } else {
        (&mut second, &first)
    };
    assert!(survivor.pid().is_some());
    dead.kill();
    let killed = Instant::now();
    let new_leader = eventually("a new leader", TIMEOUT, || async {
        holder(&leases).await.filter(|h| *h != leader)
    })
    .await;
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(15), "takeover took {took:?}");
    assert_eq!(pid_of(&new_leader), survivor.pid());
    rs.patch(
        "ha",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 3}})),
    )
    .await
    .expect("scale");
    eventually("the new leader reconciles", TIMEOUT, || ready(3)).await;
}
