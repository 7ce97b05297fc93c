//! `deployctl rollback` with no runbook: the latest run of the journal written last
//! ([`super::latest`]), its runbook found from the journal, named aloud, and confirmed (asked
//! on a terminal, `--yes` otherwise) before anything is undone.

use std::path::PathBuf;

use crate::cli::RollbackArgs;
use crate::commands::Ui;
use crate::commands::confirm::{ask, can_ask};
use crate::commands::latest::{latest_journal, runbook_of};
use crate::exit::Exit;
use crate::journal::latest_run;

/// The `Ui` addressing the chosen journal and the runbook to load, or the exit of a
/// refusal (already explained on stderr).
pub async fn choose(ui: &Ui, args: &RollbackArgs) -> Result<(Ui, PathBuf), Exit> {
    let chosen = latest_journal(ui).await.map_err(|message| {
        ui.err(&message);
        Exit::Invalid
    })?;
    let run = match chosen.journal.read().await {
        Ok(read) => latest_run(read.entries),
        Err(e) => return Err(crate::commands::report_journal_error(ui, &e)),
    };
    let Some(run) = run else {
        ui.err(&format!("deployctl rollback: no run recorded in `{}`", chosen.journal));
        ui.err("  hint: give the runbook to roll back (`deployctl rollback runbooks/x.yaml`)");
        return Err(Exit::Invalid);
    };
    let Some(runbook) = runbook_of(&run, &chosen.journal) else {
        ui.err(&format!(
            "deployctl rollback: cannot find the runbook file of run {} (runbook `{}`) of journal `{}`",
            run.run_id, run.runbook, chosen.journal
        ));
        ui.err("  hint: give the runbook file (`deployctl rollback runbooks/x.yaml`)");
        return Err(Exit::Invalid);
    };
    let what = format!(
        "run {} of runbook `{}` ({}), started {} by {}, journal `{}`",
        run.run_id,
        run.runbook,
        runbook.display(),
        run.started_at.format("%Y-%m-%d %H:%M UTC"),
        run.operator,
        chosen.journal
    );
    if args.dry_run || args.yes {
        ui.note(&format!("rolling back the latest {what}"));
    } else if can_ask() {
        if !ask(&format!("Roll back {what}?")) {
            ui.err("deployctl rollback: not confirmed; nothing was done");
            return Err(Exit::Invalid);
        }
    } else {
        ui.err(&format!("deployctl rollback: no runbook given; the latest is {what}"));
        ui.err("  hint: add --yes to roll that back, or give the runbook (`deployctl rollback runbooks/x.yaml`)");
        return Err(Exit::Invalid);
    }
    Ok((chosen.ui(ui), runbook))
}
