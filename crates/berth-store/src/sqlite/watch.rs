//! Watch streams: history replayed from the log, then live events.
//!
//! The watcher subscribes to the live broadcast *before* it reads history,
//! and history is read up to a fixed revision `upto` (the current revision
//! of the first read's snapshot). Every event at or below `upto` is in the
//! log; every event above it is committed after the subscription and so
//! arrives on the broadcast. Live events at or below `upto` (or `after`) are
//! skipped, which leaves no gap and no duplicate.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::broadcast::{self, error::RecvError};

use super::read::{self, HistoryPage, ReadPool};
use crate::{Event, Result, Revision, StoreError, WatchStream};

/// Where a watch stream is.
enum State {
    /// Handing out `buffered`, then reading history in `(next, upto]`.
    Replay {
        buffered: VecDeque<Event>,
        next: Revision,
        upto: Revision,
        live: broadcast::Receiver<Arc<Event>>,
    },
    /// Forwarding live events above `skip_through`.
    Live {
        live: broadcast::Receiver<Arc<Event>>,
        skip_through: Revision,
    },
    /// The stream has ended.
    Done,
}

/// What every step of one watch needs.
struct Watch {
    pool: Arc<ReadPool>,
    prefix: String,
    page_size: usize,
}

/// Starts a watch; fails right away (not as a stream item) when `after` is
/// compacted.
pub(super) async fn start(
    pool: Arc<ReadPool>,
    live: broadcast::Receiver<Arc<Event>>,
    prefix: &str,
    after: Revision,
    page_size: usize,
) -> Result<WatchStream> {
    let watch = Watch {
        pool,
        prefix: prefix.to_owned(),
        page_size,
    };
    let first = watch.page(after, None).await?;
    let state = State::Replay {
        buffered: first.events.into(),
        next: first.next,
        upto: first.upto.max(after),
        live,
    };
    let watch = Arc::new(watch);
    let stream = futures::stream::unfold(state, move |state| {
        let watch = Arc::clone(&watch);
        async move { watch.step(state).await }
    });
    Ok(stream.boxed())
}

impl Watch {
    async fn page(&self, after: Revision, upto: Option<Revision>) -> Result<HistoryPage> {
        let prefix = self.prefix.clone();
        let limit = self.page_size;
        self.pool
            .run(move |conn| read::history(conn, &prefix, after, upto, limit))
            .await
    }

    /// Produces the next item and the state after it.
    async fn step(&self, mut state: State) -> Option<(Result<Event>, State)> {
        loop {
            state = match state {
                State::Replay {
                    mut buffered,
                    next,
                    upto,
                    live,
                } => {
                    if let Some(event) = buffered.pop_front() {
                        let state = State::Replay {
                            buffered,
                            next,
                            upto,
                            live,
                        };
                        return Some((Ok(event), state));
                    }
                    if next >= upto {
                        State::Live {
                            live,
                            skip_through: upto,
                        }
                    } else {
                        match self.page(next, Some(upto)).await {
                            Ok(page) => State::Replay {
                                buffered: page.events.into(),
                                next: page.next,
                                upto,
                                live,
                            },
                            Err(err) => return Some((Err(err), State::Done)),
                        }
                    }
                }
                State::Live {
                    mut live,
                    skip_through,
                } => match live.recv().await {
                    Ok(event) => {
                        if event.revision() > skip_through && event.kv.key.starts_with(&self.prefix)
                        {
                            let state = State::Live { live, skip_through };
                            return Some((Ok(Event::clone(&event)), state));
                        }
                        State::Live { live, skip_through }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(prefix = %self.prefix, missed, "sqlite watcher lagged");
                        return Some((Err(StoreError::WatcherLagged), State::Done));
                    }
                    Err(RecvError::Closed) => return Some((Err(StoreError::Closed), State::Done)),
                },
                State::Done => return None,
            };
        }
    }
}
