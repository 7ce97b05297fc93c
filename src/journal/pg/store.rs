//! The journal's entries in the `deployctl_journal` table: one row per entry, keyed by the
//! journal's name and an ordered sequence, the entry kept as the same JSON as a file's line.
//!
//! Every append is its own transaction, committed with `synchronous_commit` on before the
//! caller hears back: what the operator saw is in the database's WAL on disk. The sequence is
//! the next number after the journal's last; writers hold the journal's advisory lock, and
//! the primary key refuses a second writer that does not.
//!
//! PostgreSQL's text cannot hold a NUL character: `json` stores `\u0000` but every operator
//! that reads inside it (`entry->'event'`, this module's own `->>'type'`) fails with SQLSTATE
//! 22P05. Step output may hold NUL bytes, so each NUL of an entry is stored as `␀` (U+2400
//! SYMBOL FOR NULL): visibly replaced, never lost silently, and the table stays queryable.

use sqlx::{Connection, PgConnection};

use super::schema::{self, SchemaProblem};
use super::target::PgTarget;
use crate::event::Entry;
use crate::journal::JournalError;
use crate::journal::reader::{JournalRead, check_entry};

/// Reads every entry of the journal, in order (its own short session).
pub async fn read(target: &PgTarget) -> Result<JournalRead, JournalError> {
    let mut conn = target.connect("journal reader").await?;
    let exists = schema::check(&mut conn).await.map_err(|e| schema_error(target, e))?;
    let read = if exists {
        read_on(&mut conn, target).await?
    } else {
        JournalRead::default()
    };
    let _ = conn.close().await;
    Ok(read)
}

/// Reads every entry of the journal on an open session (which has checked the schema).
pub async fn read_on(conn: &mut PgConnection, target: &PgTarget) -> Result<JournalRead, JournalError> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, entry::text FROM deployctl_journal WHERE journal = $1 ORDER BY seq")
            .bind(target.name())
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| target.failed("read the entries", &e))?;
    let mut out = JournalRead {
        exists: !rows.is_empty(),
        ..Default::default()
    };
    for (seq, text) in rows {
        let line = usize::try_from(seq).unwrap_or(usize::MAX);
        let entry = serde_json::from_str::<Entry>(&text).map_err(|e| JournalError::Corrupt {
            path: target.path(),
            line,
            message: e.to_string(),
        })?;
        check_entry(&target.path(), line, &entry)?;
        out.entries.push(entry);
    }
    Ok(out)
}

/// When an append's commit reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// The commit returns once the WAL is flushed (`synchronous_commit` on).
    Flushed,
    /// The commit returns at once (`synchronous_commit` off for this one transaction); the
    /// next flushed commit flushes the WAL up to itself, so this entry with it, in order:
    /// the file journal's unsynced write. Other sessions see the entry at once.
    WithNextFlush,
}

/// Appends one entry and returns once it is committed.
pub async fn append(
    conn: &mut PgConnection,
    target: &PgTarget,
    entry: &Entry,
    commit: Commit,
) -> Result<(), JournalError> {
    let sql = match commit {
        Commit::Flushed => INSERT,
        Commit::WithNextFlush => INSERT_WITH_NEXT_FLUSH,
    };
    insert(conn, sql, target, entry)
        .await
        .map_err(|e| target.failed("append an entry", &e))
}

/// Returns once every entry committed so far is flushed to the WAL on disk: a commit with
/// `synchronous_commit` on waits for the WAL up to its own record, which follows every
/// earlier commit. `txid_current()` gives the transaction an id, so it has a commit record
/// to wait for (a read-only statement would not).
pub async fn flush(conn: &mut PgConnection, target: &PgTarget) -> Result<(), JournalError> {
    sqlx::query("SELECT txid_current()")
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(|e| target.failed("flush its entries to disk", &e))
}

/// The next sequence number is computed in the statement: writers hold the journal's lock.
const INSERT: &str = "INSERT INTO deployctl_journal (journal, seq, at, run_id, event, entry)
     SELECT $1, coalesce(max(seq), 0) + 1, $2::timestamptz, $3, ($4::json)->'event'->>'type', $4::json
     FROM deployctl_journal WHERE journal = $1";

