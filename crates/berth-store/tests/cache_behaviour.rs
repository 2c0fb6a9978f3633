//! Watch-cache behaviour beyond the conformance suite: recovery when the
//! backend watch breaks, lagging watchers, fan-out, read-your-writes.

#[path = "support/flaky.rs"]
mod flaky;

use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_store::{
    Event, ListOptions, Result, SqliteConfig, SqliteStore, Store, StoreError, WatchCache,
    WatchCacheConfig, WatchStream,
};
use bytes::Bytes;
use flaky::Flaky;
use futures::StreamExt;
use tempfile::TempDir;

const DEADLINE: Duration = Duration::from_secs(60);

fn sqlite() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store =
        SqliteStore::open(&dir.path().join("store.db"), SqliteConfig::default()).expect("open");
    (store, dir)
}

async fn cache<S: Store>(backend: Arc<S>, config: WatchCacheConfig) -> WatchCache<S> {
    WatchCache::new(backend, config)
        .await
        .expect("start the cache")
}

fn quick_retries() -> WatchCacheConfig {
    WatchCacheConfig {
        retry_backoff: Duration::from_millis(5),
        ..WatchCacheConfig::default()
    }
}

async fn next(stream: &mut WatchStream) -> Option<Result<Event>> {
    tokio::time::timeout(DEADLINE, stream.next())
        .await
        .expect("a watch item before the deadline")
}

async fn next_revisions(stream: &mut WatchStream, count: usize) -> Vec<i64> {
    let mut revisions = Vec::new();
    for _ in 0..count {
        revisions.push(
            next(stream)
                .await
                .expect("event")
                .expect("not an error")
                .revision(),
        );
    }
    revisions
}

async fn create_keys<S: Store>(store: &S, prefix: &str, count: usize) {
    for n in 0..count {
        store
            .create(&format!("{prefix}{n:05}"), Bytes::from_static(b"v"))
            .await
            .expect("create");
    }
}

#[tokio::test]
async fn cache_rewatches_without_ending_watchers_when_the_backend_watch_breaks() {
    let (store, _dir) = sqlite();
    let backend = Flaky::new(store);
    let cache = cache(Arc::clone(&backend), quick_retries()).await;
    let mut watcher = cache.watch("/", 0).await.expect("watch");
    create_keys(&cache, "/a/", 3).await;
    assert_eq!(next_revisions(&mut watcher, 3).await, [1, 2, 3]);
    backend.break_watches();
    create_keys(&cache, "/b/", 3).await;
    assert_eq!(next_revisions(&mut watcher, 3).await, [4, 5, 6]);
    let listed = cache.list("/", ListOptions::default()).await.expect("list");
    assert_eq!((listed.items.len(), listed.revision), (6, 6));
}

#[tokio::test]
async fn cache_relists_and_ends_watchers_that_would_miss_events() {
    let (store, _dir) = sqlite();
    let backend = Flaky::new(store);
    let cache = cache(Arc::clone(&backend), quick_retries()).await;
    let mut watcher = cache.watch("/", 0).await.expect("watch");
    create_keys(&cache, "/a/", 3).await;
    assert_eq!(next_revisions(&mut watcher, 3).await, [1, 2, 3]);
    backend.refuse_watches(true);
    backend.break_watches();
    create_keys(&cache, "/b/", 3).await;
    cache.compact(6).await.expect("compact");
    backend.refuse_watches(false);
    let item = next(&mut watcher).await.expect("an item");
    assert!(
        matches!(item, Err(StoreError::WatcherLagged)),
        "got {item:?}"
    );
    assert!(next(&mut watcher).await.is_none());
    assert_eq!(cache.cached_revision(), 6);
    let listed = cache.list(
        "/",
        ListOptions {
            revision: Some(6),
            ..ListOptions::default()
        },
    );
    assert_eq!(listed.await.expect("list").items.len(), 6);
    let mut fresh = cache.watch("/", 6).await.expect("watch after relist");
    create_keys(&cache, "/c/", 1).await;
    assert_eq!(next_revisions(&mut fresh, 1).await, [7]);
}

