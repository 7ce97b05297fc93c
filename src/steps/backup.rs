//! `backup`: `pg_dump --format=custom` of a runbook database into `dir`, verified with
//! `pg_restore --list` (`verify: list`, the default) or by a restore into a scratch database
//! whose per-table row counts must equal those of the dump's own snapshot (`verify:
//! restore`), reported with its size and sha256 and journaled as a [`BackupRecord`].
//!
//! Theory of operation: the dump is written to `<name>.dump.partial` and renamed to
//! `<name>.dump` only once it verified, so a `.dump` file in `dir` is
//! always a verified one. A [`PartialFile`] guard deletes the partial file on every other
//! way out (failure, verify failure, the engine dropping the future). Host, port, user and
//! database go on the command line; the password goes only through `PGPASSWORD` (argv is
//! visible to every local user in `ps`), and `--no-password` makes a missing or wrong
//! password fail instead of prompting. Children lead their own process group, SIGKILLed when
//! the guard drops, as in the `shell` step.
//!
//! The programs are fields of [`Programs`] rather than a `PATH` lookup hook: production
//! uses `pg_dump`/`pg_restore` from `PATH`, tests pass names that do not exist.

mod counts;
mod failure;
mod file;
mod list;
mod pg;
mod record;
mod snapshot;
#[cfg(test)]
mod tests;
mod trial;

use std::io;
use std::process::Stdio;
use std::time::Duration;

use indicatif::HumanBytes;
use tokio::process::Command;

use self::counts::{RowCounts, differences, total};
use self::failure::{CLASSIFY_BYTES, dump_failure, lock_wait};
use self::file::{PartialFile, create_dir};
use self::pg::{args, command, not_installed, run, url_password};
use self::snapshot::Snapshot;
use super::kind::{Kind, rel_path};
use super::process::io_reason;
use super::{Excerpt, Failure, StepContext, StepOutcome};
use crate::redact::Redactor;
use crate::runbook::Runbook;
use crate::runbook::model::{Backup, BackupVerify};

pub(crate) use self::counts::row_counts;
pub(crate) use self::pg::connection_args;
pub(crate) use self::record::BackupRecord;
/// For the `restore` kind, which runs the same client programs the same way.
pub(crate) mod tools {
    pub(crate) use super::counts::{RowCounts, differences, total};
    pub(crate) use super::file::digest;
    pub(crate) use super::pg::{command, describe, run, url_password};
}

/// The dump program, looked up on `PATH`.
const PG_DUMP: &str = "pg_dump";
/// The verifying program, looked up on `PATH`.
const PG_RESTORE: &str = "pg_restore";

/// The programs a backup runs (tests substitute them).
struct Programs<'a> {
    pg_dump: &'a str,
    pg_restore: &'a str,
}

const PROGRAMS: Programs<'static> = Programs {
    pg_dump: PG_DUMP,
    pg_restore: PG_RESTORE,
};

/// The dry-run probe: `pg_dump` is installed and not older than the server, and the
/// database answers. Nothing is dumped.
async fn probe(backup: &Backup, ctx: &StepContext<'_>) -> Result<String, Failure> {
    let output = Command::new(PROGRAMS.pg_dump)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => not_installed(PROGRAMS.pg_dump),
            _ => Failure::new(format!("cannot start `{}`: {}", PROGRAMS.pg_dump, io_reason(&e))),
        })?;
    let version = String::from_utf8_lossy(&output.stdout);
    let dump_major = major(version.split_whitespace().last().unwrap_or(""));
    let pool = ctx.databases.pool(&backup.database, Duration::from_secs(5)).await?;
    let server: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&pool)
        .await
        .map_err(|e| format!("database `{}`: {}", backup.database, super::sql_error(&e)))?;
    let server_major = major(&server);
    match (dump_major, server_major) {
        (Some(d), Some(s)) if d < s => Err(Failure::new(format!(
            "pg_dump {d} is older than server {s}: it will refuse to dump"
        ))
        .with_hint(format!("apt-get install postgresql-client-{s}"))),
        _ => Ok(format!("pg_dump {} can dump server {}", version.trim(), server.trim())),
    }
}

/// The major version of "15.19 (Debian 15.19-0+deb12u1)" or "15.19".
fn major(version: &str) -> Option<u32> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .find(|p| !p.is_empty())?
        .parse()
        .ok()
}

impl Kind for Backup {
    fn describe(&self, runbook: &Runbook) -> String {
        let verify = match self.verify {
            BackupVerify::List => "",
            BackupVerify::Restore => ", verified by a restore into a scratch database",
        };
        format!(
            "pg_dump database {} into {}{verify}",
            self.database,
            rel_path(&self.dir, &runbook.workdir)
        )
    }

    /// `pg_dump` is installed and not older than the server, and the database answers.
    async fn probe(&self, ctx: &StepContext<'_>) -> Option<Result<String, Failure>> {
        Some(probe(self, ctx).await)
    }

    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        outcome(self.backup(ctx, &PROGRAMS).await, ctx.redactor)
    }
}

