//! The journal: an append-only JSON Lines file of [`Entry`]s, fsynced before anything it
//! records is reported, folded into the state of the latest run, and locked while a run or
//! a rollback is active.
//!
//! Theory of operation: `writer` appends one line and `fsync`s it; `reader` parses lines,
//! dropping a torn last line (a crash mid-write) with a warning and refusing any other bad
//! line by number; `state` folds the entries of the latest run; `lock` holds an advisory
//! file lock plus a holder record so a second run can say who is in the way. `pg` keeps the
//! same entries in PostgreSQL with an advisory lock; `target` (where a journal lives) and
//! `locked` (a journal this process holds) are the seam every command goes through.
//!
//! [`Entry`]: crate::event::Entry

mod error;
mod fold;
mod history;
mod ignore;
mod lock;
mod locked;
mod pg;
mod reader;
mod records;
mod safe_path;
mod state;
mod target;
mod writer;

pub use error::JournalError;
pub use fold::{fold, latest_run};
pub use lock::{Holder, JournalLock, LockState, acquire, clear_stale, inspect, lock_path};
pub use locked::{Durable, LockedJournal};
pub use pg::{DbCause, HEARTBEAT, PgTarget, SCHEMA_VERSION, latest_journal};
pub use reader::{JournalRead, parse, read};
pub use state::{
    ApprovalRecord, ClockRecord, HistoryKind, HistoryRecord, ProcessRecord, RollbackState, RunState, ServiceRecord,
    StepState, StepView, WindowRecord,
};
pub use target::JournalTarget;
pub use writer::JournalWriter;
