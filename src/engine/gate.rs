//! Gates: `approval` and `manual` steps pass when the journal holds an approval for them.
//!
//! Without one the run pauses (exit 3) and says exactly what to type. The rules about who may
//! approve (separation of duties, `from`, `ttl`, digests) are applied by `deployctl approve`
//! when the approval is given, so an approval in the journal is one that was allowed.

use std::path::Path;

use crate::event::ApprovalKind;
use crate::journal::RunState;
use crate::runbook::Loaded;
use crate::runbook::model::{Step, StepKind};

/// What the journal says about a gate.
pub(super) enum GateDecision {
    /// Approved or confirmed.
    Passed {
        /// Who, as what (for the journal).
        reason: String,
    },
    /// Still waiting.
    Waiting {
        /// What it waits for.
        reason: String,
        /// The command that unblocks it.
        hint: String,
    },
}

/// `None` when `step` is not a gate.
pub(super) fn decide_gate(step: &Step, run: Option<&RunState>, loaded: &Loaded, file: &Path) -> Option<GateDecision> {
    let (what, role, ttl) = match &step.kind {
        StepKind::Approval(a) => (format!("approval by role {}", a.role), Some(a.role.clone()), a.ttl),
        StepKind::Manual(m) => (format!("confirmation: {}", m.text), None, None),
        _ => return None,
    };
    let now = super::clock::now();
    let valid = run
        .map(|r| r.approvals_for(&step.id, ApprovalKind::Gate, None))
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.runbook_sha256 == loaded.sha256);
    let (fresh, expired): (Vec<_>, Vec<_>) =
        valid.partition(|a| ttl.is_none_or(|ttl| chrono::Duration::from_std(ttl).is_ok_and(|ttl| now - a.at <= ttl)));
    let given = fresh.last();
    let what = match (expired.last(), ttl) {
        (Some(old), Some(ttl)) if given.is_none() => format!(
            "{what} (the approval by {} at {} expired: ttl {})",
            old.by,
            old.at.format("%Y-%m-%d %H:%M UTC"),
            crate::runbook::duration::format(ttl)
        ),
        _ => what,
    };
    Some(match given {
        Some(a) => Passed {
            reason: format!(
                "approved by {}{}",
                a.by,
                role.map(|r| format!(" as {r}")).unwrap_or_default()
            ),
        },
        None => Waiting {
            reason: format!("step `{}` awaits {what}", step.id),
            hint: format!(
                "deployctl approve {} {} --by NAME [--note TEXT], then run again",
                file.display(),
                step.id
            ),
        },
    })
}

use GateDecision::{Passed, Waiting};

/// What the operator said at the terminal to a `manual` checkbox.
pub(super) enum Confirmation {
    /// Confirmed (journaled as the operator's approval).
    Yes,
    /// Declined, or answered anything but yes.
    No,
    /// Nobody can be asked (no terminal, JSON output, not a `manual` step).
    Unavailable,
    /// A signal came while waiting for the answer.
    Interrupted,
}

impl<O: super::observer::Observer> super::executor::Executor<'_, O> {
    /// Asks the operator to confirm a `manual` checkbox at the terminal; a yes is journaled
    /// as an approval by the operator, so the checkbox records who ticked it.
    pub(super) async fn confirm_at_terminal(&mut self, step: &Step) -> Result<Confirmation, super::outcome::RunError> {
        let StepKind::Manual(manual) = &step.kind else {
            return Ok(Confirmation::Unavailable);
        };
        let question = format!(
            "  [?] {}: {}\n      confirm as {}?",
            step.id, manual.text, self.options.operator
        );
        let Some(answer) = self.observer.ask(&question) else {
            return Ok(Confirmation::Unavailable);
        };
        let cancel = self.cancel.clone();
        let line = tokio::select! {
            line = answer => line.ok().flatten(),
            _ = cancel.cancelled() => return Ok(Confirmation::Interrupted),
        };
        let yes = line.is_some_and(|l| matches!(l.trim().to_ascii_lowercase().as_str(), "y" | "yes"));
        if !yes {
            return Ok(Confirmation::No);
        }
        self.record(crate::event::Event::Approval {
            step: step.id.clone(),
            kind: ApprovalKind::Gate,
            by: self.options.operator.clone(),
            role: None,
            note: Some("confirmed at the terminal".to_string()),
            host: self.options.host.clone(),
            runbook_sha256: self.loaded.sha256.clone(),
        })?;
        Ok(Confirmation::Yes)
    }

    /// Journals a gate that passes: a start and a done finish with who passed it.
    pub(super) fn pass_gate(&mut self, step: &Step, reason: String) -> Result<(), super::outcome::RunError> {
        self.record(crate::event::Event::StepStarted {
            step: step.id.clone(),
            attempt: 1,
        })?;
        self.record(crate::event::Event::StepFinished {
            step: step.id.clone(),
            status: crate::event::StepStatus::Done,
            attempts: 1,
            duration_ms: 0,
            reason: Some(reason),
            output: None,
            undo: None,
        })
    }

    /// A gate that waits: ask at the terminal if possible, else pause. `Some` stops the run.
    pub(super) async fn waiting_gate(
        &mut self,
        step: &Step,
        reason: String,
        hint: String,
    ) -> Result<Option<super::outcome::RunOutcome>, super::outcome::RunError> {
        match self.confirm_at_terminal(step).await? {
            Confirmation::Yes => {
                let by = format!("confirmed by {} at the terminal", self.options.operator);
                self.pass_gate(step, by)?;
                Ok(None)
            }
            Confirmation::No => self
                .pause(step, format!("{reason} (not confirmed at the terminal)"), hint)
                .map(Some),
            Confirmation::Unavailable => self.pause(step, reason, hint).map(Some),
            Confirmation::Interrupted => self.interrupted(Some(&step.id)).map(Some),
        }
    }
}
