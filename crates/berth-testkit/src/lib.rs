//! Test-only helpers for Berth's integration and end-to-end tests.
//!
//! It is: [`TestServer`] (the real `berth server` binary on a free port in a
//! temporary data dir, killed when dropped), [`eventually`] (poll with a
//! deadline instead of sleeping), [`Kubectl`] (the real kubectl pointed at a
//! test server), a kube-rs client factory, and [`TestLan`]/[`TestHost`]
//! (machines as network namespaces on one bridge, for multi-node tests).
//!
//! It is not: used by any non-test code.

mod fake_kubelet;
mod kubectl;
mod server;
pub mod testhost;

pub use fake_kubelet::{FakeKubelet, FakeKubeletConfig, OUTCOME_ANNOTATION, OutcomeHook};
pub use kubectl::{Kubectl, KubectlOutput};
pub use server::TestServer;
pub use testhost::{TestHost, TestLan};

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some`, or fails after `timeout` with the
/// description of what was awaited.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
