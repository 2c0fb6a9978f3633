//! The store conformance suite against the watch cache in front of SQLite.

use std::sync::Arc;

use berth_store::{SqliteConfig, SqliteStore, WatchCache, WatchCacheConfig};
use tempfile::TempDir;

async fn fresh_store() -> (WatchCache<SqliteStore>, TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let backend = SqliteStore::open(&dir.path().join("store.db"), SqliteConfig::default())
        .expect("open the store");
    let cache = WatchCache::new(Arc::new(backend), WatchCacheConfig::default())
        .await
        .expect("start the cache");
    (cache, dir)
}

berth_store::store_conformance_tests!(fresh_store());
