//! Watch streams served from the cache: ring replay, then live events.
//!
//! A watcher that falls behind the broadcast (or whose broadcast was ended by
//! a reset) resumes from the ring at the last revision it saw, so it only
//! fails when those events have left the ring too.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::broadcast::{self, error::RecvError};

use super::state::{Shared, Subscription, Unservable};
use crate::{Event, Result, Revision, StoreError, WatchStream};

/// Where a cache watch stream is.
enum State {
    /// Handing out `replay`, then live events above `seen`.
    Streaming {
        replay: VecDeque<Arc<Event>>,
        live: broadcast::Receiver<Arc<Event>>,
        /// Every event at or below this revision was handed out or skipped.
        seen: Revision,
    },
    Done,
}

impl State {
    fn from_subscription(subscription: Subscription) -> Self {
        State::Streaming {
            replay: subscription.replay,
            live: subscription.live,
            seen: subscription.seen,
        }
    }
}

struct Watch {
    shared: Arc<Shared>,
    prefix: String,
}

/// The stream for a watcher the cache accepted.
pub(super) fn stream(shared: Arc<Shared>, prefix: &str, subscription: Subscription) -> WatchStream {
    let watch = Arc::new(Watch {
        shared,
        prefix: prefix.to_owned(),
    });
    let state = State::from_subscription(subscription);
    futures::stream::unfold(state, move |state| {
        let watch = Arc::clone(&watch);
        async move { watch.step(state).await }
    })
    .boxed()
}

impl Watch {
    async fn step(&self, mut state: State) -> Option<(Result<Event>, State)> {
        loop {
            let State::Streaming {
                mut replay,
                mut live,
                seen,
            } = state
            else {
                return None;
            };
            if let Some(event) = replay.pop_front() {
                let state = State::Streaming { replay, live, seen };
                return Some((Ok(Event::clone(&event)), state));
            }
            state = match live.recv().await {
                Ok(event) if event.revision() <= seen => State::Streaming { replay, live, seen },
                Ok(event) => {
                    let seen = event.revision();
                    let state = State::Streaming { replay, live, seen };
                    if event.kv.key.starts_with(&self.prefix) {
                        return Some((Ok(Event::clone(&event)), state));
                    }
                    state
                }
                Err(RecvError::Lagged(_) | RecvError::Closed) => match self.resume(seen) {
                    Ok(state) => state,
                    Err(err) => return Some((Err(err), State::Done)),
                },
            };
        }
    }

    fn resume(&self, seen: Revision) -> Result<State> {
        match self.shared.subscribe(&self.prefix, seen) {
            Ok(subscription) => Ok(State::from_subscription(subscription)),
            Err(Unservable::TooOld) => {
                tracing::debug!(prefix = %self.prefix, seen, "cache watcher fell out of the ring");
                Err(StoreError::WatcherLagged)
            }
            Err(Unservable::Closed) => Err(StoreError::Closed),
        }
    }
}
