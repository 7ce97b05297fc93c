//! Reading a journal: every line must parse, except a torn last line from a crash.
//!
//! A journal path that is a symbolic link is refused, as the writer refuses it
//! ([`super::safe_path`]): `status` must show the journal deployctl writes, nothing else.

use std::io::{ErrorKind, Read};
use std::path::Path;

use super::error::JournalError;
use super::safe_path;
use crate::event::{Entry, Event, JOURNAL_FORMAT};

/// The entries of a journal and what was dropped.
#[derive(Debug, Default)]
pub struct JournalRead {
    /// Entries in file order.
    pub entries: Vec<Entry>,
    /// A note per dropped torn line.
    pub warnings: Vec<String>,
    /// Whether the file exists at all.
    pub exists: bool,
}

/// Reads the journal at `path`; a missing file is an empty journal.
pub fn read(path: &Path) -> Result<JournalRead, JournalError> {
    let opened = safe_path::open(path, std::fs::OpenOptions::new().read(true)).and_then(|mut file| {
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map(|_| bytes)
    });
    let bytes = match opened {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(JournalRead::default()),
        Err(source) => {
            return Err(JournalError::Io {
                path: path.to_path_buf(),
                action: "read",
                source,
            });
        }
    };
    parse(path, &bytes)
}

/// Above this size a journal is parsed in two halves on two threads: parsing is most of
/// what `status` of a long journal costs, and the lines are independent.
const PARSE_IN_TWO_ABOVE: usize = 4 << 20;

/// Parses journal bytes (separate from I/O for tests and fuzzing).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<JournalRead, JournalError> {
    let middle = bytes.len() / 2;
    let split = (bytes.len() > PARSE_IN_TWO_ABOVE)
        .then(|| bytes[middle..].iter().position(|&b| b == b'\n'))
        .flatten()
        .map(|at| middle + at + 1)
        .filter(|&at| at < bytes.len());
    let Some(split) = split else {
        return parse_lines(path, bytes, 0, lines(bytes) + 1);
    };
    // The head ends with a complete line, so only the tail can hold a torn last line.
    let (head, tail) = bytes.split_at(split);
    let head_lines = lines(head);
    // The halves are about as long: the head's list gets room for the tail's entries too,
    // so appending them seldom moves it.
    let (head, tail) = std::thread::scope(|scope| {
        let parsed_head = scope.spawn(|| parse_lines(path, head, 0, 2 * head_lines + 1));
        let tail = parse_lines(path, tail, head_lines, head_lines + 1);
        (parsed_head.join(), tail)
    });
    // A panic while parsing is a bug, not bad input: let it surface as one.
    let mut out = head.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    let tail = tail?;
    out.entries.extend(tail.entries);
    out.warnings.extend(tail.warnings);
    Ok(out)
}

/// How many lines end in `bytes`.
fn lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// Parses lines whose first is line `first + 1` of the journal, into a list with room for
/// `capacity` entries (one per line: sized once instead of doubling, and copying, 17 times
/// for 100,000).
fn parse_lines(path: &Path, bytes: &[u8], first: usize, capacity: usize) -> Result<JournalRead, JournalError> {
    let mut out = JournalRead {
        entries: Vec::with_capacity(capacity),
        exists: true,
        ..Default::default()
    };
    let mut lines = bytes.split_inclusive(|&b| b == b'\n').enumerate().peekable();
    while let Some((i, raw)) = lines.next() {
        let number = first + i + 1;
        let complete = raw.last() == Some(&b'\n');
        let line = raw.strip_suffix(b"\n").unwrap_or(raw);
        // One UTF-8 check per line, then a parser that need not re-check every string.
        let parsed = std::str::from_utf8(line)
            .map_err(|e| e.to_string())
            .and_then(|l| serde_json::from_str::<Entry>(l).map_err(|e| e.to_string()));
        match parsed {
            Ok(entry) => {
                check_entry(path, number, &entry)?;
                out.entries.push(entry);
            }
            Err(_) if !complete && lines.peek().is_none() => {
                out.warnings.push(format!(
                    "journal `{}` line {number} was cut short by a crash mid-write ({} bytes); it was dropped",
                    path.display(),
                    raw.len()
                ));
            }
            Err(e) => {
                return Err(JournalError::Corrupt {
                    path: path.to_path_buf(),
                    line: number,
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// Refuses an entry of a newer journal format (a `run_started` with a higher `format`).
pub(super) fn check_entry(path: &Path, line: usize, entry: &Entry) -> Result<(), JournalError> {
    if let Event::RunStarted { format, .. } = &entry.event
        && *format > JOURNAL_FORMAT
    {
        return Err(JournalError::Version {
            path: path.to_path_buf(),
            line,
            found: *format,
            supported: JOURNAL_FORMAT,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{PARSE_IN_TWO_ABOVE, parse, parse_lines};
    use crate::journal::JournalError;

    /// A journal just over the size parsed in two halves: one run, then steps started.
    fn long_journal() -> String {
        let mut text = String::from(
            r#"{"at":"2026-11-29T00:00:00Z","run_id":"r1","event":{"type":"run_started","format":1,"runbook":"big","title":"Big","runbook_sha256":"00","vars_sha256":"00","operator":"o","host":"h","pid":1,"plan":[]}}"#,
        );
        text.push('\n');
        let mut i = 0;
        while text.len() <= PARSE_IN_TWO_ABOVE {
            text.push_str(&format!(
                r#"{{"at":"2026-11-29T00:00:01Z","run_id":"r1","event":{{"type":"step_started","step":"s{i}","attempt":1}}}}"#
            ));
            text.push('\n');
            i += 1;
        }
        text
    }

    fn corrupt_line(result: Result<super::JournalRead, JournalError>) -> usize {
        match result {
            Err(JournalError::Corrupt { line, .. }) => line,
            other => panic!("expected a corrupt line, got {other:?}"),
        }
    }

    #[test]
    fn a_journal_parsed_in_two_halves_is_the_journal_parsed_in_one() {
        let text = long_journal();
        let path = Path::new("big.jsonl");
        let (two, one) = (parse(path, text.as_bytes()), parse_lines(path, text.as_bytes(), 0, 0));
        let (two, one) = (two.expect("parses in two"), one.expect("parses in one"));
        assert_eq!(two.entries.len(), text.lines().count());
        assert_eq!(format!("{:?}", two.entries), format!("{:?}", one.entries));
    }

    #[test]
    fn lines_of_the_second_half_keep_their_numbers_and_only_the_last_may_be_torn() {
        let mut lines: Vec<String> = long_journal().lines().map(str::to_owned).collect();
        let path = Path::new("big.jsonl");
        let late = lines.len() - 3;
        let original = std::mem::replace(&mut lines[late], "{not json".into());
        assert_eq!(
            corrupt_line(parse(path, (lines.join("\n") + "\n").as_bytes())),
            late + 1
        );
        lines[late] = original;
        let early = 5;
        lines[early] = "{not json".into();
        assert_eq!(
            corrupt_line(parse(path, (lines.join("\n") + "\n").as_bytes())),
            early + 1
        );

        let mut torn = long_journal();
        torn.push_str(r#"{"at":"2026-11-29T00:00:02Z","run_id":"r1","ev"#);
        let read = parse(path, torn.as_bytes()).expect("a torn last line is dropped");
        assert_eq!(read.entries.len(), torn.lines().count() - 1);
        assert!(
            read.warnings.iter().any(|w| w.contains("cut short by a crash")),
            "{:?}",
            read.warnings
        );
    }
}
