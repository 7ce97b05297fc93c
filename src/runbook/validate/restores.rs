//! Rollback readiness that looks at what restores a database: a `restore` names a backup
//! step of the same database and is preceded by a gate in its rollback path (it destroys
//! what was written since the backup); a `migrate` has a way back for its database: down
//! files, an `undo`, or a rollback step naming the database (`restore` or `migrate`).

use super::context::Validator;
use crate::runbook::diagnostic::Pos;
use crate::runbook::migration_dir;
use crate::runbook::model::{Migrate, MigrationStyle, Runbook, Step, StepKind};

impl Validator<'_> {
    /// Checks every `restore` and every `migrate` of the runbook.
    pub(super) fn restores(&mut self, runbook: &Runbook) {
        for (_, step) in runbook.steps() {
            if let StepKind::Restore(_) = &step.kind {
                self.restore_gate(step, &[]);
            }
            if let Some(undo) = &step.undo
                && let StepKind::Restore(_) = &undo.kind
            {
                self.restore_gate(undo, &[]);
            }
            self.restore_source(step, runbook);
            if let StepKind::Migrate(m) = &step.kind
                && !m.check
                && step.undo.is_none()
            {
                self.way_back(step, m, runbook);
            }
        }
        for (i, step) in runbook.rollback.iter().enumerate() {
            self.restore_source(step, runbook);
            if let StepKind::Restore(_) = &step.kind {
                self.restore_gate(step, &runbook.rollback[..i]);
            }
        }
    }

    fn pos(&self, step: &Step) -> Pos {
        self.step_ids.get(&step.id).copied().unwrap_or(step.pos)
    }

    /// `from` names a backup step of the same database.
    fn restore_source(&mut self, step: &Step, runbook: &Runbook) {
        let StepKind::Restore(r) = &step.kind else {
            return;
        };
        let backup = runbook.steps().find(|(_, s)| s.id == r.from).map(|(_, s)| &s.kind);
        let problem = match backup {
            None => format!(
                "`restore` step `{}` names `from: {}`, which is not a step of the phases",
                step.id, r.from
            ),
            Some(StepKind::Backup(b)) if b.database == r.database => return,
            Some(StepKind::Backup(b)) => format!(
                "`restore` step `{}` restores database `{}` from `{}`, a backup of database `{}`",
                step.id, r.database, r.from, b.database
            ),
            Some(other) => format!(
                "`restore` step `{}` names `from: {}`, a `{}` step, not a `backup`",
                step.id,
                r.from,
                other.name()
            ),
        };
        let pos = self.pos(step);
        self.error_hint(
            pos,
            problem,
            "`from` is the id of a `backup` step of the same database in this runbook",
        );
    }

    /// Warns unless an approval or manual step comes before the restore in `before`.
    fn restore_gate(&mut self, step: &Step, before: &[Step]) {
        let gated = before
            .iter()
            .any(|s| matches!(s.kind, StepKind::Approval(_) | StepKind::Manual(_)));
        if !gated {
            let pos = self.pos(step);
            self.warn(
                pos,
                format!(
                    "`restore` step `{}` is not preceded by a gate in its rollback path: it destroys every write since the backup without anyone deciding so",
                    step.id
                ),
                "put an `approval` or `manual` step before it in `rollback.steps`",
            );
        }
    }

    /// Warns when a migrate has no down file for its newest migration and no rollback step
    /// that names its database.
    fn way_back(&mut self, step: &Step, m: &Migrate, runbook: &Runbook) {
        let named = runbook.rollback.iter().any(|s| match &s.kind {
            StepKind::Restore(r) => r.database == m.database,
            StepKind::Migrate(r) => r.database == m.database,
            _ => false,
        });
        if named || newest_has_down(m) {
            return;
        }
        let pos = self.pos(step);
        self.warn(
            pos,
            format!(
                "step `{}` migrates database `{}` with no way back: no down file, no `undo`, and no rollback step restores or migrates `{}`",
                step.id, m.database, m.database
            ),
            format!(
                "add a down file beside the newest migration, or a rollback step `restore: {{ database: {}, from: <backup step> }}`",
                m.database
            ),
        );
    }
}

/// Whether the folder's newest migration has a down file (a folder that cannot be read now
/// counts as having one: it may be made by an earlier step, and the undo checks again).
fn newest_has_down(m: &Migrate) -> bool {
    let Ok(entries) = migration_dir::migrations(&m.dir, m.style) else {
        return true;
    };
    let Some(newest) = entries.last() else {
        return true;
    };
    let down = match m.style {
        MigrationStyle::Plain => m.dir.join(format!("{}.down.sql", newest.name)),
        MigrationStyle::Prisma => m.dir.join(&newest.name).join("down.sql"),
    };
    down.is_file()
}
