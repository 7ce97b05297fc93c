//! Rendering a plan for people: aligned lines, one per step, with what the probes found.
//! The JSON lines of a plan are [`super::json_lines::plan_lines`].

use crate::engine::{Plan, PlanStep, ProbeMode};
use crate::runbook::duration::format as dur;

/// The plan as lines of text.
pub fn human(plan: &Plan, file: &str) -> String {
    let mut out = heading(plan, file);
    let row = Row::new(plan);
    for (i, phase) in plan.phases.iter().enumerate() {
        out.push_str(&format!(
            "\nphase {}/{}  {} — {}\n",
            i + 1,
            plan.phases.len(),
            phase.id,
            phase.title
        ));
        for step in &phase.steps {
            out.push_str(&row.line(step, "  "));
            out.push_str(&probe_lines(step));
            if let Some(undo) = &step.undo {
                out.push_str(&row.line(undo, "    undo "));
            }
        }
    }
    if !plan.rollback.is_empty() {
        out.push_str("\nrollback  (after the undos of completed steps, in reverse)\n");
        for step in &plan.rollback {
            out.push_str(&row.line(step, "  "));
            out.push_str(&probe_lines(step));
        }
    }
    out.push_str(&summary(plan));
    out
}

/// The runbook, its digest, what the dry-run may touch, and the window.
fn heading(plan: &Plan, file: &str) -> String {
    let mut out = String::new();
    let short_sha = plan.sha256.get(..12).unwrap_or(&plan.sha256);
    out.push_str(&format!("dry-run of {} — {}\n", plan.runbook, plan.title));
    out.push_str(&format!("  runbook  {file} (sha256 {short_sha})\n"));
    out.push_str(match plan.mode {
        ProbeMode::Offline => "  mode     offline: no probe ran, no target touched, no journal written\n",
        ProbeMode::Online => "  mode     read-only probes (sql: `select 1`; migrate: pending/failed/drifted listed; http: GET/HEAD sent); no target changed, no journal written\n",
    });
    if let Some(window) = &plan.window {
        out.push_str(&format!("  window   {window}\n"));
    }
    out
}

/// The counts of steps by verdict, and a warning when probes failed.
fn summary(plan: &Plan) -> String {
    let (verified, simulated, opaque) = plan.counts();
    let forward: usize = plan.phases.iter().map(|p| p.steps.len()).sum();
    let mut out = format!(
        "\n{forward} steps in {} phases, {} rollback steps: {verified} verified, {simulated} simulated, {opaque} opaque\n",
        plan.phases.len(),
        plan.rollback.len(),
    );
    if plan.failed_probes() > 0 {
        out.push_str(&format!(
            "{} probe(s) failed: these steps would likely fail now (marked ✗ above)\n",
            plan.failed_probes()
        ));
    }
    out
}

/// One step's line, its columns as wide as the plan's longest id and kind.
struct Row {
    id_width: usize,
    kind_width: usize,
}

impl Row {
    fn new(plan: &Plan) -> Self {
        let id_width = plan
            .all_steps()
            .flat_map(|s| std::iter::once(s).chain(s.undo.as_deref()))
            .map(|s| s.id.len())
            .max()
            .unwrap_or(0);
        let kind_width = plan
            .all_steps()
            .map(|s| s.kind.len())
            .max()
            .unwrap_or(0)
            .max("rolling_restart".len());
        Row { id_width, kind_width }
    }

    fn line(&self, s: &PlanStep, indent: &str) -> String {
        let retries = if s.retries > 0 {
            format!(", retries {}", s.retries)
        } else {
            String::new()
        };
        let (id_width, kind_width) = (self.id_width, self.kind_width);
        format!(
            "{indent}{:<9}  {:<id_width$}  {:<kind_width$}  {}  [timeout {}{retries}]\n",
            verdict(s),
            s.id,
            s.kind,
            s.target,
            dur(s.timeout),
        )
    }
}

fn probe_lines(step: &PlanStep) -> String {
    match (&step.probe, &step.probe_failed) {
        (_, Some(failed)) => format!("             ✗ probe failed: {failed}\n"),
        (Some(found), None) => format!("             ✓ {found}\n"),
        (None, None) => String::new(),
    }
}

fn verdict(step: &PlanStep) -> &'static str {
    match step.verdict {
        crate::engine::Verdict::Verified => "verified",
        crate::engine::Verdict::Simulated => "simulated",
        crate::engine::Verdict::Opaque => "opaque",
    }
}
