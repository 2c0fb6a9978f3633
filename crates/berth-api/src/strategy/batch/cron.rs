//! Cron schedules as upstream reads them (robfig/cron's standard parser,
//! used by CronJob validation and the CronJob controller alike): five
//! fields (minute, hour, day of month, month, day of week) of
//! comma-separated `*`, `?`, `N`, `N-M`, each with an optional `/step`
//! (`N/step` means `N-max/step`), month and weekday names (`JAN`, `mon`),
//! the descriptors `@yearly @annually @monthly @weekly @daily @midnight
//! @hourly`, and `@every <duration>`. Day of month and day of week are
//! ORed unless either is a bare `*`/`?`, as in Vixie cron.
//!
//! It is not a clock or a calendar: finding the next activation in a time
//! zone is the controller's work, with these matchers.

/// Why a schedule does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CronError(String);

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CronSchedule {
    /// Five cron fields as bit sets.
    Fields(CronFields),
    /// `@every <duration>`: fixed intervals of this many seconds.
    Every(i64),
}

/// The bit sets of the five fields (bit n set: value n matches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronFields {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    dom_star: bool,
    dow_star: bool,
}

struct Bounds {
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl CronSchedule {
    /// Parses a standard schedule.
    pub fn parse(spec: &str) -> Result<Self, CronError> {
        let spec = spec.trim();
        if let Some(every) = spec.strip_prefix("@every ") {
            return parse_every(every.trim());
        }
        let expanded = match spec {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            s if s.starts_with('@') => {
                return Err(CronError(format!("unrecognized descriptor: {s}")));
            }
            s => s,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(CronError(format!(
                "expected exactly 5 fields, found {}: [{}]",
                fields.len(),
                fields.join(" ")
            )));
        }
        let (dom, dom_star) = field(fields[2], &DOM)?;
        let (dow, dow_star) = field(fields[4], &DOW)?;
        Ok(Self::Fields(CronFields {
            minute: field(fields[0], &MINUTES)?.0,
            hour: field(fields[1], &HOURS)?.0,
            dom,
            month: field(fields[3], &MONTHS)?.0,
            dow,
            dom_star,
            dow_star,
        }))
    }
}

fn parse_every(d: &str) -> Result<CronSchedule, CronError> {
    let bad = || CronError(format!("failed to parse duration @every {d}"));
    let mut total = 0i64;
    let mut rest = d;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        total += n * match &rest[..unit] {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            _ => return Err(bad()),
        };
        rest = &rest[unit..];
    }
    if total < 1 {
        return Err(bad());
    }
    Ok(CronSchedule::Every(total))
}

/// One field: its bits, and whether it was a bare `*`/`?`.
fn field(expr: &str, b: &Bounds) -> Result<(u64, bool), CronError> {
    let mut bits = 0u64;
    let mut star = false;
    for part in expr.split(',') {
        let (part_bits, part_star) = range(part, b)?;
        bits |= part_bits;
        star |= part_star;
    }
    Ok((bits, star))
}

fn range(expr: &str, b: &Bounds) -> Result<(u64, bool), CronError> {
    let err = |m: String| Err(CronError(m));
    let (span, step) = match expr.split('/').collect::<Vec<_>>().as_slice() {
        [span] => (*span, None),
        [span, step] => (*span, Some(*step)),
        _ => return err(format!("too many slashes: {expr}")),
    };
    let bounds: Vec<&str> = span.split('-').collect();
    let (mut start, mut end, mut star) = match bounds.as_slice() {
        ["*" | "?"] => (b.min, b.max, true),
        [one] => {
            let n = value(one, b)?;
            (n, n, false)
        }
        [lo, hi] => (value(lo, b)?, value(hi, b)?, false),
        _ => return err(format!("too many hyphens: {expr}")),
    };
    let step = match step {
        None => 1,
        Some(s) => {
            let n: u32 = s
                .parse()
                .map_err(|_| CronError(format!("failed to parse int from {s}")))?;
            if bounds.len() == 1 && !star {
                end = b.max;
            }
            if n > 1 {
                star = false;
            }
            n
        }
    };
    if start < b.min {
        return err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        ));
    }
    if end > b.max {
        return err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
        ));
    }
    if start > end {
        return err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return err(format!("step of range should be a positive number: {expr}"));
    }
    let mut bits = 0u64;
    while start <= end {
        bits |= 1 << start;
        start += step;
    }
    Ok((bits, star))
}

fn value(s: &str, b: &Bounds) -> Result<u32, CronError> {
    let lower = s.to_ascii_lowercase();
    if let Some(i) = b.names.iter().position(|n| *n == lower) {
        return Ok(u32::try_from(i).unwrap_or(0) + b.min);
    }
    s.parse()
        .map_err(|_| CronError(format!("failed to parse int from {s}")))
}

fn has(bits: u64, n: u32) -> bool {
    n < 64 && bits & (1 << n) != 0
}

impl CronFields {
    /// Minute 0-59 matches.
    pub fn minute(&self, n: u32) -> bool {
        has(self.minute, n)
    }

    /// Hour 0-23 matches.
    pub fn hour(&self, n: u32) -> bool {
        has(self.hour, n)
    }

    /// Month 1-12 matches.
    pub fn month(&self, n: u32) -> bool {
        has(self.month, n)
    }

    /// A day (of month 1-31, of week 0-6 from Sunday) matches.
    pub fn day(&self, day_of_month: u32, day_of_week: u32) -> bool {
        let dom = has(self.dom, day_of_month);
        let dow = has(self.dow, day_of_week);
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        CronSchedule::parse(s).expect_err("invalid").to_string()
    }

    #[test]
    fn malformed_schedules_are_rejected_with_upstream_messages() {
        assert_eq!(
            err("* * * *"),
            "expected exactly 5 fields, found 4: [* * * *]"
        );
        assert_eq!(
            err("60 * * * *"),
            "end of range (60) above maximum (59): 60"
        );
        assert_eq!(
            err("* * 0 * *"),
            "beginning of range (0) below minimum (1): 0"
        );
        assert_eq!(
            err("5-2 * * * *"),
            "beginning of range (5) beyond end of range (2): 5-2"
        );
        assert_eq!(
            err("*/0 * * * *"),
            "step of range should be a positive number: */0"
        );
        assert_eq!(err("* * * foo *"), "failed to parse int from foo");
        assert_eq!(err("1-2-3 * * * *"), "too many hyphens: 1-2-3");
        assert!(err("@fortnightly").contains("unrecognized descriptor"));
        assert!(err("@every 0s").contains("failed to parse duration"));
    }

    #[test]
    fn fields_match_ranges_steps_lists_and_names() {
        let CronSchedule::Fields(f) =
            CronSchedule::parse("5/20 9-17/4 * JAN,mar sun-TUE").expect("parses")
        else {
            panic!("fields");
        };
        assert!(f.minute(5) && f.minute(25) && f.minute(45) && !f.minute(6));
        assert!(f.hour(9) && f.hour(13) && f.hour(17) && !f.hour(10));
        assert!(f.month(1) && f.month(3) && !f.month(2));
        assert!(
            f.day(4, 0) && f.day(4, 2) && !f.day(4, 3),
            "dom is *: weekday decides"
        );
        assert_eq!(
            CronSchedule::parse("@every 1m30s"),
            Ok(CronSchedule::Every(90))
        );
    }
}
