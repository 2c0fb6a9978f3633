//! When a cron schedule next fires, in a time zone. The schedule itself is
//! parsed by berth-api ([`CronSchedule`]), the same parser CronJob
//! validation uses, so what the API server accepts the controller runs.
//!
//! It is not a clock: [`Schedule::next_after`] is a pure function of an
//! instant and a time zone.

use berth_api::strategy::{CronError, CronSchedule};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

/// How far ahead a next time is searched for (robfig/cron: five years).
const SEARCH_DAYS: i32 = 366 * 5;

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(CronSchedule);

impl Schedule {
    /// Parses a standard schedule (five fields, a descriptor or `@every`).
    pub fn parse(spec: &str) -> Result<Self, CronError> {
        CronSchedule::parse(spec).map(Self)
    }

    /// The first activation strictly after `t`, read in `tz`; `None` when
    /// there is none within five years (e.g. `0 0 30 2 *`).
    pub fn next_after(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        match &self.0 {
            // robfig/cron: whole seconds of `t`, plus the interval.
            CronSchedule::Every(secs) => Timestamp::from_second(t.as_second())
                .ok()?
                .checked_add(SignedDuration::from_secs(*secs))
                .ok(),
            CronSchedule::Fields(_) => {
                let start_day = t.to_zoned(tz.clone()).date();
                (0..SEARCH_DAYS)
                    .map_while(|offset| start_day.checked_add(offset.days()).ok())
                    .find_map(|day| self.first_time_on(day, t, tz))
            }
        }
    }

    /// The first matching minute of `day` (in `tz`) that is after `t`.
    fn first_time_on(&self, day: Date, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let CronSchedule::Fields(f) = &self.0 else {
            return None;
        };
        let weekday = u32::try_from(day.weekday().to_sunday_zero_offset()).unwrap_or(0);
        let dom = u32::try_from(day.day()).unwrap_or(0);
        let month = u32::try_from(day.month()).unwrap_or(0);
        if !f.month(month) || !f.day(dom, weekday) {
            return None;
        }
        let hours = (0..24i8).filter(|h| f.hour(u32::try_from(*h).unwrap_or(0)));
        for hour in hours {
            for minute in (0..60i8).filter(|m| f.minute(u32::try_from(*m).unwrap_or(0))) {
                let at = day.at(hour, minute, 0, 0);
                let ts = tz.to_ambiguous_zoned(at).compatible().ok()?.timestamp();
                if ts > t {
                    return Some(ts);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
