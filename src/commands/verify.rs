//! `deployctl verify RUNBOOK`: re-verifies every approval in the runbook's journal, offline,
//! for an auditor: each approval's statement is rebuilt from the journal and its signature
//! checked against the runbook's allowed signers. Prints who signed what with which key;
//! exit 1 when any signature fails (or a gate approval is unsigned under
//! `require_signature: true`), 0 otherwise.

use std::collections::BTreeMap;

use crate::cli::VerifyArgs;
use crate::commands::{Ui, journal_for, load_runbook, report_journal_error};
use crate::engine::proof::{Proof, needs_signature, proof};
use crate::event::{Entry, Event};
use crate::exit::Exit;
use crate::journal::ApprovalRecord;
use crate::runbook::model::Approvals;

/// Counts of one verification.
#[derive(Default)]
struct Tally {
    verified: usize,
    unsigned: usize,
    failed: usize,
}

/// Verifies and prints.
pub async fn verify(ui: &Ui, env: &BTreeMap<String, String>, args: &VerifyArgs) -> Exit {
    let Some(loaded) = load_runbook(ui, env, &args.runbook) else {
        return Exit::Invalid;
    };
    let journal = journal_for(ui, &args.runbook, &loaded.runbook.name);
    let read = match journal.read().await {
        Ok(r) => r,
        Err(e) => return report_journal_error(ui, &e),
    };
    let approvals = &loaded.runbook.approvals;
    let signers = approvals.allowed_signers.as_ref().map_or_else(
        || "none (the runbook names no `approvals.allowed_signers`)".to_owned(),
        |p| format!("`{}`", p.display()),
    );
    ui.out(&format!("journal `{journal}`, allowed signers {signers}"));
    let mut tally = Tally::default();
    let mut run = String::new();
    for (i, (entry, record)) in read
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| ApprovalRecord::of(&e.event, e.at).map(|r| (i, (e, r))))
    {
        if entry.run_id != run {
            run.clone_from(&entry.run_id);
            ui.out(&format!("run {run}"));
        }
        let withdrawn = if withdrawn(&read.entries[i..], entry, &record.step) {
            " (withdrawn)"
        } else {
            ""
        };
        ui.out(&format!("{}{withdrawn}", line(&record, &run, approvals, &mut tally)));
    }
    let total = tally.verified + tally.unsigned + tally.failed;
    ui.out(&format!(
        "{total} approvals: {} signed and verified, {} unsigned, {} failed",
        tally.verified, tally.unsigned, tally.failed
    ));
    if tally.failed > 0 {
        Exit::StepFailed
    } else {
        Exit::Success
    }
}

/// Whether a later `approval_revoked` of the same run withdrew the approval of `step`.
fn withdrawn(later: &[Entry], approval: &Entry, step: &str) -> bool {
    later
        .iter()
        .any(|e| e.run_id == approval.run_id && matches!(&e.event, Event::ApprovalRevoked { step: s, .. } if s == step))
}

/// `  ok  STEP as ROLE by NAME at TIME: signed by PRINCIPAL, key FINGERPRINT`.
fn line(a: &ApprovalRecord, run_id: &str, approvals: &Approvals, tally: &mut Tally) -> String {
    let role = a.role.as_deref().map(|r| format!(" as {r}")).unwrap_or_default();
    let what = format!(
        "`{}`{role} by {} at {}",
        a.step,
        a.by,
        a.at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    match proof(a, run_id, approvals) {
        Proof::Signed(v) => {
            tally.verified += 1;
            format!("  ok        {what}: signed by {}, key {}", v.principal, v.fingerprint)
        }
        Proof::Invalid(why) => {
            tally.failed += 1;
            format!("  FAILED    {what}: {why}")
        }
        Proof::Unsigned if approvals.require_signature && needs_signature(a) => {
            tally.failed += 1;
            format!("  FAILED    {what}: unsigned, and the runbook requires signed approvals")
        }
        Proof::Unsigned => {
            tally.unsigned += 1;
            format!("  unsigned  {what}")
        }
    }
}
