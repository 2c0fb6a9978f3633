//! The store conformance suite: what every [`Store`](crate::Store) backend
//! must do, written once.
//!
//! Each case is an `async fn` taking a fresh, empty store. The
//! [`store_conformance_tests!`](crate::store_conformance_tests) macro turns
//! every case into a named `#[tokio::test]` for a given store factory:
//!
//! ```ignore
//! async fn fresh_store() -> (SqliteStore, tempfile::TempDir) { /* ... */ }
//! berth_store::store_conformance_tests!(fresh_store());
//! ```
//!
//! The factory is an async expression giving `(store, guard)`; the guard
//! (e.g. a temporary directory) lives as long as the test. The calling crate
//! needs `tokio` (with `macros` and `rt-multi-thread`) as a dependency.
//!
//! Cases panic on failure, like assertions. They wait with deadlines and
//! never sleep to synchronise.

mod compaction;
mod concurrency;
mod crud;
mod list;
mod watch;

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

pub use self::compaction::*;
pub use self::concurrency::*;
pub use self::crud::*;
pub use self::list::*;
pub use self::watch::*;
use crate::{Event, Result, WatchStream};

/// How long a case waits for anything before failing.
const DEADLINE: Duration = Duration::from_secs(30);

/// Expands to one `#[tokio::test]` per conformance case, each calling the
/// case with a store from `$factory` (an async expression giving
/// `(store, guard)`).
#[macro_export]
macro_rules! store_conformance_tests {
    ($factory:expr) => {
        $crate::store_conformance_tests!(@cases ($factory)
            create_then_get_returns_the_value,
            get_of_a_missing_key_returns_none,
            create_of_an_existing_key_fails_with_already_exists,
            update_with_the_current_revision_succeeds,
            update_with_a_stale_revision_fails_with_conflict,
            update_of_a_missing_key_fails_with_not_found,
            delete_with_the_current_revision_succeeds,
            delete_with_a_stale_revision_fails_with_conflict,
            delete_without_precondition_succeeds,
            delete_of_a_missing_key_fails_with_not_found,
            revisions_grow_by_one_per_write_and_never_on_failure,
            create_revision_is_kept_across_updates_and_renewed_by_recreation,
            list_isolates_sibling_prefixes,
            list_returns_keys_in_order,
            list_paginates_with_start_after_and_limit,
            list_at_an_old_revision_sees_the_old_state,
            list_above_the_current_revision_fails_with_future_revision,
            list_of_everything_includes_every_prefix,
            watch_from_zero_replays_history_then_live_events,
            watch_from_a_mid_revision_replays_only_later_events,
            watch_carries_previous_values_on_update_and_delete,
            watch_filters_by_prefix,
            watch_from_the_current_revision_sees_only_new_events,
            compaction_makes_older_revisions_unreadable,
            compaction_keeps_the_latest_values,
            compaction_above_the_current_revision_fails,
            concurrent_writers_get_distinct_consecutive_revisions,
            watcher_sees_every_concurrent_write_exactly_once,
        );
    };
    (@cases ($factory:expr) $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, _guard) = $factory.await;
                $crate::conformance::$case(store).await;
            }
        )+
    };
}

/// The value of an operation that must succeed.
#[track_caller]
fn must<T>(result: Result<T>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(err) => panic!("{what} failed: {err}"),
    }
}

fn value(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

/// The next event of a watch, which must come within the deadline.
async fn next_event(stream: &mut WatchStream) -> Event {
    match tokio::time::timeout(DEADLINE, stream.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(err))) => panic!("watch failed: {err}"),
        Ok(None) => panic!("watch ended early"),
        Err(_) => panic!("no watch event within {DEADLINE:?}"),
    }
}

/// The next `count` events of a watch.
async fn next_events(stream: &mut WatchStream, count: usize) -> Vec<Event> {
    let mut events = Vec::with_capacity(count);
    for _ in 0..count {
        events.push(next_event(stream).await);
    }
    events
}
