//! Asking the operator a yes/no question on the terminal, for the defaults that act on a
//! guess (`rollback` without a runbook, `run` after a finished run). Off a terminal nothing
//! is asked: the command needs its flag (`--yes`, `--new`) instead.

use std::io::{BufRead, IsTerminal, Write};

/// Whether a person can answer: stdin and stderr are terminals.
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks `question` on stderr and reads the answer from stdin: only `y` or `yes` is yes.
pub fn ask(question: &str) -> bool {
    {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{question} [y/N] ");
        let _ = err.flush();
    }
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}
