//! Step kinds: one module per kind behind one trait ([`kind`]), dispatched by one `match`.
//!
//! A step does its one thing and says how it went as a [`StepOutcome`] value; it never
//! touches the journal and never prints. The engine owns timeouts, retries, cancellation
//! and journaling: it wraps [`execute`] in a timeout and drops the future on expiry or on a
//! signal, so every step must be cancel-safe by drop (the shell step kills its process
//! group when dropped).

mod approval;
mod backup;
mod client;
mod context;
mod db;
mod excerpt;
mod http;
mod kind;
mod manual;
mod migrate;
mod monitor;
mod notify;
mod outcome;
mod process;
mod prometheus;
mod query;
mod restore;
mod rls;
mod rolling_restart;
#[cfg(test)]
mod scratch;
mod shell;
mod sql;
#[cfg(test)]
mod test_server;
mod wait;

/// The steps' one-line form of a database error (it lives at the crate root because the
/// PostgreSQL journal needs it too).
pub(crate) use crate::pg_error::sql_error;
pub use client::http_client;
pub use context::{Live, Progress, StepContext, StepStarts};
pub use db::Databases;
pub use excerpt::Excerpt;
pub(crate) use http::check;
pub use kind::{Verdict, describe, execute, has_own_undo, own_undo, probe, revert, verdict};
#[cfg(test)]
pub(crate) use migrate::applied_migrations;
pub use monitor::monitor_windows;
pub(crate) use monitor::watch;
pub use notify::{ApprovalRequest, NotifyPayload, deliver};
pub use outcome::{Failure, StepOutcome};
pub(crate) use process::{group_runs, leader_start};
