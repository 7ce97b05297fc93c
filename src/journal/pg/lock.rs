//! The PostgreSQL journal's lock: a session-level advisory lock on one dedicated connection,
//! plus a holder row that a background task keeps fresh.
//!
//! Theory of operation: `pg_try_advisory_lock(key)` (key: a hash of the journal name) either
//! succeeds at once or names the holder from `deployctl_lock_holder`, so a second run fails
//! fast. The lock belongs to the session: when the holder dies, or its connection is cut,
//! PostgreSQL itself releases it and the next run goes on. The same session appends the
//! entries, so a process that lost its lock cannot write another entry.
//!
//! The session is also a lease: a task refreshes the row's `heartbeat` every [`HEARTBEAT`]
//! on the lock's own session. When that fails or hangs past [`HEARTBEAT`], the session (and
//! with it the lock) is taken as lost: [`PgSession::lost`] fires and the runner stops its
//! step at once. A runner that takes a lock whose previous holder's heartbeat is younger
//! than [`LEASE`] waits until it is that old first, so the step the previous holder was
//! running has been stopped before anything here can start it again. A row whose lock is
//! free is stale, whatever its heartbeat says.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection};
use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::schema;
use super::store::schema_error;
use super::target::PgTarget;
use crate::journal::lock::unknown_holder;
use crate::journal::{Holder, JournalError, LockState};

/// How often the holder row's heartbeat is refreshed, and how long a refresh may take
/// before the session counts as lost.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// How old a previous holder's heartbeat must be before a new holder goes on: more than a
/// refresh and its time limit, so a holder that lost its session has noticed it and
/// stopped its step.
pub const LEASE: Duration = Duration::from_secs(3);

/// A held PostgreSQL journal lock and the session that appends under it. Call
/// [`PgSession::release`] when done; if the process dies instead, PostgreSQL releases it.
pub struct PgSession {
    conn: Arc<Mutex<PgConnection>>,
    target: PgTarget,
    heartbeat: Heartbeat,
    lost: CancellationToken,
}

/// The heartbeat task and its stop signal. Dropped without [`PgSession::release`] (an early
/// return), it aborts the task; the session's connection closes with it, which frees the
/// lock, and the row is left behind as after a crash.
struct Heartbeat {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for PgSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSession").field("target", &self.target).finish()
    }
}

/// Takes the journal's lock for `holder`, or says who has it.
pub async fn acquire(target: &PgTarget, holder: &Holder) -> Result<PgSession, JournalError> {
    let mut conn = target.connect("journal").await?;
    schema::ensure(&mut conn).await.map_err(|e| schema_error(target, e))?;
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(target.lock_key())
        .fetch_one(&mut conn)
        .await
        .map_err(|e| target.failed("take the lock", &e))?;
    if !got {
        let recorded = read_holder(&mut conn, target).await?.unwrap_or_else(unknown_holder);
        let _ = conn.close().await;
        return Err(JournalError::Locked {
            path: target.path(),
            holder: Box::new(recorded),
        });
    }
    wait_for_lease(&mut conn, target).await?;
    sqlx::query(
        "INSERT INTO deployctl_lock_holder (journal, pid, host, operator, command, since, heartbeat)
         VALUES ($1, $2, $3, $4, $5, $6::timestamptz, now())
         ON CONFLICT (journal) DO UPDATE SET pid = $2, host = $3, operator = $4, command = $5,
             since = $6::timestamptz, heartbeat = now()",
    )
    .bind(target.name())
    .bind(i32::try_from(holder.pid).unwrap_or(i32::MAX))
    .bind(&holder.host)
    .bind(&holder.operator)
    .bind(&holder.command)
    .bind(holder.since.to_rfc3339())
    .execute(&mut conn)
    .await
    .map_err(|e| target.failed("record the lock holder", &e))?;
    let conn = Arc::new(Mutex::new(conn));
    let lost = CancellationToken::new();
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(beat(conn.clone(), target.clone(), stopped, lost.clone()));
    Ok(PgSession {
        conn,
        target: target.clone(),
        heartbeat: Heartbeat { stop: Some(stop), task },
        lost,
    })
}

/// Waits until the previous holder's heartbeat is at least [`LEASE`] old (see the module
/// doc). A holder that released its lock deleted its row: nothing to wait for then.
async fn wait_for_lease(conn: &mut PgConnection, target: &PgTarget) -> Result<(), JournalError> {
    let deadline = tokio::time::Instant::now() + LEASE + HEARTBEAT;
    loop {
        let age: Option<f64> = sqlx::query_scalar(
            "SELECT extract(epoch FROM now() - heartbeat)::float8 FROM deployctl_lock_holder WHERE journal = $1",
        )
        .bind(target.name())
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| target.failed("read the previous holder's heartbeat", &e))?;
        let wait = match age {
            Some(age) if age < LEASE.as_secs_f64() => Duration::from_secs_f64(LEASE.as_secs_f64() - age),
            _ => return Ok(()),
        };
        if tokio::time::Instant::now() >= deadline {
            return Ok(());
        }
        tokio::time::sleep(wait.min(LEASE)).await;
    }
}

