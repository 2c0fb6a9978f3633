//! SQLite-specific behaviour: durability across reopen, paged replay, lag.

use std::path::Path;
use std::time::Duration;

use berth_store::{
    EventKind, ListOptions, SqliteConfig, SqliteStore, Store, StoreError, WatchStream,
};
use bytes::Bytes;
use futures::StreamExt;

const DEADLINE: Duration = Duration::from_secs(30);

fn open(path: &Path, config: SqliteConfig) -> SqliteStore {
    SqliteStore::open(path, config).expect("open the store")
}

async fn next(stream: &mut WatchStream) -> Option<berth_store::Result<berth_store::Event>> {
    tokio::time::timeout(DEADLINE, stream.next())
        .await
        .expect("a watch item before the deadline")
}

#[tokio::test]
async fn reopened_store_keeps_data_and_continues_revisions() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("store.db");
    {
        let store = open(&path, SqliteConfig::default());
        store
            .create("/r/a", Bytes::from_static(b"a1"))
            .await
            .expect("create");
        store
            .create("/r/b", Bytes::from_static(b"b1"))
            .await
            .expect("create");
        store
            .update("/r/a", Bytes::from_static(b"a2"), 1)
            .await
            .expect("update");
        store.delete("/r/b", None).await.expect("delete");
    }
    let store = open(&path, SqliteConfig::default());
    assert_eq!(store.current_revision().await.expect("revision"), 4);
    let a = store.get("/r/a").await.expect("get").expect("a exists");
    assert_eq!(
        (a.value, a.create_revision, a.mod_revision),
        (Bytes::from_static(b"a2"), 1, 3)
    );
    assert_eq!(store.get("/r/b").await.expect("get"), None);
    let listed = store
        .list("/r/", ListOptions::default())
        .await
        .expect("list");
    assert_eq!((listed.items.len(), listed.revision), (1, 4));
    let mut stream = store.watch("/r/", 0).await.expect("watch");
    for revision in 1..=4 {
        let event = next(&mut stream)
            .await
            .expect("event")
            .expect("not an error");
        assert_eq!(event.revision(), revision);
    }
    let created = store
        .create("/r/c", Bytes::from_static(b"c1"))
        .await
        .expect("create");
    assert_eq!(created.mod_revision, 5);
    let updated = store
        .update("/r/a", Bytes::from_static(b"a3"), 3)
        .await
        .expect("update");
    assert_eq!((updated.create_revision, updated.mod_revision), (1, 6));
    assert!(matches!(
        store.create("/r/a", Bytes::new()).await,
        Err(StoreError::AlreadyExists { .. })
    ));
}

#[tokio::test]
async fn reopened_store_keeps_its_revision_when_compaction_removed_every_row() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("store.db");
    {
        let store = open(&path, SqliteConfig::default());
        store
            .create("/r/a", Bytes::from_static(b"a1"))
            .await
            .expect("create");
        store.delete("/r/a", None).await.expect("delete");
        store.compact(2).await.expect("compact");
    }
    let store = open(&path, SqliteConfig::default());
    assert_eq!(store.current_revision().await.expect("revision"), 2);
    assert_eq!(store.compacted_revision().await.expect("compacted"), 2);
    let created = store
        .create("/r/a", Bytes::from_static(b"a2"))
        .await
        .expect("create");
    assert_eq!((created.create_revision, created.mod_revision), (3, 3));
}

#[tokio::test]
async fn watch_replays_long_history_in_pages_without_gaps() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = SqliteConfig {
        replay_page_size: 2,
        ..SqliteConfig::default()
    };
    let store = open(&dir.path().join("store.db"), config);
    for n in 0..9 {
        let prefix = if n % 3 == 0 { "/other" } else { "/p" };
        store
            .create(&format!("{prefix}/{n}"), Bytes::new())
            .await
            .expect("create");
    }
    let mut stream = store.watch("/p/", 0).await.expect("watch");
    store.create("/p/live", Bytes::new()).await.expect("create");
    let mut revisions = Vec::new();
    for _ in 0..7 {
        revisions.push(
            next(&mut stream)
                .await
                .expect("event")
                .expect("not an error")
                .revision(),
        );
    }
    assert_eq!(revisions, [2, 3, 5, 6, 8, 9, 10]);
}

#[tokio::test]
async fn lagging_watcher_gets_one_lagged_error_and_ends() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = SqliteConfig {
        watch_capacity: 4,
        ..SqliteConfig::default()
    };
    let store = open(&dir.path().join("store.db"), config);
    let mut stream = store.watch("/", 0).await.expect("watch");
    for n in 0..20 {
        store
            .create(&format!("/l/{n}"), Bytes::new())
            .await
            .expect("create");
    }
    let item = next(&mut stream).await.expect("an item");
    assert!(
        matches!(item, Err(StoreError::WatcherLagged)),
        "got {item:?}"
    );
    assert!(
        next(&mut stream).await.is_none(),
        "the stream ends after the error"
    );
}

#[tokio::test]
async fn watch_above_the_current_revision_waits_for_that_revision() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = open(&dir.path().join("store.db"), SqliteConfig::default());
    let mut stream = store.watch("/", 2).await.expect("watch");
    for n in 0..3 {
        store
            .create(&format!("/f/{n}"), Bytes::new())
            .await
            .expect("create");
    }
    let event = next(&mut stream)
        .await
        .expect("event")
        .expect("not an error");
    assert_eq!((event.kind, event.revision()), (EventKind::Create, 3));
}

#[tokio::test]
async fn writes_fail_fast_with_overloaded_when_the_queue_is_full() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("store.db");
    let config = SqliteConfig {
        queue_capacity: 2,
        max_batch: 1,
        ..SqliteConfig::default()
    };
    let store = std::sync::Arc::new(open(&path, config));
    // Another connection holding the write lock stalls the writer thread.
    let blocker = rusqlite::Connection::open(&path).expect("blocking connection");
    blocker
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let mut writes = tokio::task::JoinSet::new();
    for n in 0..5 {
        let store = std::sync::Arc::clone(&store);
        writes.spawn(async move { store.create(&format!("/o/{n}"), Bytes::new()).await });
    }
    let first = tokio::time::timeout(DEADLINE, writes.join_next())
        .await
        .expect("a write finishes while the writer is stalled")
        .expect("a write")
        .expect("the task ran");
    assert!(
        matches!(first, Err(StoreError::Overloaded)),
        "got {first:?}"
    );
    blocker
        .execute_batch("ROLLBACK")
        .expect("release the write lock");
    let mut acknowledged = 0;
    while let Some(joined) = tokio::time::timeout(DEADLINE, writes.join_next())
        .await
        .expect("the remaining writes finish")
    {
        match joined.expect("the task ran") {
            Ok(_) => acknowledged += 1,
            Err(StoreError::Overloaded) => {}
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert!(
        acknowledged >= 1,
        "queued writes complete once the writer resumes"
    );
    let current = store.current_revision().await.expect("revision");
    assert_eq!(current, acknowledged);
}
