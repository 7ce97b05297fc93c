//! The journal in PostgreSQL, for teams: the same entries in a table, the lock a
//! session-level advisory lock that PostgreSQL releases when its holder dies.
//!
//! Theory of operation: `target` is the address (URL plus journal name, password masked in
//! every message); `schema` creates and versions the tables; `store` reads and appends
//! entries, each append committed with `synchronous_commit` on before it is reported;
//! `cause` reads a failure's SQLSTATE so the hint names the real problem;
//! `lock` takes the advisory lock on the session that appends, keeps a holder row with a
//! heartbeat, and inspects or clears it for `status` and `unlock`.

mod cause;
mod latest;
mod lock;
mod schema;
mod store;
mod target;

pub use cause::DbCause;
pub use latest::latest_journal;
pub use lock::{HEARTBEAT, PgSession, acquire, clear_stale, inspect};
pub use schema::SCHEMA_VERSION;
pub use store::{Commit, append, flush, read, read_on, replace};
pub use target::PgTarget;