impl PgSession {
    /// The session holding the lock, for appends (shared with the heartbeat).
    pub async fn conn(&self) -> MutexGuard<'_, PgConnection> {
        self.conn.lock().await
    }

    /// Fires when the session, and so the lock, is lost: the runner must stop its step.
    pub fn lost(&self) -> CancellationToken {
        self.lost.clone()
    }

    /// The journal.
    pub fn target(&self) -> &PgTarget {
        &self.target
    }

    /// Stops the heartbeat, deletes the holder row and releases the lock. A session the
    /// database already cut is left as it is: its lock is gone, its row is stale.
    pub async fn release(mut self) {
        if let Some(stop) = self.heartbeat.stop.take() {
            let _ = stop.send(());
            let _ = (&mut self.heartbeat.task).await;
        }
        let mut conn = self.conn.lock().await;
        let _ = sqlx::query("DELETE FROM deployctl_lock_holder WHERE journal = $1")
            .bind(self.target.name())
            .execute(&mut *conn)
            .await;
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.target.lock_key())
            .execute(&mut *conn)
            .await;
        drop(conn);
        // The heartbeat has ended, so this is the connection's only owner.
        if let Ok(conn) = Arc::try_unwrap(self.conn) {
            let _ = conn.into_inner().close().await;
        }
    }
}

/// Refreshes the holder row's heartbeat on the lock's own session until told to stop. A
/// refresh that fails or takes longer than [`HEARTBEAT`] means the session is gone (or as
/// good as gone): `lost` fires and the heartbeat ends.
async fn beat(
    conn: Arc<Mutex<PgConnection>>,
    target: PgTarget,
    mut stop: oneshot::Receiver<()>,
    lost: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = &mut stop => return,
            () = tokio::time::sleep(HEARTBEAT) => {
                let refresh = async {
                    let mut conn = conn.lock().await;
                    sqlx::query("UPDATE deployctl_lock_holder SET heartbeat = now() WHERE journal = $1")
                        .bind(target.name())
                        .execute(&mut *conn)
                        .await
                        .map(|_| ())
                };
                let failure = match tokio::time::timeout(HEARTBEAT, refresh).await {
                    Ok(Ok(())) => continue,
                    Ok(Err(e)) => target.failed("refresh the lock's heartbeat", &e).to_string(),
                    Err(_) => format!("the lock's heartbeat took longer than {}s", HEARTBEAT.as_secs()),
                };
                tracing::warn!(%failure, "journal session lost");
                lost.cancel();
                return;
            }
        }
    }
}

/// Looks at the lock without taking it: `pg_locks` says whether a session holds it.
pub async fn inspect(target: &PgTarget) -> Result<LockState, JournalError> {
    let mut conn = target.connect("journal reader").await?;
    if !schema::check(&mut conn).await.map_err(|e| schema_error(target, e))? {
        return Ok(LockState::Free);
    }
    let key = target.lock_key() as u64;
    let held: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_locks
             WHERE locktype = 'advisory' AND granted AND objsubid = 1
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND classid = $1::bigint::oid AND objid = $2::bigint::oid)",
    )
    .bind((key >> 32) as i64)
    .bind((key & 0xffff_ffff) as i64)
    .fetch_one(&mut conn)
    .await
    .map_err(|e| target.failed("inspect the lock", &e))?;
    let recorded = read_holder(&mut conn, target).await?;
    let _ = conn.close().await;
    Ok(match (held, recorded) {
        (true, holder) => LockState::Held(holder.unwrap_or_else(unknown_holder)),
        (false, Some(holder)) => LockState::Stale(holder),
        (false, None) => LockState::Free,
    })
}

/// Deletes a stale holder row; refuses (naming the holder) while a session holds the lock.
pub async fn clear_stale(target: &PgTarget) -> Result<Option<Holder>, JournalError> {
    let mut conn = target.connect("journal").await?;
    if !schema::check(&mut conn).await.map_err(|e| schema_error(target, e))? {
        return Ok(None);
    }
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(target.lock_key())
        .fetch_one(&mut conn)
        .await
        .map_err(|e| target.failed("take the lock", &e))?;
    let recorded = read_holder(&mut conn, target).await?;
    if !got {
        let _ = conn.close().await;
        return Err(JournalError::Locked {
            path: target.path(),
            holder: Box::new(recorded.unwrap_or_else(unknown_holder)),
        });
    }
    sqlx::query("DELETE FROM deployctl_lock_holder WHERE journal = $1")
        .bind(target.name())
        .execute(&mut conn)
        .await
        .map_err(|e| target.failed("clear the holder row", &e))?;
    let _ = conn.close().await;
    Ok(recorded)
}

async fn read_holder(conn: &mut PgConnection, target: &PgTarget) -> Result<Option<Holder>, JournalError> {
    type Row = (i32, String, String, String, String, String);
    let row: Option<Row> = sqlx::query_as(
        "SELECT pid, host, operator, command, to_json(since)#>>'{}', to_json(heartbeat)#>>'{}'
         FROM deployctl_lock_holder WHERE journal = $1",
    )
    .bind(target.name())
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| target.failed("read the lock holder", &e))?;
    Ok(row.map(|(pid, host, operator, command, since, heartbeat)| Holder {
        pid: u32::try_from(pid).unwrap_or(0),
        host,
        since: timestamp(&since).unwrap_or_else(Utc::now),
        command,
        operator,
        heartbeat: timestamp(&heartbeat),
    }))
}

fn timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}
