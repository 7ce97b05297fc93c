//! Validation of monitor baselines across the runbook: every baseline has a step whose
//! start ends its window, and a monitor in the foreground comes after that step.

use super::context::Validator;
use crate::runbook::diagnostic::Pos;

impl Validator<'_> {
    /// Every baseline has an end: its `before` names a forward step (or the runbook has a
    /// step that changes things), and a monitor that does not watch in the background comes
    /// after that step, since its window ends when that step starts. The default end is
    /// written into the model, so the monitor knows which step's start to wait for.
    pub(super) fn baseline_ends(&mut self, runbook: &mut crate::runbook::Runbook) {
        self.check_baseline_ends(runbook);
        let first_change = runbook
            .steps()
            .find(|(_, s)| s.kind.changes_things())
            .map(|(_, s)| s.id.clone());
        for step in runbook.phases.iter_mut().flat_map(|p| p.steps.iter_mut()) {
            if let crate::runbook::model::StepKind::Monitor(m) = &mut step.kind
                && let Some(b) = &mut m.baseline
                && b.before.is_none()
            {
                b.before = first_change.clone();
            }
        }
    }

    fn check_baseline_ends(&mut self, runbook: &crate::runbook::Runbook) {
        let order: Vec<&str> = runbook.steps().map(|(_, s)| s.id.as_str()).collect();
        for (index, (_, step)) in runbook.steps().enumerate() {
            let crate::runbook::model::StepKind::Monitor(m) = &step.kind else {
                continue;
            };
            let Some(baseline) = &m.baseline else { continue };
            let pos = Pos {
                line: step.pos.line,
                col: 1,
            };
            let Some(end) = runbook.baseline_end(baseline) else {
                self.error_hint(
                    pos,
                    format!(
                        "monitor `{}` has a baseline, but no step of the runbook changes things to end its window",
                        step.id
                    ),
                    "say which step's start ends it: `baseline: { window: 30m, before: STEP }`",
                );
                continue;
            };
            match order.iter().position(|id| *id == end) {
                None => self.error_hint(
                    pos,
                    format!("baseline `before: {end}` of monitor `{}` names no step of the phases", step.id),
                    format!("steps: {}", order.join(", ")),
                ),
                Some(at) if at >= index && !m.background => self.error_hint(
                    pos,
                    format!(
                        "monitor `{}` ends before step `{end}` starts, so its baseline (the window before `{end}`) is never known",
                        step.id
                    ),
                    "watch in the background (`background: true`), or move the monitor after that step",
                ),
                Some(_) => {}
            }
        }
    }
}
