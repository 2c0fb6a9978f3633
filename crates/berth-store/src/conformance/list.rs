//! Cases for listing: prefixes, order, pagination, revisions.

use super::{must, value};
use crate::{ListOptions, ListResult, Store, StoreError};

fn keys(result: &ListResult) -> Vec<&str> {
    result.items.iter().map(|kv| kv.key.as_str()).collect()
}

async fn create_all<S: Store>(store: &S, keys: &[&str]) {
    for key in keys {
        must(store.create(key, value(key)).await, "create");
    }
}

pub async fn list_isolates_sibling_prefixes<S: Store>(store: S) {
    create_all(&store, &["/a/1", "/ab/1", "/a/2", "/a", "/b/1"]).await;
    let a = must(store.list("/a/", ListOptions::default()).await, "list /a/");
    assert_eq!(keys(&a), ["/a/1", "/a/2"]);
    let ab = must(
        store.list("/ab/", ListOptions::default()).await,
        "list /ab/",
    );
    assert_eq!(keys(&ab), ["/ab/1"]);
    let none = must(store.list("/c/", ListOptions::default()).await, "list /c/");
    assert!(none.items.is_empty());
    assert_eq!(none.remaining, 0);
}

pub async fn list_returns_keys_in_order<S: Store>(store: S) {
    create_all(&store, &["/k/c", "/k/a", "/k/b/x", "/k/b", "/k/aa"]).await;
    let all = must(store.list("/k/", ListOptions::default()).await, "list");
    assert_eq!(keys(&all), ["/k/a", "/k/aa", "/k/b", "/k/b/x", "/k/c"]);
    for kv in &all.items {
        assert_eq!(kv.value, value(&kv.key));
    }
}

pub async fn list_paginates_with_start_after_and_limit<S: Store>(store: S) {
    let names: Vec<String> = (0..7).map(|i| format!("/p/{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    create_all(&store, &refs).await;
    create_all(&store, &["/q/00"]).await;
    let mut seen = Vec::new();
    let mut start_after = None;
    let mut revision = None;
    loop {
        let opts = ListOptions {
            revision,
            start_after: start_after.clone(),
            limit: Some(3),
        };
        let page = must(store.list("/p/", opts).await, "list page");
        assert!(page.items.len() <= 3);
        assert_eq!(page.remaining, 7 - seen.len() - page.items.len());
        // Later pages are read at the first page's revision.
        revision = Some(page.revision);
        seen.extend(page.items.iter().map(|kv| kv.key.clone()));
        start_after = page.items.last().map(|kv| kv.key.clone());
        if page.remaining == 0 {
            break;
        }
    }
    assert_eq!(seen, names);
    let opts = ListOptions {
        limit: Some(0),
        ..ListOptions::default()
    };
    let unlimited = must(store.list("/p/", opts).await, "list with limit 0");
    assert_eq!(unlimited.items.len(), 7);
}

pub async fn list_at_an_old_revision_sees_the_old_state<S: Store>(store: S) {
    let one = must(store.create("/o/1", value("one")).await, "create");
    let two = must(store.create("/o/2", value("two")).await, "create");
    let before = two.mod_revision;
    must(
        store.update("/o/1", value("one-b"), one.mod_revision).await,
        "update",
    );
    must(store.delete("/o/2", None).await, "delete");
    must(store.create("/o/3", value("three")).await, "create");
    let at = |revision| ListOptions {
        revision: Some(revision),
        ..ListOptions::default()
    };
    let old = must(store.list("/o/", at(before)).await, "list old");
    assert_eq!(old.revision, before);
    assert_eq!(keys(&old), ["/o/1", "/o/2"]);
    assert_eq!(old.items[0], one);
    let first = must(store.list("/o/", at(one.mod_revision)).await, "list first");
    assert_eq!(keys(&first), ["/o/1"]);
    let latest = must(
        store.list("/o/", ListOptions::default()).await,
        "list latest",
    );
    assert_eq!(keys(&latest), ["/o/1", "/o/3"]);
    assert_eq!(latest.items[0].value, value("one-b"));
}

pub async fn list_above_the_current_revision_fails_with_future_revision<S: Store>(store: S) {
    let created = must(store.create("/f/1", value("1")).await, "create");
    let opts = ListOptions {
        revision: Some(created.mod_revision + 5),
        ..ListOptions::default()
    };
    let err = store.list("/f/", opts).await;
    assert!(
        matches!(&err, Err(StoreError::FutureRevision { requested, current })
            if *requested == created.mod_revision + 5 && *current == created.mod_revision),
        "expected FutureRevision, got {err:?}"
    );
}

pub async fn list_of_everything_includes_every_prefix<S: Store>(store: S) {
    create_all(&store, &["/x/1", "/y/1", "z"]).await;
    let all = must(
        store.list("", ListOptions::default()).await,
        "list everything",
    );
    assert_eq!(keys(&all), ["/x/1", "/y/1", "z"]);
    assert_eq!(all.revision, 3);
}
