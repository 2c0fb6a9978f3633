//! Time as the agent sees it: monotonic instants for timers and backoff,
//! wall-clock timestamps for status fields. Tests pause tokio's clock, so the
//! real implementation already follows paused time; the trait keeps the
//! wall clock replaceable.

use std::time::Duration;

use tokio::time::Instant;

pub trait Clock: Send + Sync {
    /// Monotonic now (tokio's, so paused time applies).
    fn now(&self) -> Instant;
    /// Wall-clock now, for `startTime`, condition transitions and heartbeats.
    fn wall(&self) -> jiff::Timestamp;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// A wall clock that starts at a fixed time and advances with tokio's
/// (paused) clock: deterministic timestamps in unit tests.
#[derive(Debug, Clone, Copy)]
pub struct FakeClock {
    start: Instant,
    wall_start: jiff::Timestamp,
}

impl FakeClock {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            wall_start: jiff::Timestamp::UNIX_EPOCH
                + jiff::SignedDuration::from_secs(1_700_000_000),
        }
    }
}

impl Default for FakeClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> jiff::Timestamp {
        let elapsed = Instant::now().duration_since(self.start);
        let elapsed = jiff::SignedDuration::try_from(elapsed).unwrap_or(jiff::SignedDuration::ZERO);
        self.wall_start
            .saturating_add(elapsed)
            .unwrap_or(self.wall_start)
    }
}

/// Converts a CRI timestamp (nanoseconds since the epoch) to a Timestamp.
pub fn from_unix_nanos(ns: i64) -> Option<jiff::Timestamp> {
    (ns > 0)
        .then(|| jiff::Timestamp::from_nanosecond(i128::from(ns)).ok())
        .flatten()
}

/// Seconds as a Duration, never negative.
pub fn secs(s: i64) -> Duration {
    Duration::from_secs(u64::try_from(s).unwrap_or(0))
}
