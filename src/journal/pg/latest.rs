//! Which journal of a database was written last: what `status` and `rollback` use when no
//! runbook is given (the database holds one journal per runbook and environment).

use sqlx::Connection;

use super::schema;
use super::target::PgTarget;
use crate::journal::JournalError;

/// The name of the journal with the newest entry in the database at `url`, only among the
/// journals of `environment` (`NAME@ENV`) when one is given, as the file finder does, so
/// `--environment staging` never picks production's run; `None` when the database holds
/// no such journal (or no tables yet).
pub async fn latest_journal(url: &str, environment: Option<&str>) -> Result<Option<String>, JournalError> {
    let probe = PgTarget::new(url, "*");
    let mut conn = probe.connect("journal finder").await?;
    let exists = schema::check(&mut conn)
        .await
        .map_err(|e| super::store::schema_error(&probe, e))?;
    let name = if exists {
        // `right(...)`, not LIKE: an environment's `_` is no wildcard.
        sqlx::query_scalar(
            "SELECT journal FROM deployctl_journal
             WHERE $1::text IS NULL OR right(journal, length($1)) = $1
             ORDER BY at DESC, seq DESC LIMIT 1",
        )
        .bind(environment.map(|env| format!("@{env}")))
        .fetch_optional(&mut conn)
        .await
        .map_err(|e| probe.failed("find the latest journal", &e))?
    } else {
        None
    };
    let _ = conn.close().await;
    Ok(name)
}
