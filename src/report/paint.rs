//! Colour for people, only where it helps and only where it can be seen: on a terminal,
//! never with `NO_COLOR`, `--no-color` or a pipe; `CLICOLOR_FORCE` forces it (the
//! conventions of no-color.org and bixense.com/clicolors, as `anstream` reads them).
//!
//! Colour is added last, to text already neutralised ([`super::escape`]): the only escape
//! sequences that reach a terminal are the ones written here, around the checklist's
//! glyphs and the `warning:`/`hint:`/`note:` prefixes. JSON, Markdown and HTML are never
//! painted.

use std::borrow::Cow;
use std::sync::OnceLock;

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};

static STDOUT: OnceLock<bool> = OnceLock::new();
static STDERR: OnceLock<bool> = OnceLock::new();

/// `--no-color` turns colour off for the whole process (before anything is printed).
pub fn init(no_color: bool) {
    if no_color {
        ColorChoice::Never.write_global();
    }
}

fn stdout_on() -> bool {
    *STDOUT.get_or_init(|| AutoStream::choice(&std::io::stdout()) != ColorChoice::Never)
}

fn stderr_on() -> bool {
    *STDERR.get_or_init(|| AutoStream::choice(&std::io::stderr()) != ColorChoice::Never)
}

/// The checklist glyphs and their colours.
const GLYPHS: [(&str, AnsiColor); 5] = [
    ("[x]", AnsiColor::Green),
    ("[!]", AnsiColor::Red),
    ("[~]", AnsiColor::Yellow),
    ("[?]", AnsiColor::Cyan),
    ("[-]", AnsiColor::BrightBlack),
];

/// The prefixes of stderr lines and their colours.
const PREFIXES: [(&str, AnsiColor); 4] = [
    ("warning:", AnsiColor::Yellow),
    ("hint:", AnsiColor::Cyan),
    ("note:", AnsiColor::Blue),
    ("deployctl:", AnsiColor::Red),
];

/// A neutralised line for stdout, its glyphs coloured when stdout shows colour.
pub fn stdout(text: &str) -> Cow<'_, str> {
    if stdout_on() { glyphs(text) } else { Cow::Borrowed(text) }
}

/// A neutralised line for stderr, its prefixes and glyphs coloured when stderr shows colour.
pub fn stderr(text: &str) -> Cow<'_, str> {
    if stderr_on() {
        Cow::Owned(prefixes(&glyphs(text)))
    } else {
        Cow::Borrowed(text)
    }
}

fn paint(text: &str, color: AnsiColor) -> String {
    let style = Style::new().fg_color(Some(color.into())).bold();
    format!("{style}{text}{style:#}")
}

fn glyphs(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for (glyph, color) in GLYPHS {
        if out.contains(glyph) {
            out = Cow::Owned(out.replace(glyph, &paint(glyph, color)));
        }
    }
    out
}

fn prefixes(text: &str) -> String {
    text.lines()
        .map(|line| {
            let body = line.trim_start();
            let indent = &line[..line.len() - body.len()];
            match PREFIXES.iter().find(|(p, _)| body.starts_with(p)) {
                Some((p, color)) => format!("{indent}{}{}", paint(p, *color), &body[p.len()..]),
                None => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyphs_and_prefixes_are_wrapped_and_the_text_kept() {
        let line = glyphs("  [x] a  done");
        assert!(line.starts_with("  \u{1b}["), "{line:?}");
        assert!(line.ends_with("[x]\u{1b}[0m a  done"), "{line:?}");
        let line = prefixes("x\n  hint: do y");
        assert!(line.starts_with("x\n  \u{1b}["), "{line:?}");
        assert!(line.ends_with("hint:\u{1b}[0m do y"), "{line:?}");
    }
}
