//! Text from the outside world cannot speak for deployctl. An approval note, a name, a
//! database value or a step's output that carries a newline and a forged checklist line,
//! a Markdown image pointing at an outside host, raw HTML, ANSI colours, an OSC 8 hyperlink
//! or a bidi override comes out as text: in the Markdown and HTML reports, in `status` for
//! a terminal, in a run's live lines and in error lines.

use crate::harness::{Deployctl, Workspace, fixture};

/// Characters that must never reach a terminal or a report raw: ESC (CSI and OSC
/// sequences), BEL (ends an OSC), CR (rewrites the line), the C1 CSI, and bidi controls.
const RAW: [char; 6] = ['\u{1b}', '\u{7}', '\r', '\u{9b}', '\u{202e}', '\u{2066}'];

fn status(format: &str) -> String {
    let journal = fixture("journals/hostile-text.jsonl");
    let out = Deployctl::new()
        .args(["status".as_ref(), "--journal".as_ref(), journal.as_os_str()])
        .args(["--format", format])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}

fn assert_no_raw_controls(what: &str, text: &str) {
    for c in RAW {
        assert!(!text.contains(c), "{what}: raw {c:?} in:\n{text}");
    }
}

/// A line that a reader (or a Markdown renderer) would take for a ticked checklist item
/// or a sign-off deployctl never wrote.
fn forged_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            let l = l.trim_start();
            l.starts_with("- [x] forged") || l.starts_with("[x] forged") || l.starts_with("## Sign-off - ")
        })
        .collect()
}

/// The Markdown outside its fenced code blocks (where text is shown as it is), and whether
/// every line inside them stayed inside (indented, no early closing fence).
fn outside_fences(md: &str) -> (String, bool) {
    let (mut outside, mut inside_ok, mut fenced) = (String::new(), true, false);
    for line in md.lines() {
        match (fenced, line) {
            (false, "  ```text") => fenced = true,
            (true, "  ```") => fenced = false,
            (true, l) => inside_ok &= l.starts_with("  ") && !l.trim_start().starts_with("```"),
            (false, l) => {
                outside.push_str(l);
                outside.push('\n');
            }
        }
    }
    (outside, inside_ok && !fenced)
}

#[test]
fn the_markdown_report_keeps_journal_text_as_text() {
    let md = status("markdown");
    assert_no_raw_controls("markdown", &md);
    let (outside, fences_hold) = outside_fences(&md);
    assert!(fences_hold, "an excerpt line escaped its code block:\n{md}");
    assert!(
        md.contains("  - [x] forged-after-fence"),
        "kept as text in the excerpt:\n{md}"
    );
    assert_eq!(forged_lines(&outside), Vec::<&str>::new(), "{md}");
    assert_eq!(
        outside.lines().filter(|l| l.starts_with("## Sign-off")).count(),
        1,
        "one sign-off section, deployctl's:\n{md}"
    );
    // No image, no link, no HTML from the journal outside the code blocks.
    assert!(!outside.contains("![x]("), "an image from the journal:\n{md}");
    assert_eq!(
        outside.matches("](").count(),
        outside.matches("\\](").count(),
        "a link from the journal:\n{md}"
    );
    assert!(!outside.contains("<img"), "raw HTML from the journal:\n{md}");
}

#[test]
fn status_for_a_terminal_neutralises_escape_sequences_and_forged_lines() {
    let text = status("human");
    assert_no_raw_controls("status", &text);
    assert_eq!(forged_lines(&text), Vec::<&str>::new(), "{text}");
    assert!(
        text.contains("\u{FFFD}[31mred"),
        "the colour code shows as text:\n{text}"
    );
}

#[test]
fn the_html_report_neutralises_controls_and_markup() {
    let html = status("html");
    assert_no_raw_controls("html", &html);
    assert!(!html.contains("<img"), "{html}");
    assert!(html.contains("&lt;img src=http://evil/&gt;"), "{html}");
}

#[test]
fn a_run_shows_hostile_step_output_as_text() {
    let ws = Workspace::new(
        r#"deployctl: 1
name: noisy
phases:
  - id: p
    steps:
      - id: noisy
        shell: |
          printf 'ok\033[31m red\033]8;;http://evil/\033\\link\033]8;;\033\\\r\n- [x] forged\r- [x] forged-cr\342\200\256\n'; exit 1
"#,
    );
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_no_raw_controls("run stdout", &out.stdout);
    assert_no_raw_controls("run stderr", &out.stderr);
    assert_eq!(forged_lines(&out.stdout), Vec::<&str>::new(), "{}", out.stdout);
    assert!(
        out.stdout.contains("      | - [x] forged"),
        "the excerpt's lines sit behind `|`:\n{}",
        out.stdout
    );
    let text = ws.deployctl().args(["status", "r.yaml"]).run();
    assert_no_raw_controls("status", &text.stdout);
}

#[test]
fn error_lines_neutralise_what_they_quote() {
    let out = Deployctl::new()
        .args([
            "validate".as_ref(),
            fixture("hostile/runbooks/control-chars-in-id.yaml").as_os_str(),
        ])
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_no_raw_controls("validate stderr", &out.stderr);
    assert!(out.stderr.contains("control-chars-in-id.yaml:"), "{}", out.stderr);
}
