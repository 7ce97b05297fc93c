//! A bounded excerpt of a child's output: the first 1 KiB and the last 3 KiB.
//!
//! Theory of operation: the head fills first and is never touched again; everything after it
//! goes through a ring of the last 3 KiB, and what falls out of the ring is only counted.
//! Memory stays at 4 KiB however much a command prints. Rendering decodes lossily and, when
//! bytes were dropped, trims the cut edges to whole UTF-8 characters so a multi-byte char
//! split by the cut is counted as omitted instead of showing up as `�`.

use std::collections::VecDeque;

use crate::redact::Redactor;

/// Bytes kept from the start.
const HEAD: usize = 1024;
/// Bytes kept from the end.
const TAIL: usize = 3 * 1024;

/// The first [`HEAD`] and last [`TAIL`] bytes of everything pushed, and a count of the rest.
#[derive(Debug, Clone, Default)]
pub struct Excerpt {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    omitted: u64,
}

impl Excerpt {
    /// An empty excerpt.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends output as it arrives.
    pub fn push(&mut self, mut bytes: &[u8]) {
        if self.head.len() < HEAD {
            let take = bytes.len().min(HEAD - self.head.len());
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        if bytes.len() >= TAIL {
            self.omitted += (self.tail.len() + bytes.len() - TAIL) as u64;
            self.tail.clear();
            self.tail.extend(&bytes[bytes.len() - TAIL..]);
            return;
        }
        let overflow = (self.tail.len() + bytes.len()).saturating_sub(TAIL);
        self.tail.drain(..overflow);
        self.omitted += overflow as u64;
        self.tail.extend(bytes);
    }

    /// The kept text, masked, with a `…[N bytes omitted]…` line where bytes were dropped;
    /// `None` when nothing was pushed.
    pub fn render(&self, redactor: &Redactor) -> Option<String> {
        if self.head.is_empty() {
            return None;
        }
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        let text = if self.omitted == 0 {
            let mut all = self.head.clone();
            all.extend_from_slice(&tail);
            String::from_utf8_lossy(&all).into_owned()
        } else {
            // A secret straddling the cut would show its two ends unmasked: trim what a
            // partial secret could occupy on each side.
            let guard = redactor.longest_secret().saturating_sub(1);
            let head = whole_chars_prefix(&self.head[..self.head.len().saturating_sub(guard)]);
            let tail = whole_chars_suffix(&tail[guard.min(tail.len())..]);
            let omitted = self.omitted + (self.head.len() - head.len()) as u64 + (self.tail.len() - tail.len()) as u64;
            format!(
                "{}\n…[{omitted} bytes omitted]…\n{}",
                String::from_utf8_lossy(head),
                String::from_utf8_lossy(tail)
            )
        };
        Some(redactor.mask(&text).into_owned())
    }
}

/// `bytes` without an incomplete UTF-8 sequence at its end (at most 3 bytes dropped).
fn whole_chars_prefix(bytes: &[u8]) -> &[u8] {
    let from = bytes.len().saturating_sub(4);
    // The last char starts at the last non-continuation byte; keep it only if complete.
    match (from..bytes.len()).rev().find(|&i| !is_continuation(bytes[i])) {
        Some(i) if std::str::from_utf8(&bytes[i..]).is_err() => &bytes[..i],
        _ => bytes,
    }
}

/// `bytes` without the continuation bytes of a char cut at its start (at most 3 dropped).
fn whole_chars_suffix(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take(3).take_while(|b| is_continuation(**b)).count();
    &bytes[skip..]
}

fn is_continuation(byte: u8) -> bool {
    byte & 0b1100_0000 == 0b1000_0000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(e: &Excerpt) -> String {
        e.render(&Redactor::default()).unwrap_or_default()
    }

    #[test]
    fn empty_renders_none() {
        assert_eq!(Excerpt::new().render(&Redactor::default()), None);
    }

    #[test]
    fn small_output_is_kept_whole_across_pushes() {
        let mut e = Excerpt::new();
        e.push(b"hello ");
        e.push(b"world\n");
        assert_eq!(render(&e), "hello world\n");
    }

    #[test]
    fn exactly_four_kib_is_not_cut() {
        let mut e = Excerpt::new();
        e.push(&vec![b'a'; HEAD + TAIL]);
        assert!(!render(&e).contains("omitted"));
        assert_eq!(render(&e).len(), HEAD + TAIL);
    }

    #[test]
    fn keeps_head_and_tail_and_counts_the_rest() {
        let mut e = Excerpt::new();
        e.push(&vec![b'h'; HEAD]);
        for _ in 0..100 {
            e.push(&[b'm'; 100]);
        }
        e.push(&vec![b't'; TAIL]);
        let text = render(&e);
        assert_eq!(
            text,
            format!("{}\n…[10000 bytes omitted]…\n{}", "h".repeat(HEAD), "t".repeat(TAIL))
        );
    }

    #[test]
    fn one_huge_push_equals_many_small_ones() {
        let data: Vec<u8> = (0..20_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut whole = Excerpt::new();
        whole.push(&data);
        let mut pieces = Excerpt::new();
        for chunk in data.chunks(7) {
            pieces.push(chunk);
        }
        assert_eq!(render(&whole), render(&pieces));
        assert!(render(&whole).contains("…[15904 bytes omitted]…"));
    }

    #[test]
    fn cut_multibyte_chars_are_counted_not_garbled() {
        // 'é' is 2 bytes: 1023 ASCII bytes then 'é' splits it at the head boundary.
        let mut e = Excerpt::new();
        e.push(&vec![b'x'; HEAD - 1]);
        e.push("é".repeat(4000).as_bytes());
        let text = render(&e);
        assert!(!text.contains('\u{FFFD}'), "{text}");
        let (head, rest) = text.split_once('\n').unwrap_or_default();
        assert_eq!(head, "x".repeat(HEAD - 1));
        let (marker, tail) = rest.split_once('\n').unwrap_or_default();
        assert!(tail.chars().all(|c| c == 'é'));
        // Everything not shown is counted: 1023 + 8000 bytes pushed.
        let omitted: usize = marker.trim_matches(|c: char| !c.is_ascii_digit()).parse().unwrap_or(0);
        assert_eq!(HEAD - 1 + omitted + tail.len(), HEAD - 1 + 8000);
    }

    #[test]
    fn invalid_utf8_renders_lossily() {
        let mut e = Excerpt::new();
        e.push(&[b'a', 0xff, b'b']);
        assert_eq!(render(&e), "a\u{FFFD}b");
    }

    #[test]
    fn masks_secrets() {
        let mut r = Redactor::default();
        r.register("canary-s3cret");
        let mut e = Excerpt::new();
        e.push(b"token=canary-");
        e.push(b"s3cret\n");
        assert_eq!(e.render(&r).as_deref(), Some("token=***\n"));
    }

    #[test]
    fn a_secret_cut_by_the_omission_is_not_shown_in_part() {
        let mut redactor = Redactor::default();
        redactor.register("SECRETVALUE-0123456789");
        let mut e = Excerpt::new();
        e.push(&vec![b'a'; HEAD - 11]);
        e.push(b"SECRETVALUE-0123456789");
        e.push(&vec![b'b'; 10_000]);
        let mut e2 = Excerpt::new();
        e2.push(&vec![b'a'; HEAD + 5000]);
        e2.push(b"SECRETVALUE-0123456789");
        e2.push(&vec![b'b'; TAIL - 11]);
        for excerpt in [e, e2] {
            let text = excerpt.render(&redactor).expect("text");
            assert!(!text.contains("SECRETV") && !text.contains("23456789"), "{text}");
        }
    }
}
