//! Pod lifecycle event generator: relists the runtime's containers every
//! second and wakes the worker of every pod whose containers changed state
//! (upstream's generic PLEG; containerd 1.6 has no CRI event stream).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::cri::RuntimeService;
use crate::pod_worker::{LABEL_NODE, LABEL_POD_UID};

pub const RELIST_PERIOD: Duration = Duration::from_secs(1);

/// Pod UID → the wake-up of its worker.
pub type Wakers = Arc<Mutex<HashMap<String, Arc<Notify>>>>;

/// A pod's containers as (id, state) pairs, sorted: equal ⇔ nothing changed.
type Fingerprint = Vec<(String, i32)>;

pub async fn run(
    runtime: Arc<dyn RuntimeService>,
    node: String,
    wakers: Wakers,
    cancel: CancellationToken,
) {
    let mut last: HashMap<String, Fingerprint> = HashMap::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(RELIST_PERIOD) => {}
        }
        let Ok(containers) = runtime.list_containers().await else {
            continue;
        };
        let mut now: HashMap<String, Fingerprint> = HashMap::new();
        for c in containers
            .iter()
            .filter(|c| c.labels.get(LABEL_NODE) == Some(&node))
        {
            if let Some(uid) = c.labels.get(LABEL_POD_UID) {
                now.entry(uid.clone())
                    .or_default()
                    .push((c.id.clone(), c.state));
            }
        }
        for fp in now.values_mut() {
            fp.sort();
        }
        let wakers = wakers.lock();
        for (uid, fp) in &now {
            if last.get(uid) != Some(fp)
                && let Some(w) = wakers.get(uid)
            {
                w.notify_one();
            }
        }
        drop(wakers);
        last = now;
    }
}
