//! The driver's gate actions: a gate that passes is journaled as a start and a done
//! finish; a `manual` gate is asked at the terminal when there is one, else the run pauses.

use super::Driver;
use crate::engine::observer::Observer;
use crate::engine::outcome::{RunError, RunOutcome};
use crate::engine::plan::PlanStep;
use crate::engine::recorder::Durability;
use crate::event::{ApprovalKind, Event, StepStatus};
use crate::runbook::model::StepKind;

impl<'p, 'a, O: Observer> Driver<'_, 'p, 'a, O> {
    /// Journals a gate that passes: a start and a done finish with who passed it.
    pub(super) fn pass_gate(&mut self, step: &PlanStep<'a>, reason: String) -> Result<(), RunError> {
        let id = step.id.clone();
        self.rec
            .record(Event::StepStarted { step: id, attempt: 1 }, Durability::BeforeNext)?;
        let finished = Event::StepFinished {
            step: step.id.clone(),
            status: StepStatus::Done,
            attempts: 1,
            duration_ms: 0,
            reason: Some(reason),
            output: None,
            undo: None,
            escalation: None,
        };
        self.rec.record(finished, Durability::Now)
    }

    /// A gate that waits: a `manual` checkbox is asked at the terminal when one is there
    /// (a yes is journaled as the operator's approval), else the run pauses.
    pub(super) async fn await_gate(
        &mut self,
        step: &PlanStep<'a>,
        reason: String,
        hint: String,
    ) -> Result<Option<RunOutcome>, RunError> {
        let StepKind::Manual(manual) = &step.step().kind else {
            let outcome = self.pause(step, reason, hint)?;
            return self.stop(outcome).await.map(Some);
        };
        self.rec.settle()?;
        let operator = self.options.operator.clone();
        let question = format!("  [?] {}: {}\n      confirm as {operator}?", step.id, manual.text);
        let Some(answer) = self.rec.observer().ask(&question) else {
            let outcome = self.pause(step, reason, hint)?;
            return self.stop(outcome).await.map(Some);
        };
        let cancel = self.parts.cancel.clone();
        let line = tokio::select! {
            line = answer => line.ok().flatten(),
            _ = cancel.cancelled() => {
                let outcome = self.interrupted(Some(&step.id))?;
                return self.stop(outcome).await.map(Some);
            }
        };
        let yes = line.is_some_and(|l| matches!(l.trim().to_ascii_lowercase().as_str(), "y" | "yes"));
        if !yes {
            let outcome = self.pause(step, format!("{reason} (not confirmed at the terminal)"), hint)?;
            return self.stop(outcome).await.map(Some);
        }
        let approval = Event::Approval {
            step: step.id.clone(),
            kind: ApprovalKind::Gate,
            by: operator.clone(),
            role: None,
            note: Some("confirmed at the terminal".to_string()),
            host: self.options.host.clone(),
            runbook_sha256: self.plan.sha256.clone(),
            signature: None,
        };
        self.rec.record(approval, Durability::Now)?;
        self.pass_gate(step, format!("confirmed by {operator} at the terminal"))?;
        Ok(None)
    }
}
