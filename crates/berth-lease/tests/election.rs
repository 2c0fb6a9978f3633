//! Leader election against the real `berth server`.

use std::path::PathBuf;
use std::time::Duration;

use berth_lease::{LeaseConfig, acquire};
use berth_testkit::TestServer;

/// The berth binary next to this test's deps directory (built by
/// `cargo test --workspace`; run `cargo build -p berth` first otherwise).
fn berth_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join("berth")
}

fn fast(identity: &str) -> LeaseConfig {
    let mut c = LeaseConfig::new("test-leader", identity);
    c.lease_duration = Duration::from_millis(1500);
    c.renew_deadline = Duration::from_millis(1000);
    c.retry_period = Duration::from_millis(100);
    c
}

#[tokio::test]
async fn a_second_candidate_waits_and_takes_over_when_the_leader_releases() {
    let server = TestServer::start(&berth_binary()).expect("server starts");
    let client = server.client().await.expect("client");
    let first = acquire(client.clone(), fast("a")).await.expect("a leads");
    let second = tokio::spawn(acquire(client.clone(), fast("b")));
    // b cannot lead while a renews: give it several retry periods to try.
    let waited = tokio::time::timeout(Duration::from_millis(800), async {
        while !second.is_finished() {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(waited.is_err(), "b became leader while a held the lease");
    first.release().await;
    let b = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .expect("b takes over in time")
        .expect("join");
    let b = b.expect("b leads");
    assert!(!b.is_lost());
}

#[tokio::test]
async fn a_dead_leaders_lease_is_taken_over_after_it_expires() {
    let server = TestServer::start(&berth_binary()).expect("server starts");
    let client = server.client().await.expect("client");
    let first = acquire(client.clone(), fast("a")).await.expect("a leads");
    // "Kill" a: stop renewing without releasing.
    drop(first);
    let started = std::time::Instant::now();
    let b = tokio::time::timeout(Duration::from_secs(10), acquire(client.clone(), fast("b")))
        .await
        .expect("b in time")
        .expect("b leads");
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "b waited for the lease to expire"
    );
    drop(b);
}
