//! The runbook text, for turning byte offsets into `line:col`.

use super::diagnostic::Pos;

/// How far after a value's start a reference inside it is searched for.
const SEARCH_WINDOW: usize = 64 * 1024;

/// Source text with its line starts.
pub struct Source<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    /// Indexes `text`.
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source { text, line_starts }
    }

    /// The position of a byte offset (columns count characters).
    pub fn pos_at(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let col = self.text.get(start..offset).map(|s| s.chars().count()).unwrap_or(0) + 1;
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
        }
    }

    /// Whether the value written at `offset` is a quoted scalar (`"3"` or `'3'`).
    pub fn starts_with_quote(&self, offset: usize) -> bool {
        matches!(self.text.as_bytes().get(offset), Some(b'"' | b'\''))
    }

    /// The position of the first `needle` at or after `offset`, if near.
    pub fn find_after(&self, offset: usize, needle: &str) -> Option<Pos> {
        let end = offset.saturating_add(SEARCH_WINDOW).min(self.text.len());
        let start = (offset..=end).find(|&i| self.text.is_char_boundary(i))?;
        let end = (start..=end).rev().find(|&i| self.text.is_char_boundary(i))?;
        let found = self.text[start..end].find(needle)?;
        Some(self.pos_at(start + found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        let s = Source::new("ab\r\nçd ${x}\n");
        assert_eq!(s.pos_at(0), Pos { line: 1, col: 1 });
        assert_eq!(s.pos_at(4), Pos { line: 2, col: 1 });
        assert_eq!(s.find_after(0, "${x}"), Some(Pos { line: 2, col: 4 }));
        let q = Source::new("a: \"3\"\nb: '4'\nc: 5\n");
        assert!(q.starts_with_quote(3) && q.starts_with_quote(10));
        assert!(!q.starts_with_quote(17) && !q.starts_with_quote(99));
    }
}
