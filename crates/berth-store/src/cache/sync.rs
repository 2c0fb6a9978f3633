//! The task that keeps the cache in step with the backend.
//!
//! A state machine: `Watching` applies the backend's events; when the
//! backend's watch ends or fails, `Rewatching` resumes it from the cache's
//! revision (no gap, nobody notices); when that revision is compacted,
//! `Relisting` replaces the cache's contents and ends the cache's watchers.

use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};

use super::state::Shared;
use crate::{Event, ListOptions, Result, Store, StoreError, WatchStream};

/// Events applied under one lock at most.
const MAX_APPLY_BATCH: usize = 1_024;

/// Where the sync task is.
pub(super) enum Phase {
    Watching(WatchStream),
    Rewatching { failures: u32 },
    Relisting { failures: u32 },
}

/// Lists the backend and watches it from the list's revision; the cache is
/// reset only once both succeeded.
pub(super) async fn relist<S: Store>(backend: &S, shared: &Shared) -> Result<WatchStream> {
    let list = backend.list("", ListOptions::default()).await?;
    let stream = backend.watch("", list.revision).await?;
    tracing::debug!(
        revision = list.revision,
        keys = list.items.len(),
        "watch cache listed"
    );
    shared.reset(list);
    Ok(stream)
}

/// Runs until aborted.
pub(super) async fn run<S: Store>(
    backend: Arc<S>,
    shared: Arc<Shared>,
    stream: WatchStream,
    backoff: Duration,
) {
    let mut phase = Phase::Watching(stream);
    loop {
        phase = step(&*backend, &shared, phase, backoff).await;
    }
}

async fn step<S: Store>(backend: &S, shared: &Shared, phase: Phase, backoff: Duration) -> Phase {
    match phase {
        Phase::Watching(mut stream) => {
            let (events, failure) = next_events(&mut stream).await;
            shared.apply(events);
            match failure {
                None => Phase::Watching(stream),
                Some(err) => {
                    let revision = shared.revision();
                    tracing::warn!(error = %err, revision, "watch cache lost its backend watch");
                    Phase::Rewatching { failures: 0 }
                }
            }
        }
        Phase::Rewatching { failures } => match backend.watch("", shared.revision()).await {
            Ok(stream) => Phase::Watching(stream),
            Err(StoreError::Compacted { .. }) => Phase::Relisting { failures: 0 },
            Err(err) => {
                tracing::warn!(error = %err, failures, "watch cache cannot rewatch its backend");
                tokio::time::sleep(delay(backoff, failures)).await;
                Phase::Rewatching {
                    failures: failures.saturating_add(1),
                }
            }
        },
        Phase::Relisting { failures } => match relist(backend, shared).await {
            Ok(stream) => Phase::Watching(stream),
            Err(err) => {
                tracing::warn!(error = %err, failures, "watch cache cannot relist its backend");
                tokio::time::sleep(delay(backoff, failures)).await;
                Phase::Relisting {
                    failures: failures.saturating_add(1),
                }
            }
        },
    }
}

/// Waits for the next event, then takes every event already available (up
/// to a bound). The error, if any, is why the stream stopped: the events
/// before it are still good.
async fn next_events(stream: &mut WatchStream) -> (Vec<Event>, Option<StoreError>) {
    let mut events = Vec::new();
    let mut next = stream.next().await;
    loop {
        match next {
            Some(Ok(event)) => events.push(event),
            Some(Err(err)) => return (events, Some(err)),
            None => return (events, Some(StoreError::Closed)),
        }
        if events.len() >= MAX_APPLY_BATCH {
            return (events, None);
        }
        match stream.next().now_or_never() {
            Some(item) => next = item,
            None => return (events, None),
        }
    }
}

/// Exponential backoff from `base`, capped at 64 × `base`.
fn delay(base: Duration, failures: u32) -> Duration {
    base.saturating_mul(1 << failures.min(6))
}
