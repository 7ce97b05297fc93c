//! Stdout, for every command and reporter: one writer that notices when stdout fails.
//!
//! Theory of operation. Every line deployctl prints on stdout goes through [`line`]. A write
//! error is remembered once, process-wide (stdout itself is process-wide), and nothing more
//! is written after it:
//! - a closed pipe (`EPIPE`: `deployctl status | head` after `head` has read its lines)
//!   ends the output silently, and the command ends as it would have;
//! - any other error (`ENOSPC` from a full disk or `/dev/full`, `EIO`, ...) means the
//!   output the user asked for was not produced: the command still finishes what it was
//!   doing (a run journals its outcome all the same) and then [`failure`] names the error,
//!   so `commands` can say so on stderr and exit non-zero.
//!
//! Never panics (unlike `println!`), never blocks on a poisoned lock.

use std::io::{ErrorKind, Write};
use std::sync::Mutex;

/// What became of stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Written {
    /// Every write so far succeeded.
    Open,
    /// The reader went away (`EPIPE`): output ended, not an error.
    Closed,
    /// A write failed: the error in words.
    Failed(String),
}

static STATE: Mutex<Written> = Mutex::new(Written::Open);

fn state() -> std::sync::MutexGuard<'static, Written> {
    STATE.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Writes `text` and a newline, unless stdout already failed or closed.
pub fn line(text: &str) {
    let mut state = state();
    if *state != Written::Open {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}").and_then(|()| out.flush()) {
        *state = outcome(&e);
    }
}

/// Flushes stdout, then tells whether any write failed for a reason other than a closed
/// pipe, in words (`No space left on device (os error 28)`).
pub fn failure() -> Option<String> {
    let mut state = state();
    if *state == Written::Open
        && let Err(e) = std::io::stdout().lock().flush()
    {
        *state = outcome(&e);
    }
    match &*state {
        Written::Failed(reason) => Some(reason.clone()),
        Written::Open | Written::Closed => None,
    }
}

fn outcome(e: &std::io::Error) -> Written {
    match e.kind() {
        ErrorKind::BrokenPipe => Written::Closed,
        _ => Written::Failed(e.to_string()),
    }
}