/// The same in one round trip, with `synchronous_commit` off for its own transaction only:
/// `set_config(.., true)` lasts until the statement's implicit commit, and "the behavior for
/// any one transaction is determined by the setting in effect when it commits" (PostgreSQL
/// docs). An aggregate without `GROUP BY` yields one row, so it runs exactly once; it adds
/// an empty string to `event`.
const INSERT_WITH_NEXT_FLUSH: &str = "INSERT INTO deployctl_journal (journal, seq, at, run_id, event, entry)
     SELECT $1, coalesce(max(seq), 0) + 1, $2::timestamptz, $3,
            (($4::json)->'event'->>'type') || left(set_config('synchronous_commit', 'off', true), 0), $4::json
     FROM deployctl_journal WHERE journal = $1";

/// Replaces the journal's entries with `entries` in one transaction (an import): all or
/// none, committed on return.
pub async fn replace(conn: &mut PgConnection, target: &PgTarget, entries: &[Entry]) -> Result<(), JournalError> {
    let failed = |e: sqlx::Error| target.failed("import the entries", &e);
    let mut tx = conn.begin().await.map_err(failed)?;
    sqlx::query("DELETE FROM deployctl_journal WHERE journal = $1")
        .bind(target.name())
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
    for entry in entries {
        insert(&mut tx, INSERT, target, entry).await.map_err(failed)?;
    }
    tx.commit().await.map_err(failed)
}

async fn insert(conn: &mut PgConnection, sql: &str, target: &PgTarget, entry: &Entry) -> Result<(), sqlx::Error> {
    let text = storable(entry).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(sql)
        .bind(target.name())
        .bind(entry.at.to_rfc3339())
        .bind(entry.run_id.replace('\0', NUL_SHOWN))
        .bind(text)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What a NUL character of an entry is stored as.
pub const NUL_SHOWN: &str = "\u{2400}";

/// The entry's JSON with every NUL (in keys and strings) replaced by [`NUL_SHOWN`], field
/// order kept. serde_json writes a NUL as the escape `\u0000`; an escaped backslash before
/// `u0000` (the text `\\u0000`) is not one, so escapes are read pairwise.
fn storable(entry: &Entry) -> Result<String, serde_json::Error> {
    let text = serde_json::to_string(entry)?;
    if !text.contains("\\u0000") {
        return Ok(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let escape = &rest[i..];
        if let Some(after) = escape.strip_prefix("\\u0000") {
            out.push_str(NUL_SHOWN);
            rest = after;
        } else {
            // `\\` followed by one ASCII character: copy both, so an escaped backslash
            // never starts another escape.
            let len = escape.len().min(2);
            out.push_str(&escape[..len]);
            rest = &escape[len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// A schema problem as a journal error.
pub(super) fn schema_error(target: &PgTarget, problem: SchemaProblem) -> JournalError {
    match problem {
        SchemaProblem::Sql(e) => target.failed("check its tables", &e),
        SchemaProblem::Newer(found) => JournalError::Schema {
            journal: target.shown().to_string(),
            found,
            supported: schema::SCHEMA_VERSION,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(reason: &str) -> Entry {
        let line = serde_json::json!({
            "at": "2026-11-29T00:00:00Z",
            "run_id": "r",
            "event": { "type": "run_paused", "step": "s", "reason": reason },
        });
        serde_json::from_value(line).expect("an entry")
    }

    #[test]
    fn a_nul_is_stored_visibly_replaced_and_reads_back() {
        let text = storable(&entry("out\0put \\u0000 kept")).expect("encodes");
        assert!(!text.contains("\\u0000\""), "{text}");
        let back: Entry = serde_json::from_str(&text).expect("decodes");
        let again = serde_json::to_string(&back).expect("encodes");
        assert!(again.contains("out\u{2400}put \\\\u0000 kept"), "{again}");
    }

    #[test]
    fn an_entry_without_nul_is_stored_as_written() {
        let e = entry("plain \\u0000 text");
        assert_eq!(
            storable(&e).expect("encodes"),
            serde_json::to_string(&e).expect("encodes")
        );
    }
}
