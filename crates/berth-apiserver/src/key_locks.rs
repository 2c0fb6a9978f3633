//! Per-key turns for read-modify-write requests (PUT, PATCH, apply).
//!
//! Concurrent writers of one object take turns in this process instead of
//! racing and retrying on compare-and-swap conflicts; the store's
//! compare-and-swap still guards against other processes. Keys hash onto a
//! fixed set of stripes, so unrelated keys rarely wait for each other and
//! memory stays bounded.

use std::hash::{Hash, Hasher};

use tokio::sync::{Mutex, MutexGuard};

const STRIPES: usize = 256;

pub struct KeyLocks {
    stripes: Vec<Mutex<()>>,
}

impl Default for KeyLocks {
    fn default() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl KeyLocks {
    /// Waits for this key's turn; the turn ends when the guard drops.
    pub async fn lock(&self, key: &str) -> MutexGuard<'_, ()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        let i = (h.finish() as usize) % self.stripes.len();
        self.stripes[i].lock().await
    }
}
