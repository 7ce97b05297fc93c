//! A running monitor's live output (issue 18 item 5): on a terminal (a real
//! pseudo-terminal, as a person's shell gives deployctl) one line updated in place; off a
//! terminal at most a line per 10 s window, plus every breach.

use crate::colour::terminal_run;
use crate::harness::Workspace;
use crate::http_server::TestHttp;
use crate::live_output::monitored;

/// A monitor of `server` for 2 s, a window every 200 ms, whose rule cannot hold (10
/// breaching windows in a row are never reached by the tests here).
fn watch(server: &TestHttp) -> String {
    monitored(server, "2s", "consecutive: 10")
}

/// Whether `text` holds a window's label (`w7  1 probes, ...`).
fn window_label(text: &str, window: u64) -> bool {
    text.contains(&format!("w{window}  "))
}

/// Any window's label, `w` and digits then two spaces, as a word.
fn any_window_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices('w').any(|(i, _)| {
        let word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let digits = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        word_start && digits > 0 && text[i + 1 + digits..].starts_with("  ")
    })
}

/// Removes CSI escape sequences (`ESC [ ... final`): colours, erase-line, cursor moves.
fn strip_csi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What stays on the screen of each line: the text after its last carriage return (a
/// redraw overwrites the line from its start), escape sequences removed.
fn visible_lines(raw: &str) -> Vec<String> {
    raw.replace("\r\n", "\n")
        .split('\n')
        .map(|line| strip_csi(line.rsplit('\r').next().unwrap_or_default()))
        .collect()
}

/// The windows journaled, each with whether it breached.
fn windows(ws: &Workspace) -> Vec<(u64, bool)> {
    ws.events("watch", "monitor_sample")
        .iter()
        .map(|e| {
            let sample = &e["sample"];
            let breach = sample["rules"]
                .as_array()
                .is_some_and(|rules| rules.iter().any(|r| r["breach"] == true));
            (sample["window"].as_u64().unwrap_or_default(), breach)
        })
        .collect()
}

#[test]
fn on_a_terminal_a_monitor_updates_one_line_in_place() {
    let server = TestHttp::start();
    let ws = Workspace::new(&watch(&server));
    let (ok, raw) = terminal_run(Some(ws.path()), &["run", "r.yaml"], &[]);
    assert!(ok, "{raw:?}");
    let journaled = windows(&ws);
    assert!(journaled.len() >= 5, "{journaled:?}");
    // Redrawn in place: back to the line's start and erased, never a new line per window.
    assert!(raw.contains('\r') && raw.contains("\u{1b}[2K"), "{raw:?}");
    let drawn: Vec<u64> = journaled
        .iter()
        .map(|(w, _)| *w)
        .filter(|w| window_label(&raw, *w))
        .collect();
    assert!(drawn.len() >= 2, "the one line showed several windows in turn: {raw:?}");
    let screen = visible_lines(&raw);
    let kept: Vec<&String> = screen.iter().filter(|l| any_window_label(l)).collect();
    assert!(kept.is_empty(), "no window kept a line of its own: {kept:?}\n{raw:?}");
    assert!(screen.iter().any(|l| l.contains("[x] watch")), "{screen:?}");
}

#[test]
fn off_a_terminal_a_monitor_prints_every_breach_and_otherwise_at_most_a_line_per_10s() {
    let server = TestHttp::start();
    server.cycle(&[200, 200, 500]);
    let ws = Workspace::new(&watch(&server));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains('\r'), "plain lines only: {:?}", out.stdout);
    let journaled = windows(&ws);
    assert!(
        journaled.iter().any(|(_, b)| *b) && journaled.iter().any(|(_, b)| !*b),
        "calm windows and breaches both: {journaled:?}"
    );
    let printed = |w: u64| out.stdout.lines().any(|l| l.starts_with(&format!("      w{w}  ")));
    let (first, last) = (journaled[0].0, journaled[journaled.len() - 1].0);
    for (window, breach) in &journaled {
        if *breach {
            assert!(printed(*window), "breach w{window} printed: {}", out.stdout);
        } else if *window != first && *window != last {
            // The whole watch is 2 s, within one 10 s period: only its first and last.
            assert!(!printed(*window), "calm w{window} not printed: {}", out.stdout);
        }
    }
    assert!(printed(first) && printed(last), "{}", out.stdout);
}
