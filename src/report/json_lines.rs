//! Every JSON line deployctl writes on stdout under `--output json`, other than the journal
//! entries a run streams (those are [`crate::event::Entry`]), as one serde enum tagged by
//! `type`. CI jobs and scripts parse these lines, so a type name or a key is never renamed
//! or removed; keys are only ever added.
//!
//! | `type` | written by | what it says |
//! | --- | --- | --- |
//! | `diagnostic` | `validate`, `run --dry-run` | one problem of a runbook, at `file:line:col` |
//! | `validated` | `validate` | one runbook's verdict: `ok`, its steps and warnings, or the error |
//! | `plan` | `run --dry-run` | the plan's header: runbook, file, digest, probe mode, window |
//! | `plan_step` | `run --dry-run` | one step of the plan (or of the rollback) with its verdict |
//! | `window` | `run --dry-run` | whether the deployment window is open now, in words |
//! | `plan_summary` | `run --dry-run` | the verdict counts and failed probes; always last |
//! | `status` | `status --output json` | the run's checklist, the fields of `status --format json` |
//! | `no_run` | `status --output json` | the journal holds no run yet |
//! | `approved` | `approve` | the approval recorded: step, run, kind, by, role, next command |
//! | `rollback_plan` | `rollback --dry-run` | the run, what rollback would do, its steps with marks |
//! | `unlock` | `unlock` | the journal, and the stale holder cleared (`null` when none) |
//! | `journal_copied` | `journal export`, `journal import` | how many entries went where |
//!
//! Keys come out in alphabetical order: [`JsonLine::to_line`] writes through
//! [`serde_json::Value`], whose maps are sorted, as these lines have always been written.

use serde::Serialize;

use super::mark::StepMark;
use super::status::StatusView;
use crate::engine::{Plan, PlanStep, ProbeMode};
use crate::event::ApprovalKind;
use crate::redact::Redactor;
use crate::runbook::{Diagnostic, Severity};

/// One line of `--output json`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JsonLine<'a> {
    /// A problem of a runbook (its message and hint redacted).
    Diagnostic {
        /// The runbook as given on the command line.
        file: String,
        /// 1-based line and column; 0 when unknown.
        line: u32,
        #[allow(missing_docs)]
        col: u32,
        /// `error` stops the runbook; `warning` does not (unless `--strict`).
        severity: SeverityWord,
        #[allow(missing_docs)]
        message: String,
        /// What to do about it, when deployctl knows (`null` otherwise).
        hint: Option<String>,
        /// The lint rule of a migration lint finding (`file` is then the migration).
        #[serde(skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
    },
    /// `validate`'s verdict on one runbook: `steps` and `warnings` when it loaded, `error`
    /// when it did not.
    Validated {
        #[allow(missing_docs)]
        file: String,
        /// Valid (and, under `--strict`, without warnings).
        ok: bool,
        /// Steps, counting the `rollback` ones.
        #[serde(skip_serializing_if = "Option::is_none")]
        steps: Option<usize>,
        #[allow(missing_docs)]
        #[serde(skip_serializing_if = "Option::is_none")]
        warnings: Option<usize>,
        /// Why it did not load.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The dry-run's header.
    Plan {
        /// Runbook name and title.
        runbook: &'a str,
        #[allow(missing_docs)]
        title: &'a str,
        /// The runbook file as given.
        file: &'a str,
        /// sha256 of the runbook file.
        sha256: &'a str,
        /// `online` (read-only probes ran) or `offline`.
        mode: ProbeMode,
        /// The window as one line, `null` when the runbook has none.
        window: Option<&'a str>,
    },
    /// One step of the dry-run's plan.
    PlanStep {
        /// `phases` or `rollback`.
        section: Section,
        /// The phase id; `null` for a rollback step.
        phase: Option<&'a str>,
        /// The step: id, kind, target, verdict, probe findings, timeout, undo.
        step: &'a PlanStep<'a>,
    },
    /// Whether the deployment window is open now.
    Window {
        #[allow(missing_docs)]
        open: bool,
        /// `open now, until ...` or `closed now (...); opens next at ...`.
        state: &'a str,
    },
    /// The dry-run's last line.
    PlanSummary {
        /// Steps per verdict.
        verified: usize,
        #[allow(missing_docs)]
        simulated: usize,
        #[allow(missing_docs)]
        opaque: usize,
        /// Probes that failed: steps that would likely fail now (exit 1).
        failed_probes: usize,
    },
    /// The checklist of the latest run, with the fields of `status --format json`.
    Status(&'a StatusView),
    /// `unlock`: the journal, and the holder record it cleared.
    Unlock {
        /// The journal, as `status` names it.
        journal: String,
        /// The stale holder cleared, `null` when the journal was not locked.
        cleared: Option<String>,
    },
    /// `unlock --kill-orphans`: a process group a killed run left running, killed.
    OrphanKilled {
        /// The run.
        run_id: String,
        /// The step that started it.
        step: String,
        /// The group's id.
        pgid: i32,
    },
    /// `approve`: the approval journaled.
    Approved {
        /// The runbook's name and the step approved.
        runbook: String,
        #[allow(missing_docs)]
        step: String,
        /// The run it was recorded in.
        run_id: String,
        /// `gate` (a gate or a manual confirmation) or `retry` (an interrupted step).
        kind: ApprovalKind,
        /// Who approved, and in which role (`null` when the step names none).
        by: String,
        #[allow(missing_docs)]
        role: Option<String>,
        /// The command that goes on (`deployctl run ...` or `deployctl rollback ...`).
        next: String,
    },
    /// `rollback --dry-run`: what `deployctl rollback` would do, and its steps in order.
    RollbackPlan {
        /// The run it would roll back (`null`: no run in the journal).
        run_id: Option<String>,
        /// `no_run`, `ready`, `rolling_back` (it would resume) or `rolled_back` (it would
        /// refuse).
        state: RollbackWord,
        /// The steps, each with its `mark` (`done`, `failed`, `interrupted`, `pending`).
        steps: Vec<RollbackPlanStep>,
    },
    /// `status` when the journal holds no run yet.
    NoRun {
        /// The journal read.
        journal: String,
    },
    /// `journal export` / `journal import`: every entry copied.
    JournalCopied {
        /// Source and destination journals.
        from: String,
        #[allow(missing_docs)]
        to: String,
        /// Entries copied.
        entries: usize,
    },
}

/// Where a run stands for `rollback --dry-run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackWord {
    /// No run in the journal: only the runbook's `rollback` steps would run.
    NoRun,
    /// The latest run can be rolled back.
    Ready,
    /// A rollback was cut off: `rollback` resumes it.
    RollingBack,
    /// Already rolled back: `rollback` refuses.
    RolledBack,
}

