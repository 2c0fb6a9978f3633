//! The store conformance suite against the SQLite backend.

use berth_store::{SqliteConfig, SqliteStore};
use tempfile::TempDir;

async fn fresh_store() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(&dir.path().join("store.db"), SqliteConfig::default())
        .expect("open the store");
    (store, dir)
}

berth_store::store_conformance_tests!(fresh_store());