#[tokio::test]
async fn lagging_cache_watcher_resumes_from_the_ring() {
    let (store, _dir) = sqlite();
    let config = WatchCacheConfig {
        broadcast_capacity: 8,
        ..WatchCacheConfig::default()
    };
    let cache = cache(Arc::new(store), config).await;
    let mut watcher = cache.watch("/", 0).await.expect("watch");
    create_keys(&cache, "/a/", 200).await;
    let expected: Vec<i64> = (1..=200).collect();
    assert_eq!(next_revisions(&mut watcher, 200).await, expected);
}

#[tokio::test]
async fn cache_watcher_that_falls_out_of_the_ring_ends_with_lagged() {
    let (store, _dir) = sqlite();
    let config = WatchCacheConfig {
        broadcast_capacity: 4,
        event_capacity: 10,
        ..WatchCacheConfig::default()
    };
    let cache = cache(Arc::new(store), config).await;
    let mut watcher = cache.watch("/", 0).await.expect("watch");
    create_keys(&cache, "/a/", 50).await;
    loop {
        match next(&mut watcher)
            .await
            .expect("the stream ends with an error")
        {
            Ok(_) => continue,
            Err(StoreError::WatcherLagged) => break,
            Err(other) => panic!("expected WatcherLagged, got {other}"),
        }
    }
    assert!(next(&mut watcher).await.is_none());
}

#[tokio::test]
async fn watch_older_than_the_ring_is_served_by_the_backend() {
    let (store, _dir) = sqlite();
    create_keys(&store, "/a/", 5).await;
    let cache = cache(Arc::new(store), WatchCacheConfig::default()).await;
    let mut watcher = cache.watch("/a/", 2).await.expect("watch");
    create_keys(&cache, "/b/", 1).await;
    create_keys(&cache, "/a/x", 1).await;
    assert_eq!(next_revisions(&mut watcher, 4).await, [3, 4, 5, 7]);
}

#[tokio::test]
async fn list_at_latest_through_the_cache_reads_its_own_writes() {
    let (store, _dir) = sqlite();
    let cache = cache(Arc::new(store), WatchCacheConfig::default()).await;
    for n in 0..200 {
        let created = cache
            .create(&format!("/own/{n:03}"), Bytes::new())
            .await
            .expect("create");
        let listed = cache
            .list("/own/", ListOptions::default())
            .await
            .expect("list");
        assert!(listed.revision >= created.mod_revision);
        assert_eq!(listed.items.len(), n + 1);
    }
}

#[tokio::test]
async fn dropping_the_cache_ends_its_watchers() {
    let (store, _dir) = sqlite();
    let cache = cache(Arc::new(store), WatchCacheConfig::default()).await;
    let mut watcher = cache.watch("/", 0).await.expect("watch");
    drop(cache);
    let item = next(&mut watcher).await.expect("an item");
    assert!(matches!(item, Err(StoreError::Closed)), "got {item:?}");
    assert!(next(&mut watcher).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_watchers_each_receive_five_thousand_events() {
    const WATCHERS: usize = 100;
    const EVENTS: usize = 5_000;
    const WRITERS: usize = 10;
    let (store, _dir) = sqlite();
    let cache = Arc::new(cache(Arc::new(store), WatchCacheConfig::default()).await);
    let mut watchers = tokio::task::JoinSet::new();
    for _ in 0..WATCHERS {
        let mut stream = cache.watch("/fan/", 0).await.expect("watch");
        watchers.spawn(async move {
            let mut last = 0;
            for _ in 0..EVENTS {
                let revision = next(&mut stream)
                    .await
                    .expect("event")
                    .expect("not an error")
                    .revision();
                assert!(revision > last, "events in revision order");
                last = revision;
            }
            Instant::now()
        });
    }
    let started = Instant::now();
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let cache = Arc::clone(&cache);
        writers.spawn(async move {
            create_keys(&*cache, &format!("/fan/{writer}/"), EVENTS / WRITERS).await
        });
    }
    writers.join_all().await;
    let written = Instant::now();
    let finished = watchers
        .join_all()
        .await
        .into_iter()
        .max()
        .expect("watchers");
    println!(
        "{EVENTS} writes in {:?}; last of {WATCHERS} watchers done {:?} after the last write",
        written - started,
        finished.saturating_duration_since(written)
    );
}
