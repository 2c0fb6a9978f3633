//! The CRI container log format, as containerd writes it: one record a line,
//! `<RFC3339Nano time> <stdout|stderr> <P|F> <text>`, where `P` marks a
//! partial line that the next record of the same stream continues and `F`
//! a full one. Records are joined back into [`LogEntry`]s, the lines a user
//! sees.
//!
//! It is not the reading of files (see `follow`), nor the choice of lines
//! (see `options`).

use jiff::Timestamp;

/// Which output of the container a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// One record of a CRI log file, borrowed from its line.
#[derive(Debug, PartialEq, Eq)]
pub struct LogRecord<'a> {
    pub time: Timestamp,
    /// The time as written (already RFC3339Nano, the form `--timestamps` shows).
    pub time_text: &'a str,
    pub stream: LogStream,
    pub partial: bool,
    pub content: &'a [u8],
}

/// A line as the user sees it: the partial records joined, the newline
/// kept when the line was full. Its time is its first record's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub time: Timestamp,
    pub time_text: String,
    pub stream: LogStream,
    /// The text, ending with `\n` unless the container never finished it.
    pub content: Vec<u8>,
}

fn word(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = line.iter().position(|b| *b == b' ')?;
    Some((&line[..end], &line[end + 1..]))
}

/// Parses one record (the line without its `\n`); `None` if malformed.
pub fn parse_record(line: &[u8]) -> Option<LogRecord<'_>> {
    let (time, rest) = word(line)?;
    let time_text = std::str::from_utf8(time).ok()?;
    let parsed: Timestamp = time_text.parse().ok()?;
    let (stream, rest) = word(rest)?;
    let stream = match stream {
        b"stdout" => LogStream::Stdout,
        b"stderr" => LogStream::Stderr,
        _ => return None,
    };
    // The tag may be followed by the text, or end the line (an empty line).
    let (tag, content) = match word(rest) {
        Some(split) => split,
        None => (rest, &b""[..]),
    };
    let partial = match tag {
        b"P" => true,
        b"F" => false,
        _ => return None,
    };
    Some(LogRecord {
        time: parsed,
        time_text,
        stream,
        partial,
        content,
    })
}

/// Turns bytes of a log file, fed in any chunks, into entries. Holds the
/// unfinished line and the partial records waiting for their end.
#[derive(Debug, Default)]
pub struct LogDecoder {
    unfinished_line: Vec<u8>,
    pending: Option<LogEntry>,
}

impl LogDecoder {
    /// Feeds bytes; returns the entries they complete. Malformed lines are
    /// skipped, as the kubelet does.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<LogEntry> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            let (line, tail) = (&rest[..end], &rest[end + 1..]);
            rest = tail;
            if self.unfinished_line.is_empty() {
                self.record(line, &mut out);
            } else {
                let mut whole = std::mem::take(&mut self.unfinished_line);
                whole.extend_from_slice(line);
                self.record(&whole, &mut out);
            }
        }
        self.unfinished_line.extend_from_slice(rest);
        out
    }

    fn record(&mut self, line: &[u8], out: &mut Vec<LogEntry>) {
        let Some(r) = parse_record(line) else {
            tracing::debug!("skipping a malformed container log line");
            return;
        };
        let entry = match self.pending.take() {
            Some(mut e) if e.stream == r.stream => {
                e.content.extend_from_slice(r.content);
                e
            }
            other => {
                // A partial line of another stream never got its end.
                out.extend(other);
                LogEntry {
                    time: r.time,
                    time_text: r.time_text.to_string(),
                    stream: r.stream,
                    content: r.content.to_vec(),
                }
            }
        };
        if r.partial {
            self.pending = Some(entry);
        } else {
            let mut entry = entry;
            entry.content.push(b'\n');
            out.push(entry);
        }
    }

    /// The partial line left when the file will not grow any more.
    pub fn finish(&mut self) -> Option<LogEntry> {
        self.pending.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_record_parses_into_its_fields() {
        let r = parse_record(b"2026-11-23T14:00:00.123456789Z stderr F oh no").expect("parses");
        assert_eq!(r.time_text, "2026-11-23T14:00:00.123456789Z");
        assert_eq!(r.time.as_nanosecond() % 1_000_000_000, 123_456_789);
        assert_eq!((r.stream, r.partial), (LogStream::Stderr, false));
        assert_eq!(r.content, b"oh no");
    }

    #[test]
    fn times_with_an_offset_and_empty_lines_parse() {
        let r = parse_record(b"2026-11-23T16:00:00.5+02:00 stdout F").expect("parses");
        assert_eq!(r.time, "2026-11-23T14:00:00.5Z".parse().expect("time"));
        assert_eq!(r.content, b"");
    }

    #[test]
    fn malformed_records_are_refused() {
        for bad in [
            &b"not-a-time stdout F x"[..],
            b"2026-11-23T14:00:00Z stdin F x",
            b"2026-11-23T14:00:00Z stdout X x",
            b"2026-11-23T14:00:00Z",
        ] {
            assert!(
                parse_record(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn partial_records_are_joined_with_the_next_and_keep_the_first_time() {
        let mut d = LogDecoder::default();
        let out = d.feed(
            b"2026-11-23T14:00:01Z stdout P hel\n2026-11-23T14:00:02Z stdout F lo\n\
              2026-11-23T14:00:03Z stdout F second\n",
        );
        let texts: Vec<&[u8]> = out.iter().map(|e| e.content.as_slice()).collect();
        assert_eq!(texts, vec![&b"hello\n"[..], b"second\n"]);
        assert_eq!(out[0].time_text, "2026-11-23T14:00:01Z");
    }

    #[test]
    fn a_record_split_across_chunks_is_decoded_once_complete() {
        let mut d = LogDecoder::default();
        assert!(d.feed(b"2026-11-23T14:00:01Z std").is_empty());
        let out = d.feed(b"out F one\n2026-11-23T14:00:02Z stdout P tw");
        assert_eq!(out.len(), 1);
        let out = d.feed(b"o\n");
        assert!(out.is_empty(), "a partial record waits for its end");
        let left = d.finish().expect("the unfinished line");
        assert_eq!(left.content, b"two");
    }
}
