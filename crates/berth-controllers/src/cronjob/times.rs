//! Which scheduled time a CronJob should run now, and when to look again,
//! as upstream's mostRecentScheduleTime / nextScheduleTimeDuration. Pure:
//! the caller passes `now` from its [`Clock`](super::clock::Clock).

use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::schedule::Schedule;

/// Past this many missed start times only the latest is run, with a
/// warning (upstream: "somewhat arbitrarily picked 100").
pub const TOO_MANY_MISSED: i64 = 100;

/// Added to the wait for the next scheduled time (upstream's nextScheduleDelta).
const NEXT_SCHEDULE_DELTA: Duration = Duration::from_millis(100);

/// How many start times were missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    None,
    Few,
    Many,
}

/// The schedule's view of a CronJob at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recent {
    /// Where the search for unmet times started.
    pub earliest: Timestamp,
    /// The latest unmet scheduled time at or before now.
    pub most_recent: Option<Timestamp>,
    pub missed: Missed,
}

/// What a CronJob's status and spec say about where to start looking.
#[derive(Debug, Clone, Copy)]
pub struct History {
    pub created: Timestamp,
    pub last_schedule: Option<Timestamp>,
    pub starting_deadline_seconds: Option<i64>,
}

/// Upstream's mostRecentScheduleTime.
pub fn most_recent(
    h: &History,
    now: Timestamp,
    sched: &Schedule,
    tz: &TimeZone,
    with_deadline: bool,
) -> Result<Recent, String> {
    let mut earliest = h.last_schedule.unwrap_or(h.created);
    if with_deadline && let Some(secs) = h.starting_deadline_seconds {
        let deadline = now - SignedDuration::from_secs(secs);
        earliest = earliest.max(deadline);
    }
    let none = |most_recent| Recent {
        earliest,
        most_recent,
        missed: Missed::None,
    };
    let Some(t1) = sched.next_after(earliest, tz) else {
        return Ok(none(None));
    };
    if now < t1 {
        return Ok(none(None));
    }
    let Some(t2) = sched.next_after(t1, tz) else {
        return Ok(none(Some(t1)));
    };
    if now < t2 {
        return Ok(none(Some(t1)));
    }
    let between = t2.duration_since(t1).as_secs();
    if between < 1 {
        return Err("time difference between two schedules is less than 1 second".into());
    }
    let missed = now.duration_since(t1).as_secs() / between + 1;
    let potential = t1 + SignedDuration::from_secs((missed - 2) * between);
    let mut latest = None;
    let mut t = sched.next_after(potential, tz);
    while let Some(at) = t.filter(|at| *at <= now) {
        latest = Some(at);
        t = sched.next_after(at, tz);
    }
    let missed = match missed {
        n if n > TOO_MANY_MISSED => Missed::Many,
        n if n > 1 => Missed::Few,
        _ => Missed::None,
    };
    Ok(Recent {
        earliest,
        most_recent: latest,
        missed,
    })
}

/// Upstream's nextScheduleTimeDuration: how long until the schedule next
/// fires after the most recent (or earliest) time, plus a small delta.
pub fn next_wait(h: &History, now: Timestamp, sched: &Schedule, tz: &TimeZone) -> Option<Duration> {
    let recent = most_recent(h, now, sched, tz, false).ok()?;
    let from = recent.most_recent.unwrap_or(recent.earliest);
    let next = sched.next_after(from, tz)?;
    let wait = Duration::try_from(next.duration_since(now)).unwrap_or(Duration::ZERO);
    Some(wait + NEXT_SCHEDULE_DELTA)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn hist(created: &str, last: Option<&str>, deadline: Option<i64>) -> History {
        History {
            created: utc(created),
            last_schedule: last.map(utc),
            starting_deadline_seconds: deadline,
        }
    }

    #[test]
    fn nothing_is_due_before_the_first_scheduled_time() {
        let s = Schedule::parse("*/5 * * * *").expect("parses");
        let h = hist("2026-01-01T10:01:00Z", None, None);
        let r = most_recent(&h, utc("2026-01-01T10:04:00Z"), &s, &TimeZone::UTC, true).expect("ok");
        assert_eq!(r.most_recent, None);
        let wait = next_wait(&h, utc("2026-01-01T10:04:00Z"), &s, &TimeZone::UTC);
        assert_eq!(wait, Some(Duration::from_millis(60_100)));
    }

    #[test]
    fn only_the_latest_of_several_missed_times_is_due() {
        let s = Schedule::parse("* * * * *").expect("parses");
        let h = hist("2026-01-01T10:00:00Z", Some("2026-01-01T10:00:00Z"), None);
        let r = most_recent(&h, utc("2026-01-01T10:05:30Z"), &s, &TimeZone::UTC, true).expect("ok");
        assert_eq!(r.most_recent, Some(utc("2026-01-01T10:05:00Z")));
        assert_eq!(r.missed, Missed::Few);
        let wait = next_wait(&h, utc("2026-01-01T10:05:30Z"), &s, &TimeZone::UTC);
        assert_eq!(wait, Some(Duration::from_millis(30_100)));
    }

    #[test]
    fn more_than_a_hundred_missed_times_are_many() {
        let s = Schedule::parse("* * * * *").expect("parses");
        let h = hist("2026-01-01T00:00:00Z", None, None);
        let r = most_recent(&h, utc("2026-01-01T03:00:10Z"), &s, &TimeZone::UTC, true).expect("ok");
        assert_eq!(r.missed, Missed::Many);
        assert_eq!(r.most_recent, Some(utc("2026-01-01T03:00:00Z")));
    }

    #[test]
    fn a_starting_deadline_limits_how_far_back_times_are_counted() {
        let s = Schedule::parse("* * * * *").expect("parses");
        let h = hist("2026-01-01T00:00:00Z", None, Some(200));
        let r = most_recent(&h, utc("2026-01-01T03:00:10Z"), &s, &TimeZone::UTC, true).expect("ok");
        assert_eq!(
            r.missed,
            Missed::Few,
            "only 3 minutes are within the deadline"
        );
        assert_eq!(r.most_recent, Some(utc("2026-01-01T03:00:00Z")));
    }
}
