//! Cases for many concurrent writers.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{DEADLINE, must, next_events, value};
use crate::{EventKind, Revision, Store};

const WRITERS: usize = 64;
const WRITES_EACH: usize = 50;

/// Runs `WRITERS` tasks each creating `WRITES_EACH` keys; returns the
/// revision of every create.
async fn create_concurrently<S: Store>(store: &Arc<S>) -> Vec<Revision> {
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let store = Arc::clone(store);
        tasks.spawn(async move {
            let mut revisions = Vec::with_capacity(WRITES_EACH);
            for n in 0..WRITES_EACH {
                let key = format!("/cw/{writer:03}/{n:03}");
                revisions.push(must(store.create(&key, value(&key)).await, "create").mod_revision);
            }
            revisions
        });
    }
    let mut revisions = Vec::new();
    while let Some(joined) = tokio::time::timeout(DEADLINE, tasks.join_next())
        .await
        .ok()
        .flatten()
    {
        match joined {
            Ok(mut some) => revisions.append(&mut some),
            Err(err) => panic!("writer task failed: {err}"),
        }
    }
    revisions
}

pub async fn concurrent_writers_get_distinct_consecutive_revisions<S: Store>(store: S) {
    let store = Arc::new(store);
    let start = must(store.current_revision().await, "current_revision");
    let revisions = create_concurrently(&store).await;
    let total = WRITERS * WRITES_EACH;
    assert_eq!(revisions.len(), total, "every write must be acknowledged");
    let distinct: BTreeSet<Revision> = revisions.into_iter().collect();
    let expected: BTreeSet<Revision> = (start + 1..=start + total as Revision).collect();
    assert_eq!(distinct, expected);
    let current = must(store.current_revision().await, "current_revision");
    assert_eq!(current, start + total as Revision);
}

pub async fn watcher_sees_every_concurrent_write_exactly_once<S: Store>(store: S) {
    let store = Arc::new(store);
    let start = must(store.current_revision().await, "current_revision");
    let mut stream = must(store.watch("/cw/", start).await, "watch");
    let revisions = create_concurrently(&store).await;
    let total = WRITERS * WRITES_EACH;
    assert_eq!(revisions.len(), total);
    let events = next_events(&mut stream, total).await;
    let keys: BTreeSet<&str> = events.iter().map(|e| e.kv.key.as_str()).collect();
    assert_eq!(keys.len(), total, "each key exactly once");
    for (offset, event) in events.iter().enumerate() {
        assert_eq!(event.kind, EventKind::Create);
        assert_eq!(
            event.revision(),
            start + 1 + offset as Revision,
            "events in revision order"
        );
        assert_eq!(event.kv.value, value(&event.kv.key));
    }
}
