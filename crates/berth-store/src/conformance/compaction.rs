//! Cases for compaction.

use super::{must, next_events, value};
use crate::{EventKind, ListOptions, Store, StoreError};

fn at(revision: i64) -> ListOptions {
    ListOptions {
        revision: Some(revision),
        ..ListOptions::default()
    }
}

/// Writes revisions 1..=6: a, b, c created; a updated; b deleted; c updated.
async fn write_history<S: Store>(store: &S) {
    must(store.create("/c/a", value("a1")).await, "create");
    must(store.create("/c/b", value("b1")).await, "create");
    must(store.create("/c/c", value("c1")).await, "create");
    must(store.update("/c/a", value("a2"), 1).await, "update");
    must(store.delete("/c/b", None).await, "delete");
    must(store.update("/c/c", value("c2"), 3).await, "update");
}

pub async fn compaction_makes_older_revisions_unreadable<S: Store>(store: S) {
    write_history(&store).await;
    must(store.compact(4).await, "compact");
    assert_eq!(
        must(store.compacted_revision().await, "compacted_revision"),
        4
    );
    for revision in [1, 3] {
        let err = store.list("/c/", at(revision)).await;
        assert!(
            matches!(&err, Err(StoreError::Compacted { requested, compacted })
                if *requested == revision && *compacted == 4),
            "list at {revision}: expected Compacted, got {err:?}"
        );
        let err = store.watch("/c/", revision).await.err();
        assert!(
            matches!(&err, Some(StoreError::Compacted { compacted: 4, .. })),
            "watch after {revision}: expected Compacted, got {err:?}"
        );
    }
    let listed = must(
        store.list("/c/", at(4)).await,
        "list at the compacted revision",
    );
    let keys: Vec<_> = listed.items.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["/c/a", "/c/b", "/c/c"]);
    let mut stream = must(
        store.watch("/c/", 4).await,
        "watch from the compacted revision",
    );
    let events = next_events(&mut stream, 2).await;
    assert_eq!(
        (events[0].kind, events[0].revision()),
        (EventKind::Delete, 5)
    );
    assert_eq!(
        (events[1].kind, events[1].revision()),
        (EventKind::Update, 6)
    );
    let prev = events[1]
        .prev
        .as_ref()
        .map(|p| (p.value.clone(), p.mod_revision));
    assert_eq!(
        prev,
        Some((value("c1"), 3)),
        "the previous value survives compaction"
    );
}

pub async fn compaction_keeps_the_latest_values<S: Store>(store: S) {
    write_history(&store).await;
    let before = must(store.list("/c/", ListOptions::default()).await, "list");
    must(store.compact(6).await, "compact");
    let after = must(store.list("/c/", ListOptions::default()).await, "list");
    assert_eq!(after.items, before.items);
    assert_eq!(after.revision, 6);
    let a = must(store.get("/c/a").await, "get");
    assert_eq!(
        a.map(|kv| (kv.value, kv.mod_revision)),
        Some((value("a2"), 4))
    );
    assert_eq!(must(store.get("/c/b").await, "get"), None);
    let next = must(
        store.create("/c/d", value("d1")).await,
        "create after compaction",
    );
    assert_eq!(next.mod_revision, 7);
    let updated = must(
        store.update("/c/a", value("a3"), 4).await,
        "update after compaction",
    );
    assert_eq!(updated.create_revision, 1);
}

pub async fn compaction_above_the_current_revision_fails<S: Store>(store: S) {
    write_history(&store).await;
    let err = store.compact(7).await;
    assert!(
        matches!(
            &err,
            Err(StoreError::FutureRevision {
                requested: 7,
                current: 6
            })
        ),
        "expected FutureRevision, got {err:?}"
    );
    assert_eq!(
        must(store.compacted_revision().await, "compacted_revision"),
        0
    );
}
