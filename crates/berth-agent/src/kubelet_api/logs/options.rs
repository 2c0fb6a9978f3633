//! `PodLogOptions` as the kubelet reads them from the query (`follow`,
//! `previous`, `timestamps`, `tailLines`, `sinceSeconds`, `sinceTime`,
//! `limitBytes`), and the pure logic they drive: which entries are shown
//! ([`Tail`], [`LogOptions::shows`]) and how they are written
//! ([`LogWriter`]: timestamps, byte limit).

use std::collections::VecDeque;

use jiff::{SignedDuration, Timestamp};

use super::format::LogEntry;

/// What a `containerLogs` request asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    /// Only the last this many lines of what is already written.
    pub tail_lines: Option<u64>,
    /// Only entries at or after this time.
    pub since: Option<Timestamp>,
    /// Stop after this many bytes of output.
    pub limit_bytes: Option<u64>,
}

fn flag(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

fn number(name: &str, value: &str) -> Result<i64, String> {
    value
        .parse()
        .map_err(|_| format!("{name}: Invalid value: {value:?}: must be an integer"))
}

fn positive(name: &str, value: &str) -> Result<u64, String> {
    let n = number(name, value)?;
    u64::try_from(n)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{name}: Invalid value: {n}: must be greater than 0"))
}

impl LogOptions {
    /// Reads the options from a query string; `now` anchors `sinceSeconds`.
    /// Errors are upstream's validation messages.
    pub fn from_query(query: Option<&str>, now: Timestamp) -> Result<Self, String> {
        let mut o = LogOptions::default();
        let (mut since_seconds, mut since_time) = (None, None);
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "follow" => o.follow = flag(&v),
                "previous" => o.previous = flag(&v),
                "timestamps" => o.timestamps = flag(&v),
                "tailLines" => {
                    let n = number("tailLines", &v)?;
                    let n = u64::try_from(n).map_err(|_| {
                        format!("tailLines: Invalid value: {n}: must be greater than or equal to 0")
                    })?;
                    o.tail_lines = Some(n);
                }
                "limitBytes" => o.limit_bytes = Some(positive("limitBytes", &v)?),
                "sinceSeconds" => since_seconds = Some(positive("sinceSeconds", &v)?),
                "sinceTime" => {
                    let t: Timestamp = v.parse().map_err(|e| {
                        format!("sinceTime: Invalid value: {v:?}: not an RFC3339 time: {e}")
                    })?;
                    since_time = Some(t);
                }
                _ => {}
            }
        }
        o.since = match (since_seconds, since_time) {
            (Some(_), Some(_)) => {
                return Err("at most one of `sinceTime` or `sinceSeconds` may be specified".into());
            }
            (Some(s), None) => {
                let secs = i64::try_from(s).unwrap_or(i64::MAX);
                Some(
                    now.saturating_sub(SignedDuration::from_secs(secs))
                        .unwrap_or(now),
                )
            }
            (None, t) => t,
        };
        Ok(o)
    }

    /// Whether an entry passes the `since` filter.
    pub fn shows(&self, entry: &LogEntry) -> bool {
        self.since.is_none_or(|since| entry.time >= since)
    }
}

/// Keeps the last `n` entries of what is already written (all when `None`).
#[derive(Debug)]
pub struct Tail {
    keep: Option<usize>,
    entries: VecDeque<LogEntry>,
}

impl Tail {
    pub fn new(tail_lines: Option<u64>) -> Self {
        let keep = tail_lines.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        Self {
            keep,
            entries: VecDeque::new(),
        }
    }

    pub fn push(&mut self, entry: LogEntry) {
        if self.keep == Some(0) {
            return;
        }
        self.entries.push_back(entry);
        if self.keep.is_some_and(|k| self.entries.len() > k) {
            self.entries.pop_front();
        }
    }

    /// Whether entries must be held back until the end of what is written.
    pub fn is_bounded(&self) -> bool {
        self.keep.is_some()
    }

    pub fn drain(&mut self) -> impl Iterator<Item = LogEntry> + '_ {
        self.entries.drain(..)
    }
}

/// Writes entries as the user sees them, counting bytes against the limit.
#[derive(Debug)]
pub struct LogWriter {
    timestamps: bool,
    remaining: Option<u64>,
}

