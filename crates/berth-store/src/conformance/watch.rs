//! Cases for watching: replay, live events, previous values, prefixes.

use super::{must, next_event, next_events, value};
use crate::{Event, EventKind, Store};

/// (kind, key, revision) of each event, for compact assertions.
fn summary(events: &[Event]) -> Vec<(EventKind, &str, i64)> {
    events
        .iter()
        .map(|e| (e.kind, e.kv.key.as_str(), e.revision()))
        .collect()
}

/// Writes revisions 1..=4: create a, create b, update a, delete b.
async fn write_history<S: Store>(store: &S) {
    must(store.create("/w/a", value("a1")).await, "create");
    must(store.create("/w/b", value("b1")).await, "create");
    must(store.update("/w/a", value("a2"), 1).await, "update");
    must(store.delete("/w/b", Some(2)).await, "delete");
}

pub async fn watch_from_zero_replays_history_then_live_events<S: Store>(store: S) {
    write_history(&store).await;
    let mut stream = must(store.watch("/w/", 0).await, "watch");
    let replayed = next_events(&mut stream, 4).await;
    use EventKind::*;
    let expected = [
        (Create, "/w/a", 1),
        (Create, "/w/b", 2),
        (Update, "/w/a", 3),
        (Delete, "/w/b", 4),
    ];
    assert_eq!(summary(&replayed), expected);
    must(store.create("/w/c", value("c1")).await, "create");
    must(store.delete("/w/a", None).await, "delete");
    let live = next_events(&mut stream, 2).await;
    assert_eq!(summary(&live), [(Create, "/w/c", 5), (Delete, "/w/a", 6)]);
}

pub async fn watch_from_a_mid_revision_replays_only_later_events<S: Store>(store: S) {
    write_history(&store).await;
    let mut stream = must(store.watch("/w/", 2).await, "watch");
    must(store.create("/w/c", value("c1")).await, "create");
    let events = next_events(&mut stream, 3).await;
    use EventKind::*;
    assert_eq!(
        summary(&events),
        [
            (Update, "/w/a", 3),
            (Delete, "/w/b", 4),
            (Create, "/w/c", 5)
        ]
    );
}

pub async fn watch_carries_previous_values_on_update_and_delete<S: Store>(store: S) {
    let mut live = must(store.watch("/w/", 0).await, "watch");
    write_history(&store).await;
    let replayed = next_events(&mut must(store.watch("/w/", 0).await, "watch"), 4).await;
    let live = next_events(&mut live, 4).await;
    assert_eq!(replayed, live, "replayed and live events differ");
    let [create_a, _, update_a, delete_b] = &live[..] else {
        panic!("expected four events");
    };
    assert_eq!(create_a.prev, None);
    assert_eq!(create_a.kv.value, value("a1"));
    let prev = update_a
        .prev
        .as_ref()
        .map(|p| (p.value.clone(), p.mod_revision, p.create_revision));
    assert_eq!(prev, Some((value("a1"), 1, 1)));
    assert_eq!(
        (update_a.kv.value.clone(), update_a.kv.create_revision),
        (value("a2"), 1)
    );
    let prev = delete_b
        .prev
        .as_ref()
        .map(|p| (p.value.clone(), p.mod_revision));
    assert_eq!(prev, Some((value("b1"), 2)));
    assert_eq!(delete_b.kv.value, value("b1"));
    assert_eq!(
        (delete_b.kv.create_revision, delete_b.kv.mod_revision),
        (2, 4)
    );
}

pub async fn watch_filters_by_prefix<S: Store>(store: S) {
    must(store.create("/ab/early", value("x")).await, "create");
    must(store.create("/a/early", value("x")).await, "create");
    let mut stream = must(store.watch("/a/", 0).await, "watch");
    must(store.create("/ab/late", value("x")).await, "create");
    must(store.create("/b/late", value("x")).await, "create");
    must(store.create("/a/late", value("x")).await, "create");
    let events = next_events(&mut stream, 2).await;
    use EventKind::*;
    assert_eq!(
        summary(&events),
        [(Create, "/a/early", 2), (Create, "/a/late", 5)]
    );
}

pub async fn watch_from_the_current_revision_sees_only_new_events<S: Store>(store: S) {
    write_history(&store).await;
    let current = must(store.current_revision().await, "current_revision");
    let mut stream = must(store.watch("/w/", current).await, "watch");
    must(store.create("/w/new", value("n")).await, "create");
    let event = next_event(&mut stream).await;
    assert_eq!(
        (event.kind, event.kv.key.as_str()),
        (EventKind::Create, "/w/new")
    );
    assert_eq!(event.revision(), current + 1);
}
