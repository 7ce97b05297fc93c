//! How the engine tells the outside world what happened, without printing itself.

use crate::event::Entry;

/// Receives what the engine does. Reporters implement it; the engine never prints.
pub trait Observer {
    /// An entry was made durable (called after the fsync, never before).
    fn journaled(&mut self, entry: &Entry);
    /// Something the operator should see that is not journaled (a retry, a torn line).
    fn warn(&mut self, text: &str);
}