impl LogWriter {
    pub fn new(options: &LogOptions) -> Self {
        Self {
            timestamps: options.timestamps,
            remaining: options.limit_bytes,
        }
    }

    /// Whether the byte limit has been reached: nothing more is written.
    pub fn is_full(&self) -> bool {
        self.remaining == Some(0)
    }

    /// Appends `entry` (with its time when asked) to `out`, cut at the limit.
    pub fn write(&mut self, entry: &LogEntry, out: &mut Vec<u8>) {
        let start = out.len();
        if self.timestamps {
            out.extend_from_slice(entry.time_text.as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(&entry.content);
        if let Some(remaining) = self.remaining.as_mut() {
            let written = (out.len() - start) as u64;
            if written > *remaining {
                out.truncate(start + usize::try_from(*remaining).unwrap_or(usize::MAX));
            }
            *remaining = remaining.saturating_sub(written);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubelet_api::logs::format::{LogDecoder, LogStream};

    const FIXTURE: &[u8] = b"2026-11-23T14:00:01Z stdout F one\n\
        2026-11-23T14:00:02.5Z stderr F two\n\
        2026-11-23T14:00:03Z stdout P thr\n\
        2026-11-23T14:00:04Z stdout F ee\n\
        2026-11-23T14:00:05Z stdout F four\n";

    fn now() -> Timestamp {
        "2026-11-23T14:00:06Z".parse().expect("time")
    }

    fn show(query: &str) -> String {
        let options = LogOptions::from_query(Some(query), now()).expect("valid options");
        let mut tail = Tail::new(options.tail_lines);
        for e in LogDecoder::default().feed(FIXTURE) {
            tail.push(e);
        }
        let mut writer = LogWriter::new(&options);
        let mut out = Vec::new();
        for e in tail.drain().filter(|e| options.shows(e)) {
            writer.write(&e, &mut out);
        }
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn without_options_every_line_is_shown_in_order() {
        assert_eq!(show(""), "one\ntwo\nthree\nfour\n");
    }

    #[test]
    fn tail_lines_keeps_the_last_lines_and_zero_keeps_none() {
        assert_eq!(show("tailLines=2"), "three\nfour\n");
        assert_eq!(show("tailLines=0"), "");
        assert_eq!(show("tailLines=10"), "one\ntwo\nthree\nfour\n");
    }

    #[test]
    fn timestamps_prefix_each_line_with_its_first_records_time() {
        assert_eq!(
            show("tailLines=2&timestamps=true"),
            "2026-11-23T14:00:03Z three\n2026-11-23T14:00:05Z four\n"
        );
    }

    #[test]
    fn since_seconds_and_since_time_drop_older_lines() {
        assert_eq!(show("sinceSeconds=3"), "three\nfour\n");
        assert_eq!(show("sinceTime=2026-11-23T14:00:02Z"), "two\nthree\nfour\n");
    }

    #[test]
    fn limit_bytes_cuts_the_output_exactly() {
        assert_eq!(show("limitBytes=6"), "one\ntw");
        assert_eq!(show("limitBytes=4&timestamps=1"), "2026");
    }

    #[test]
    fn invalid_options_are_refused_with_upstreams_messages() {
        let err = |q: &str| LogOptions::from_query(Some(q), now()).err();
        assert!(err("limitBytes=0").is_some_and(|e| e.contains("must be greater than 0")));
        assert!(err("tailLines=-1").is_some_and(|e| e.contains("greater than or equal to 0")));
        assert!(
            err("sinceSeconds=1&sinceTime=2026-11-23T14:00:00Z")
                .is_some_and(|e| e.contains("at most one of"))
        );
        let o = LogOptions::from_query(Some("follow=true&previous=1&container=c"), now());
        assert!(o.is_ok_and(|o| o.follow && o.previous));
    }

    #[test]
    fn the_writer_reports_full_once_the_limit_is_spent() {
        let options = LogOptions {
            limit_bytes: Some(3),
            ..LogOptions::default()
        };
        let mut w = LogWriter::new(&options);
        let e = LogEntry {
            time: now(),
            time_text: "t".into(),
            stream: LogStream::Stdout,
            content: b"abc\n".to_vec(),
        };
        let mut out = Vec::new();
        w.write(&e, &mut out);
        assert!(w.is_full());
        assert_eq!(out, b"abc");
    }
}
