//! A resumed run goes on only with the runbook and inputs it began with: this says what
//! changed, by name, so the operator knows whether to restore the old environment or to
//! accept the change with `--allow-changed`.
//!
//! Inputs are every var and every environment variable a reference resolved (journaled at
//! the start, secrets as "set" only); the runbook's own text is covered by its digest. A
//! journal written before inputs were journaled is compared by its older digest.

use std::collections::BTreeSet;

use super::options::RunOptions;
use super::outcome::RunError;
use super::plan::Plan;
use crate::event::{Input, Inputs};
use crate::journal::RunState;

/// What differs from the run's start (both allowed only under `--allow-changed`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Changes {
    /// The runbook file changed.
    pub runbook: bool,
    /// A resolved input changed.
    pub inputs: bool,
}

/// Checks that `prior` may resume with this plan; under `--allow-changed` it may, and the
/// changes are returned to be journaled.
pub(super) fn unchanged(plan: &Plan<'_>, prior: &RunState, options: &RunOptions) -> Result<Changes, RunError> {
    let changes = Changes {
        runbook: prior.runbook_sha256 != plan.sha256,
        inputs: prior.vars_sha256 != plan.inputs_digest()
            && !(prior.inputs.is_none() && prior.vars_sha256 == plan.legacy_inputs_digest()),
    };
    if options.allow_changed || changes == Changes::default() {
        return Ok(changes);
    }
    let short = |s: &str| s.get(..12).unwrap_or(s).to_string();
    let mut what = Vec::new();
    if changes.runbook {
        what.push(format!(
            "runbook sha256: {} → {}",
            short(&prior.runbook_sha256),
            short(&plan.sha256)
        ));
    }
    let mut environment = Vec::new();
    if changes.inputs {
        match &prior.inputs {
            Some(then) => {
                let now = plan.inputs();
                what.extend(differences(then, &now));
                environment = unset_since(then, &now);
            }
            None => what.push(format!(
                "resolved vars sha256: {} → {}",
                short(&prior.vars_sha256),
                short(&plan.inputs_digest())
            )),
        }
    }
    Err(RunError::Changed {
        file: options.runbook_file.clone(),
        run_id: prior.run_id.clone(),
        what: what.join("; "),
        unset: environment,
    })
}

/// Each input that differs, in words; secrets as "changed" only.
fn differences(then: &Inputs, now: &Inputs) -> Vec<String> {
    let keys: BTreeSet<&String> = then.keys().chain(now.keys()).collect();
    let mut found: Vec<String> = keys
        .into_iter()
        .filter_map(|key| match (then.get(key), now.get(key)) {
            (Some(a), Some(b)) if a == b => None,
            (Some(a), Some(b)) => Some(format!("{key}: {} → {}", shown(a), shown(b))),
            (Some(_), None) => Some(format!("{key} is no longer used")),
            (None, Some(b)) => Some(format!("{key} is newly used ({})", shown(b))),
            (None, None) => None,
        })
        .collect();
    if found.is_empty() {
        let secrets: Vec<&str> = now
            .iter()
            .filter(|(_, input)| input.value.is_none())
            .map(|(key, _)| key.as_str())
            .collect();
        found.push(match secrets.as_slice() {
            [one] => format!("{one} changed (a secret: its value is not shown)"),
            many => format!(
                "a secret value changed (one of {}; values are not shown)",
                many.join(", ")
            ),
        });
    }
    found
}

/// An input as shown in a message.
fn shown(input: &Input) -> String {
    match (&input.value, input.defaulted) {
        (None, _) => "a secret".into(),
        (Some(v), false) => format!("`{v}`"),
        (Some(v), true) => format!("unset (default `{v}`)"),
    }
}

/// Environment variables that were set when the run began and are unset now (their
/// default took over): the likely cause is a new shell, not a change anyone meant.
fn unset_since(then: &Inputs, now: &Inputs) -> Vec<String> {
    now.iter()
        .filter(|(key, input)| input.defaulted && then.get(*key).is_some_and(|t| !t.defaulted))
        .filter_map(|(key, _)| key.strip_prefix("env.").map(str::to_owned))
        .collect()
}
