//! How the engine tells the outside world what happened, without printing itself.

use crate::event::Entry;

/// Receives what the engine does. Reporters implement it; the engine never prints.
pub trait Observer {
    /// An entry was made durable (called after the fsync, never before).
    fn journaled(&mut self, entry: &Entry);
    /// Something the operator should see that is not journaled (a retry, a torn line).
    fn warn(&mut self, text: &str);
    /// Asks the operator a yes/no question at a terminal (a `manual` checkbox). Returns the
    /// pending answer line, or `None` when nobody can be asked (no terminal, JSON output):
    /// the engine then pauses for `deployctl approve` instead.
    fn ask(&mut self, question: &str) -> Option<tokio::task::JoinHandle<Option<String>>> {
        let _ = question;
        None
    }
}
