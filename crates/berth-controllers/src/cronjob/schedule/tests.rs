use super::*;

fn utc(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn next(spec: &str, after: &str) -> Timestamp {
    Schedule::parse(spec)
        .expect("parses")
        .next_after(utc(after), &TimeZone::UTC)
        .expect("has a next time")
}

#[test]
fn every_minute_fires_at_the_next_whole_minute() {
    assert_eq!(
        next("* * * * *", "2026-01-01T10:00:00Z"),
        utc("2026-01-01T10:01:00Z")
    );
    assert_eq!(
        next("* * * * *", "2026-01-01T10:00:30Z"),
        utc("2026-01-01T10:01:00Z")
    );
}

#[test]
fn ranges_steps_and_lists_select_the_right_minutes() {
    assert_eq!(
        next("*/15 * * * *", "2026-01-01T10:16:00Z"),
        utc("2026-01-01T10:30:00Z")
    );
    assert_eq!(
        next("5/20 * * * *", "2026-01-01T10:46:00Z"),
        utc("2026-01-01T11:05:00Z")
    );
    assert_eq!(
        next("0 9-17/4 * * *", "2026-01-01T13:00:00Z"),
        utc("2026-01-01T17:00:00Z")
    );
    assert_eq!(
        next("10,20 3 * * *", "2026-01-01T03:15:00Z"),
        utc("2026-01-01T03:20:00Z")
    );
}

#[test]
fn names_of_months_and_weekdays_are_understood() {
    // 2026-01-01 is a Thursday.
    assert_eq!(
        next("0 0 * * MON", "2026-01-01T00:00:00Z"),
        utc("2026-01-05T00:00:00Z")
    );
    assert_eq!(
        next("0 0 1 mar *", "2026-01-01T00:00:00Z"),
        utc("2026-03-01T00:00:00Z")
    );
    assert_eq!(
        next("0 0 * * FRI-sat", "2026-01-01T00:00:00Z"),
        utc("2026-01-02T00:00:00Z")
    );
}

#[test]
fn day_of_month_and_day_of_week_are_ored_unless_one_is_a_star() {
    // The 15th, or any Monday: Monday 5 January comes first.
    assert_eq!(
        next("0 0 15 * 1", "2026-01-01T00:00:00Z"),
        utc("2026-01-05T00:00:00Z")
    );
    assert_eq!(
        next("0 0 15 * *", "2026-01-01T00:00:00Z"),
        utc("2026-01-15T00:00:00Z")
    );
}

#[test]
fn descriptors_expand_as_upstream() {
    assert_eq!(
        next("@hourly", "2026-01-01T10:00:00Z"),
        utc("2026-01-01T11:00:00Z")
    );
    assert_eq!(
        next("@daily", "2026-01-01T10:00:00Z"),
        utc("2026-01-02T00:00:00Z")
    );
    assert_eq!(
        next("@midnight", "2026-01-01T10:00:00Z"),
        utc("2026-01-02T00:00:00Z")
    );
    assert_eq!(
        next("@weekly", "2026-01-01T10:00:00Z"),
        utc("2026-01-04T00:00:00Z")
    );
    assert_eq!(
        next("@monthly", "2026-01-01T10:00:00Z"),
        utc("2026-02-01T00:00:00Z")
    );
    assert_eq!(
        next("@yearly", "2026-01-01T10:00:00Z"),
        utc("2027-01-01T00:00:00Z")
    );
    assert_eq!(
        next("@annually", "2026-01-01T10:00:00Z"),
        utc("2027-01-01T00:00:00Z")
    );
    assert_eq!(
        next("@every 90s", "2026-01-01T10:00:00.5Z"),
        utc("2026-01-01T10:01:30Z")
    );
}

#[test]
fn a_time_zone_shifts_the_schedule() {
    let tz = TimeZone::get("America/New_York").expect("tzdb has New York");
    let s = Schedule::parse("0 9 * * *").expect("parses");
    // 09:00 in New York in January is 14:00 UTC.
    assert_eq!(
        s.next_after(utc("2026-01-01T00:00:00Z"), &tz),
        Some(utc("2026-01-01T14:00:00Z"))
    );
}

#[test]
fn impossible_dates_have_no_next_time() {
    let s = Schedule::parse("0 0 30 2 *").expect("parses");
    assert_eq!(
        s.next_after(utc("2026-01-01T00:00:00Z"), &TimeZone::UTC),
        None
    );
}

#[test]
fn malformed_schedules_are_rejected() {
    assert!(Schedule::parse("60 * * * *").is_err());
    assert!(Schedule::parse("@fortnightly").is_err());
}
