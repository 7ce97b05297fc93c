//! Colour (issue 18): on a terminal the checklist's glyphs are coloured; `NO_COLOR`,
//! `--no-color` and a pipe turn it off; `CLICOLOR_FORCE` forces it into a pipe. The
//! terminal is a real pseudo-terminal (`openpty`), as a person's shell gives deployctl.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::harness::{Deployctl, fixture};

const ESC: &str = "\u{1b}[";

/// What `deployctl ARGS` writes on a pseudo-terminal (stdout and stderr both on it), with
/// `env` set and `NO_COLOR` unset unless `env` sets it.
fn on_a_terminal(args: &[&str], env: &[(&str, &str)]) -> String {
    let (success, out) = terminal_run(None, args, env);
    assert!(success, "{out}");
    out
}

/// Runs `deployctl ARGS` in `dir` (default: here) with stdout and stderr on a new
/// pseudo-terminal, and returns whether it exited 0 and every byte it wrote there, escape
/// sequences and carriage returns included (the terminal's `\n` → `\r\n` too).
pub fn terminal_run(dir: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let pty = nix::pty::openpty(None, None).expect("a pseudo-terminal");
    let slave = std::fs::File::from(pty.slave);
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("deployctl"));
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .env_remove("DEPLOYCTL_JOURNAL")
        .env("DEPLOYCTL_OPERATOR", "gage")
        .env("TERM", "xterm-256color")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(slave.try_clone().expect("dup"))
        .stderr(slave);
    let mut child = cmd.spawn().expect("spawn deployctl");
    drop(cmd); // closes this process's copies of the terminal's slave side
    let mut master = std::fs::File::from(pty.master);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // Ends with EIO once the child (the last holder of the slave side) has exited.
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    let success = child.wait().expect("wait").success();
    (success, String::from_utf8_lossy(&out).into_owned())
}

fn status_args() -> Vec<String> {
    let journal = fixture("journals/paused.jsonl");
    vec!["status".into(), "--journal".into(), journal.display().to_string()]
}

#[test]
fn a_terminal_gets_colour_and_no_color_or_the_flag_turn_it_off() {
    let args = status_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let coloured = on_a_terminal(&args, &[]);
    assert!(coloured.contains(ESC), "colour on a terminal: {coloured:?}");
    assert!(coloured.contains("[x]"), "{coloured:?}");
    let plain = on_a_terminal(&args, &[("NO_COLOR", "1")]);
    assert!(!plain.contains(ESC), "NO_COLOR: {plain:?}");
    assert!(plain.contains("[x]"), "{plain:?}");
    let mut flagged = vec!["--no-color"];
    flagged.extend(&args);
    let plain = on_a_terminal(&flagged, &[]);
    assert!(!plain.contains(ESC), "--no-color: {plain:?}");
}

#[test]
fn a_pipe_gets_no_colour_unless_clicolor_force() {
    let args = status_args();
    let piped = Deployctl::new().env("NO_COLOR", "").args(&args).run();
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    assert!(!piped.stdout.contains(ESC), "{:?}", piped.stdout);
    let forced = Deployctl::new()
        .env("NO_COLOR", "")
        .env("CLICOLOR_FORCE", "1")
        .args(&args)
        .run();
    assert!(forced.stdout.contains(ESC), "{:?}", forced.stdout);
    let json = Deployctl::new()
        .env("NO_COLOR", "")
        .env("CLICOLOR_FORCE", "1")
        .args(&args)
        .args(["--format", "json"])
        .run();
    assert!(!json.stdout.contains(ESC), "JSON is never painted");
}
