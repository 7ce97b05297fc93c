//! The one place text from the outside world is made safe for where it is shown. Journal
//! text (titles, reasons, output, names, notes, roles, hosts) comes from runbooks, step
//! output, HTTP bodies, database values and people's `--by`, `--note` and `--operator`, so
//! any of it may try to speak to the terminal or to a Markdown or HTML renderer.
//!
//! - [`neutralise`]: every control character that could move the cursor, recolour the
//!   terminal, open a hyperlink (ANSI CSI and OSC sequences start with ESC or a C1 code) or
//!   reorder what is shown (bidi embeddings, overrides and isolates) becomes `�` (U+FFFD),
//!   so the reader sees that something was there and nothing acts on it. Tabs stay, and
//!   newlines stay where a multi-line excerpt is meant ([`Breaks::Keep`]); in one-line
//!   fields every line break becomes a space ([`Breaks::Join`]), so a name or a note can
//!   never start a line of its own that reads like deployctl's.
//! - [`esc`]: HTML text and attribute values.
//! - [`md`], [`md_code`]: Markdown inline text and code spans.

use std::borrow::Cow;

/// What to do with line breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breaks {
    /// Keep `\n` (and `\r\n` as `\n`): an excerpt of several lines.
    Keep,
    /// Every line break (`\n`, `\r`, VT, FF, NEL, U+2028, U+2029) becomes a space.
    Join,
}

/// Whether `c` is shown as `�`: C0 controls but tab and newline, DEL, C1 controls, and the
/// bidi embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069).
fn is_hostile(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Line breaks other than `\n` that some renderer or terminal honours.
fn is_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// The text with its control characters neutralised (see the module doc).
pub fn neutralise(text: &str, breaks: Breaks) -> Cow<'_, str> {
    let kept = |c: char| match breaks {
        Breaks::Keep => !is_hostile(c) && !is_break(c) || c == '\n',
        Breaks::Join => !is_hostile(c) && !is_break(c),
    };
    if text.chars().all(kept) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match breaks {
            _ if kept(c) => out.push(c),
            Breaks::Join if is_break(c) => out.push(' '),
            // A CRLF line end reads as the newline it means.
            Breaks::Keep if c == '\r' && chars.peek() == Some(&'\n') => {}
            Breaks::Keep | Breaks::Join => out.push('\u{FFFD}'),
        }
    }
    Cow::Owned(out)
}

/// One-line text for a terminal: [`neutralise`] with [`Breaks::Join`].
pub fn one_line(text: &str) -> Cow<'_, str> {
    neutralise(text, Breaks::Join)
}

/// A multi-line text for a terminal: its lines after the first start with `indent` and a
/// `| ` bar, so no line of it can pass for one of deployctl's own (a checklist row, a
/// service, a sign-off).
pub fn block(text: &str, indent: &str) -> String {
    neutralise(text, Breaks::Keep).replace('\n', &format!("\n{indent}| "))
}

/// `&`, `<`, `>`, `"` and `'` as character references: safe in element text and in quoted
/// attribute values, and well-formed XML too (the report parses as XHTML). Control
/// characters are [`neutralise`]d first (XML does not allow most of them at all).
pub fn esc(text: &str) -> String {
    let text = neutralise(text, Breaks::Keep);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Markdown inline text that stays on its line and stays text: line breaks become spaces,
/// controls are neutralised, `\`, `[` and `]` are backslash-escaped (no link, no image, no
/// task box can form), `<` is written `&lt;` (no raw HTML, no autolink), and a leading
/// block marker (`#`, `>`, `-`, `+`, `*`, `1.`) is escaped, so text that starts a list item
/// cannot open a heading, a quote or a list of its own.
pub fn md(text: &str) -> String {
    let text = neutralise(text, Breaks::Join);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '[' => out.push_str("\\["),
            ']' => out.push_str("\\]"),
            '<' => out.push_str("&lt;"),
            c => out.push(c),
        }
    }
    escape_leading_marker(out)
}

/// `# x` → `\# x`, `1. x` → `1\. x`: the text can no longer open a block.
fn escape_leading_marker(text: String) -> String {
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    match text[digits..].chars().next() {
        Some('.' | ')') if digits > 0 => format!("{}\\{}", &text[..digits], &text[digits..]),
        Some('#' | '>' | '-' | '+' | '*') if digits == 0 => format!("\\{text}"),
        _ => text,
    }
}

/// Text inside a Markdown code span: one line, no control characters, and no backtick that
/// could close the span early (written `'`).
pub fn md_code(text: &str) -> String {
    neutralise(text, Breaks::Join).replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_become_references() {
        assert_eq!(
            esc(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(esc("bell\u{7}"), "bell\u{FFFD}");
    }

    #[test]
    fn escape_sequences_and_bidi_overrides_are_shown_not_obeyed() {
        let hostile = "red\u{1b}[31m link\u{1b}]8;;http://evil/\u{1b}\\x\u{9b}2J \u{202E}olleh\u{2066}";
        assert_eq!(
            neutralise(hostile, Breaks::Keep),
            "red\u{FFFD}[31m link\u{FFFD}]8;;http://evil/\u{FFFD}\\x\u{FFFD}2J \u{FFFD}olleh\u{FFFD}"
        );
        assert_eq!(
            neutralise("plain text\tand a tab", Breaks::Join),
            "plain text\tand a tab"
        );
        assert!(matches!(neutralise("plain", Breaks::Keep), Cow::Borrowed(_)));
    }

    #[test]
    fn line_breaks_stay_in_excerpts_and_join_in_fields() {
        assert_eq!(neutralise("a\r\nb\rc\n", Breaks::Keep), "a\nb\u{FFFD}c\n");
        assert_eq!(
            neutralise("ok\r\n- [x] forged\u{2028}x", Breaks::Join),
            "ok  - [x] forged x"
        );
        assert_eq!(block("first\nsecond", "    "), "first\n    | second");
    }

    #[test]
    fn markdown_text_cannot_forge_lines_links_images_or_html() {
        assert_eq!(
            md("ok\n- [x] forged ![x](http://evil/) <img src=x> \\[y]"),
            "ok - \\[x\\] forged !\\[x\\](http://evil/) &lt;img src=x> \\\\\\[y\\]"
        );
        assert_eq!(md("- [x] forged"), "\\- \\[x\\] forged");
        assert_eq!(md("# title"), "\\# title");
        assert_eq!(md("12. item"), "12\\. item");
        assert_eq!(md("2026 release"), "2026 release");
        assert_eq!(
            md("@pm (Morgan) - Business Approval"),
            "@pm (Morgan) - Business Approval"
        );
        assert_eq!(md_code("run`id\nx"), "run'id x");
    }
}
