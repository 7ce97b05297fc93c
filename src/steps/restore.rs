//! `restore`: the dump a `backup` step of this run wrote, restored over its database.
//!
//! Theory of operation: the backup's journaled record ([`BackupRecord`]: file, sha256, row
//! counts) is the only source of truth, so a restore can only restore what this run backed
//! up. The file's sha256 is checked against the record first (a file replaced or damaged
//! since is refused before anything is touched). Then `pg_restore --clean --if-exists
//! --single-transaction --exit-on-error` replaces every object the archive holds, in ONE
//! transaction: a failure leaves the database as it was. Finally every table of the backup
//! is counted and compared with the counts the backup recorded (`verify: restore` records
//! them; after `verify: list` there are none to compare, and the detail says so). Objects
//! created after the backup and absent from the archive are left alone. Destructive: what
//! was written since the backup is lost, so `validate` wants a gate before it.

use std::collections::BTreeMap;

use sqlx::{Connection, PgConnection};

use super::backup::tools::{RowCounts, command, describe, digest, run, total, url_password};
use super::backup::{BackupRecord, connection_args, row_counts};
use super::kind::{Kind, Verdict};
use super::process::io_reason;
use super::{Excerpt, Failure, StepContext, StepOutcome, sql_error};
use crate::runbook::Runbook;
use crate::runbook::model::Restore;

/// The restoring program, looked up on `PATH`.
const PG_RESTORE: &str = "pg_restore";

impl Kind for Restore {
    fn describe(&self, _runbook: &Runbook) -> String {
        format!(
            "pg_restore database {} from the dump of `{}` (destructive: writes since that backup are lost)",
            self.database, self.from
        )
    }

    fn verdict(&self) -> Verdict {
        Verdict::Simulated
    }

    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        match self.restore(ctx).await {
            Ok((detail, output)) => StepOutcome::Done {
                detail: Some(ctx.redactor.mask(&detail).into_owned()),
                output: Some(ctx.redactor.mask(&output).into_owned()),
            },
            Err((failure, output)) => {
                StepOutcome::failed_with_output(failure.masked(ctx.redactor), output.render(ctx.redactor))
            }
        }
    }
}

type Failed = (Failure, Excerpt);

fn failed(failure: impl Into<Failure>) -> Failed {
    (failure.into(), Excerpt::new())
}

impl Restore {
    async fn restore(&self, ctx: &StepContext<'_>) -> Result<(String, String), Failed> {
        let record = self.record(ctx)?;
        let (_, sha256) = digest(&record.file).await.map_err(|e| {
            failed(format!(
                "cannot read the dump `{}`: {}",
                record.file.display(),
                io_reason(&e)
            ))
        })?;
        if !sha256.eq_ignore_ascii_case(&record.sha256) {
            return Err(failed(
                Failure::new(format!(
                    "the dump `{}` changed since `{}` wrote it: sha256 {sha256}, the journal says {}",
                    record.file.display(),
                    self.from,
                    record.sha256
                ))
                .with_hint("nothing was restored; find the original dump (its sha256 is in the journal) and restore it by hand"),
            ));
        }
        self.pg_restore(ctx, &record).await?;
        let restored = self.count(ctx).await.map_err(failed)?;
        let detail = self.compare(&record, &restored)?;
        let output = serde_json::json!({ "file": record.file, "sha256": sha256, "rows": restored }).to_string();
        Ok((detail, output))
    }

    /// The backup's record from this run's journal.
    fn record(&self, ctx: &StepContext<'_>) -> Result<BackupRecord, Failed> {
        let outputs = ctx.live.map(|live| live.outputs);
        let Some(output) = outputs.and_then(|o| o.get(&self.from)) else {
            return Err(failed(
                Failure::new(format!(
                    "backup step `{}` has not completed in this run: there is no dump to restore",
                    self.from
                ))
                .with_hint(
                    "a restore restores only a backup its own run made; restore an older dump by hand with pg_restore",
                ),
            ));
        };
        BackupRecord::parse(output).ok_or_else(|| {
            failed(format!(
                "the journal's record of `{}` is not a backup record (file, size, sha256)",
                self.from
            ))
        })
    }

    async fn pg_restore(&self, ctx: &StepContext<'_>, record: &BackupRecord) -> Result<(), Failed> {
        let options = ctx.databases.options(&self.database).map_err(failed)?;
        let password = ctx.databases.url(&self.database).and_then(url_password);
        let database = options.get_database().unwrap_or("postgres").to_string();
        let mut restore = command(PG_RESTORE, &options, password.as_deref());
        restore
            .args(connection_args(&options, &database))
            .args(["--clean", "--if-exists", "--single-transaction", "--exit-on-error"])
            .arg(&record.file);
        let mut stderr = Excerpt::new();
        let status = run(restore, PG_RESTORE, &mut |_| {}, &mut |b| stderr.push(b))
            .await
            .map_err(failed)?;
        if status.success() {
            return Ok(());
        }
        let failure = Failure::new(format!(
            "`pg_restore` of `{}` into database `{}` {}; it ran in one transaction, so the database is as it was",
            record.file.display(),
            self.database,
            describe(status)
        ))
        .with_hint("see the output for the statement that failed (an object the archive does not own that depends on a restored one, a role that is missing)");
        Err((failure, stderr))
    }

    async fn count(&self, ctx: &StepContext<'_>) -> Result<RowCounts, String> {
        let options = ctx.databases.options(&self.database)?;
        let mut conn = PgConnection::connect_with(&options)
            .await
            .map_err(|e| ctx.databases.connect_error(&self.database, &e))?;
        let counts = row_counts(&mut conn).await;
        let _ = conn.close().await;
        counts.map_err(|e| {
            format!(
                "cannot count the rows of database `{}`: {}",
                self.database,
                sql_error(&e)
            )
        })
    }

    /// Compares the backup's tables with what the database holds now; the detail.
    fn compare(&self, record: &BackupRecord, restored: &RowCounts) -> Result<String, Failed> {
        let file = record.file.display();
        let Some(expected) = &record.rows else {
            return Ok(format!(
                "restored {file} into database `{}` ({} tables, {} rows; the backup recorded no row counts to compare: `verify: restore` records them)",
                self.database,
                restored.len(),
                total(restored)
            ));
        };
        let now: BTreeMap<String, i64> = expected
            .keys()
            .filter_map(|table| restored.get(table).map(|n| (table.clone(), *n)))
            .collect();
        let differ = super::backup::tools::differences(expected, &now, "after the restore");
        if !differ.is_empty() {
            return Err(failed(
                Failure::new(format!(
                    "database `{}` does not hold the backup's rows after the restore: {}",
                    self.database,
                    differ.join("; ")
                ))
                .with_hint("check the database by hand before letting anyone write to it"),
            ));
        }
        Ok(format!(
            "restored {file} into database `{}`: {} tables, {} rows, counts equal to the backup's",
            self.database,
            expected.len(),
            total(expected)
        ))
    }
}