/// A backup's result as the step's outcome, masked.
fn outcome(result: Result<(String, BackupRecord), Failed>, redactor: &Redactor) -> StepOutcome {
    match result {
        Ok((detail, record)) => StepOutcome::Done {
            detail: Some(redactor.mask(&detail).into_owned()),
            output: Some(redactor.mask(&record.to_json()).into_owned()),
        },
        Err(failed) => StepOutcome::failed_with_output(failed.failure.masked(redactor), failed.output.render(redactor)),
    }
}

/// Why a backup failed, with what the failing program printed.
pub(crate) struct Failed {
    pub failure: Failure,
    pub output: Excerpt,
}

impl Failed {
    pub fn new(failure: impl Into<Failure>) -> Self {
        Failed {
            failure: failure.into(),
            output: Excerpt::new(),
        }
    }
}

impl Backup {
    async fn backup(&self, ctx: &StepContext<'_>, programs: &Programs<'_>) -> Result<(String, BackupRecord), Failed> {
        let name = &self.database;
        let options = ctx.databases.options(name).map_err(Failed::new)?;
        create_dir(&self.dir).map_err(Failed::new)?;
        let stamp = ctx.clock.now().format("%Y%m%dT%H%M%SZ");
        let file = self.dir.join(format!("{name}-{}-{stamp}.dump", ctx.run_id));
        let partial = PartialFile::new(file.with_extension("dump.partial"));
        let password = ctx.databases.url(name).and_then(url_password);
        let dump = Dump {
            programs,
            options: &options,
            password: password.as_deref(),
            target: format!("database `{name}` ({})", ctx.databases.describe(name)),
            file: partial.path(),
            lock_wait: lock_wait(ctx.timeout),
        };
        let (verified, rows) = match self.verify {
            BackupVerify::List => {
                dump.run(None).await?;
                (
                    list_detail(list::verify(programs.pg_restore, partial.path()).await?),
                    None,
                )
            }
            BackupVerify::Restore => {
                let rows = dump.verified_by_restore(name).await?;
                let detail = format!(
                    "verified by a restore into a scratch database: {} tables, {} rows, counts equal",
                    rows.len(),
                    total(&rows)
                );
                (detail, Some(rows))
            }
        };
        let (size, sha256) = file::digest(partial.path()).await.map_err(|e| {
            Failed::new(format!(
                "cannot read the dump `{}`: {}",
                partial.path().display(),
                io_reason(&e)
            ))
        })?;
        partial.keep_as(&file).map_err(|e| {
            Failed::new(format!(
                "cannot rename the dump to `{}`: {}",
                file.display(),
                io_reason(&e)
            ))
        })?;
        let detail = format!("{}, {}, sha256 {sha256} ({verified})", file.display(), HumanBytes(size));
        let record = BackupRecord {
            file,
            size,
            sha256,
            rows,
        };
        Ok((detail, record))
    }
}

fn list_detail(entries: u64) -> String {
    match entries {
        0 => "verified: no TOC entries, the database holds no objects".to_string(),
        n => format!("verified: {n} TOC entries"),
    }
}

/// One `pg_dump` of a database into a partial file.
struct Dump<'a> {
    programs: &'a Programs<'a>,
    options: &'a sqlx::postgres::PgConnectOptions,
    password: Option<&'a str>,
    target: String,
    file: &'a std::path::Path,
    lock_wait: Duration,
}

impl Dump<'_> {
    /// Runs `pg_dump` (sharing `snapshot` when given).
    async fn run(&self, snapshot: Option<&str>) -> Result<(), Failed> {
        let mut dump = command(self.programs.pg_dump, self.options, self.password);
        dump.args(args(self.options, self.file, self.lock_wait));
        if let Some(id) = snapshot {
            dump.arg(format!("--snapshot={id}"));
        }
        let mut stderr = Excerpt::new();
        let mut stderr_text = Vec::new();
        let status = run(dump, self.programs.pg_dump, &mut |_| {}, &mut |b| {
            stderr.push(b);
            if stderr_text.len() < CLASSIFY_BYTES {
                stderr_text.extend_from_slice(b);
            }
        })
        .await
        .map_err(Failed::new)?;
        if status.success() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&stderr_text);
        Err(Failed {
            failure: dump_failure(&self.target, self.options.get_username(), status, &text),
            output: stderr,
        })
    }

    /// `verify: restore`: dumps in an exported snapshot while counting its rows, restores
    /// the dump into a scratch database and compares the counts; the snapshot's counts.
    async fn verified_by_restore(&self, database: &str) -> Result<RowCounts, Failed> {
        let mut snapshot = Snapshot::export(self.options, database, self.lock_wait)
            .await
            .map_err(Failed::new)?;
        let id = snapshot.id.clone();
        let (dumped, counted) = tokio::join!(self.run(Some(&id)), snapshot.count(database));
        snapshot.end().await;
        dumped?;
        let expected = counted.map_err(Failed::new)?;
        let restored =
            trial::restore_and_count(self.programs.pg_restore, self.options, self.password, self.file).await?;
        let differ = differences(&expected, &restored, "restored");
        if differ.is_empty() {
            return Ok(expected);
        }
        Err(Failed::new(
            Failure::new(format!(
                "the dump did not restore every row: {}; the partial file `{}` was deleted",
                differ.join("; "),
                self.file.display()
            ))
            .with_hint(
                "the archive is unusable as a backup; run the backup again and look for errors in pg_dump's output",
            ),
        ))
    }
}