/// One step of `rollback --dry-run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollbackPlanStep {
    /// Step id, title and kind.
    pub id: String,
    #[allow(missing_docs)]
    pub title: String,
    #[allow(missing_docs)]
    pub kind: String,
    /// Where it stands in this run.
    pub mark: StepMark,
}

/// Where a dry-run step sits: a phase, or the runbook's rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// In a phase (`phase` names it).
    Phases,
    /// In `rollback:`.
    Rollback,
}

/// A diagnostic's severity as the JSON says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeverityWord {
    #[allow(missing_docs)]
    Error,
    #[allow(missing_docs)]
    Warning,
}

impl From<Severity> for SeverityWord {
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Error => SeverityWord::Error,
            Severity::Warning => SeverityWord::Warning,
        }
    }
}

impl JsonLine<'_> {
    /// The line as written, keys sorted (see the module doc).
    pub fn to_line(&self) -> Result<String, serde_json::Error> {
        serde_json::to_value(self).map(|value| value.to_string())
    }
}

/// A runbook problem as a `diagnostic` line, its message and hint masked by `redactor`.
pub fn diagnostic_line(file: &str, d: &Diagnostic, redactor: &Redactor) -> JsonLine<'static> {
    JsonLine::Diagnostic {
        file: d
            .file
            .as_ref()
            .map_or_else(|| file.to_string(), |f| f.display().to_string()),
        line: d.pos.line,
        col: d.pos.col,
        severity: d.severity.into(),
        message: redactor.mask(&d.message).into_owned(),
        hint: d.hint.as_deref().map(|h| redactor.mask(h).into_owned()),
        rule: d.rule.clone(),
    }
}

/// The dry-run as JSON lines: the header, one line per step (phases, then rollback), the
/// window's state now (`(open, in words)`, when the runbook has a window) and the summary,
/// which stays last. The runbook's warnings go before these, as [`diagnostic_line`]s.
pub fn plan_lines<'a>(plan: &'a Plan, file: &'a str, window: Option<(bool, &'a str)>) -> Vec<JsonLine<'a>> {
    let mut lines = vec![JsonLine::Plan {
        runbook: &plan.runbook,
        title: &plan.title,
        file,
        sha256: &plan.sha256,
        mode: plan.mode,
        window: plan.window.as_deref(),
    }];
    for phase in &plan.phases {
        lines.extend(phase.steps.iter().map(|step| JsonLine::PlanStep {
            section: Section::Phases,
            phase: Some(&phase.id),
            step,
        }));
    }
    lines.extend(plan.rollback.iter().map(|step| JsonLine::PlanStep {
        section: Section::Rollback,
        phase: None,
        step,
    }));
    if let Some((open, state)) = window {
        lines.push(JsonLine::Window { open, state });
    }
    let (verified, simulated, opaque) = plan.counts();
    lines.push(JsonLine::PlanSummary {
        verified,
        simulated,
        opaque,
        failed_probes: plan.failed_probes(),
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_out_sorted_with_the_type_among_them() {
        let line = JsonLine::Window {
            open: false,
            state: "closed now",
        };
        assert_eq!(
            line.to_line().ok().as_deref(),
            Some(r#"{"open":false,"state":"closed now","type":"window"}"#)
        );
        let line = JsonLine::Validated {
            file: "r.yaml".into(),
            ok: false,
            steps: None,
            warnings: None,
            error: Some("r.yaml: runbook is invalid".into()),
        };
        assert_eq!(
            line.to_line().ok().as_deref(),
            Some(r#"{"error":"r.yaml: runbook is invalid","file":"r.yaml","ok":false,"type":"validated"}"#)
        );
    }
}
