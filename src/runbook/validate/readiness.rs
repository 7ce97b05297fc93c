//! Rollback readiness (DESIGN promise 7): warnings about changes that cannot be undone.
//!
//! A step that changes things with no `undo` and no runbook `rollback`, or a `migrate` with
//! no `backup` of the same database before it, still runs; `validate --strict` makes these
//! errors for CI.

use super::context::Validator;
use crate::runbook::model::{Runbook, StepKind};
use crate::runbook::raw::RawRunbook;

impl Validator<'_> {
    pub(super) fn readiness(&mut self, runbook: &Runbook, _raw: &RawRunbook) {
        self.restores(runbook);
        let mut backed_up: Vec<&str> = Vec::new();
        for (_, step) in runbook.steps() {
            let pos = self.step_ids.get(&step.id).copied().unwrap_or(step.pos);
            if step.kind.changes_things() && step.undo.is_none() && runbook.rollback.is_empty() {
                self.warn(
                    pos,
                    format!(
                        "step `{}` ({}) changes things but has no `undo` and the runbook has no `rollback`",
                        step.id,
                        step.kind.name()
                    ),
                    "add `undo:` to the step, or a top-level `rollback: { steps: [...] }`",
                );
            }
            match &step.kind {
                StepKind::Backup(b) => backed_up.push(&b.database),
                StepKind::Migrate(m) if !m.check && !backed_up.contains(&m.database.as_str()) => {
                    self.warn(
                        pos,
                        format!(
                            "step `{}` migrates database `{}` with no `backup` of it before",
                            step.id, m.database
                        ),
                        format!(
                            "add a step `backup: {{ database: {}, dir: backups }}` earlier in the runbook",
                            m.database
                        ),
                    );
                }
                _ => {}
            }
        }
    }
}
