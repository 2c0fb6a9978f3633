//! Cases for single-key writes and reads, and the revision counter.

use super::{must, value};
use crate::{Store, StoreError};

pub async fn create_then_get_returns_the_value<S: Store>(store: S) {
    let created = must(store.create("/a/one", value("1")).await, "create");
    assert_eq!(created.key, "/a/one");
    assert_eq!(created.value, value("1"));
    assert_eq!(created.create_revision, created.mod_revision);
    let got = must(store.get("/a/one").await, "get");
    assert_eq!(got, Some(created));
}

pub async fn get_of_a_missing_key_returns_none<S: Store>(store: S) {
    assert_eq!(must(store.get("/a/missing").await, "get"), None);
}

pub async fn create_of_an_existing_key_fails_with_already_exists<S: Store>(store: S) {
    must(store.create("/a/one", value("1")).await, "create");
    let err = store.create("/a/one", value("2")).await;
    assert!(
        matches!(&err, Err(StoreError::AlreadyExists { key }) if key == "/a/one"),
        "expected AlreadyExists, got {err:?}"
    );
    let got = must(store.get("/a/one").await, "get");
    assert_eq!(got.map(|kv| kv.value), Some(value("1")));
}

pub async fn update_with_the_current_revision_succeeds<S: Store>(store: S) {
    let created = must(store.create("/a/one", value("1")).await, "create");
    let updated = must(
        store
            .update("/a/one", value("2"), created.mod_revision)
            .await,
        "update",
    );
    assert_eq!(updated.value, value("2"));
    assert_eq!(updated.mod_revision, created.mod_revision + 1);
    assert_eq!(must(store.get("/a/one").await, "get"), Some(updated));
}

pub async fn update_with_a_stale_revision_fails_with_conflict<S: Store>(store: S) {
    let created = must(store.create("/a/one", value("1")).await, "create");
    let updated = must(
        store
            .update("/a/one", value("2"), created.mod_revision)
            .await,
        "update",
    );
    let err = store
        .update("/a/one", value("3"), created.mod_revision)
        .await;
    assert!(
        matches!(&err, Err(StoreError::Conflict { key, expected, actual })
            if key == "/a/one" && *expected == created.mod_revision && *actual == updated.mod_revision),
        "expected Conflict, got {err:?}"
    );
    assert_eq!(must(store.get("/a/one").await, "get"), Some(updated));
}

pub async fn update_of_a_missing_key_fails_with_not_found<S: Store>(store: S) {
    let err = store.update("/a/missing", value("1"), 1).await;
    assert!(
        matches!(&err, Err(StoreError::NotFound { key }) if key == "/a/missing"),
        "expected NotFound, got {err:?}"
    );
}

pub async fn delete_with_the_current_revision_succeeds<S: Store>(store: S) {
    let created = must(store.create("/a/one", value("1")).await, "create");
    let deleted = must(
        store.delete("/a/one", Some(created.mod_revision)).await,
        "delete",
    );
    assert_eq!(deleted.value, value("1"));
    assert_eq!(deleted.create_revision, created.create_revision);
    assert_eq!(deleted.mod_revision, created.mod_revision + 1);
    assert_eq!(must(store.get("/a/one").await, "get"), None);
}

pub async fn delete_with_a_stale_revision_fails_with_conflict<S: Store>(store: S) {
    let created = must(store.create("/a/one", value("1")).await, "create");
    must(
        store
            .update("/a/one", value("2"), created.mod_revision)
            .await,
        "update",
    );
    let err = store.delete("/a/one", Some(created.mod_revision)).await;
    assert!(
        matches!(&err, Err(StoreError::Conflict { key, .. }) if key == "/a/one"),
        "expected Conflict, got {err:?}"
    );
    assert!(must(store.get("/a/one").await, "get").is_some());
}

pub async fn delete_without_precondition_succeeds<S: Store>(store: S) {
    let created = must(store.create("/a/one", value("1")).await, "create");
    must(
        store
            .update("/a/one", value("2"), created.mod_revision)
            .await,
        "update",
    );
    let deleted = must(store.delete("/a/one", None).await, "delete");
    assert_eq!(deleted.value, value("2"));
    assert_eq!(must(store.get("/a/one").await, "get"), None);
}

pub async fn delete_of_a_missing_key_fails_with_not_found<S: Store>(store: S) {
    for expected in [None, Some(1)] {
        let err = store.delete("/a/missing", expected).await;
        assert!(
            matches!(&err, Err(StoreError::NotFound { key }) if key == "/a/missing"),
            "expected NotFound, got {err:?}"
        );
    }
}

pub async fn revisions_grow_by_one_per_write_and_never_on_failure<S: Store>(store: S) {
    assert_eq!(must(store.current_revision().await, "current_revision"), 0);
    let one = must(store.create("/a/one", value("1")).await, "create");
    assert_eq!(one.mod_revision, 1);
    assert!(store.create("/a/one", value("x")).await.is_err());
    assert!(store.update("/a/one", value("x"), 99).await.is_err());
    assert!(store.update("/a/none", value("x"), 1).await.is_err());
    assert!(store.delete("/a/none", None).await.is_err());
    assert!(store.delete("/a/one", Some(99)).await.is_err());
    assert_eq!(must(store.current_revision().await, "current_revision"), 1);
    let two = must(store.create("/a/two", value("2")).await, "create");
    let three = must(store.update("/a/one", value("1b"), 1).await, "update");
    let four = must(store.delete("/a/two", None).await, "delete");
    let revisions = [two.mod_revision, three.mod_revision, four.mod_revision];
    assert_eq!(revisions, [2, 3, 4]);
    assert_eq!(must(store.current_revision().await, "current_revision"), 4);
}

pub async fn create_revision_is_kept_across_updates_and_renewed_by_recreation<S: Store>(store: S) {
    let created = must(store.create("/a/one", value("1")).await, "create");
    let mut last = created.clone();
    for round in 0..3 {
        let text = format!("v{round}");
        last = must(
            store
                .update("/a/one", value(&text), last.mod_revision)
                .await,
            "update",
        );
        assert_eq!(last.create_revision, created.create_revision);
    }
    must(store.delete("/a/one", None).await, "delete");
    let recreated = must(store.create("/a/one", value("again")).await, "create");
    assert_eq!(recreated.create_revision, recreated.mod_revision);
    assert!(recreated.create_revision > last.mod_revision);
}
