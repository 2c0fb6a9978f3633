//! The CronJob controller's clock: the one place it reads the time, so
//! unit tests fix it and integration tests can run it faster than real
//! time (a hidden controller-manager flag) instead of waiting minutes.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

/// Where "now" comes from, and how long a wait for a span of that time is.
pub trait Clock: Send + Sync {
    /// The current time as the controller sees it.
    fn now(&self) -> Timestamp;
    /// The real time to wait until `span` of this clock's time has passed.
    fn real_wait(&self, span: Duration) -> Duration;
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn real_wait(&self, span: Duration) -> Duration {
        span
    }
}

/// Real time sped up by `factor` from the moment it was made: after one
/// real second, `factor` seconds have passed. Testing only.
#[derive(Debug, Clone, Copy)]
pub struct ScaledClock {
    origin: Timestamp,
    started: Instant,
    factor: u32,
}

impl ScaledClock {
    pub fn new(factor: u32) -> Self {
        Self {
            origin: Timestamp::now(),
            started: Instant::now(),
            factor: factor.max(1),
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let elapsed = self.started.elapsed() * self.factor;
        let elapsed = SignedDuration::try_from(elapsed).unwrap_or(SignedDuration::MAX);
        self.origin.saturating_add(elapsed).unwrap_or(self.origin)
    }

    fn real_wait(&self, span: Duration) -> Duration {
        span / self.factor
    }
}

/// A clock that stands still at a set time (unit tests).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }

    fn real_wait(&self, span: Duration) -> Duration {
        span
    }
}
