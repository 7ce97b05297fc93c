//! How an attempt of a step went: a value, never an `Err`. A failure is typed: what went
//! wrong (naming the target) and, apart from it, what to do about it; the journal keeps
//! both as one text (`reason\nhint: ...`), as it always has.

use crate::event::Escalation;
use crate::redact::Redactor;

/// Why a step (or a probe, or a check inside one) failed, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong, naming the target (redacted once it leaves the step).
    pub reason: String,
    /// What the operator can do, when the step knows.
    pub hint: Option<String>,
}

impl Failure {
    /// A failure without a hint.
    pub fn new(reason: impl Into<String>) -> Self {
        Failure {
            reason: reason.into(),
            hint: None,
        }
    }

    /// The same failure with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The reason, then the hint on its own line, as the journal keeps it.
    pub fn text(&self) -> String {
        match &self.hint {
            Some(hint) => format!("{}\nhint: {hint}", self.reason),
            None => self.reason.clone(),
        }
    }

    /// The same failure with every secret masked.
    pub fn masked(self, redactor: &Redactor) -> Self {
        Failure {
            reason: redactor.mask(&self.reason).into_owned(),
            hint: self.hint.map(|h| redactor.mask(&h).into_owned()),
        }
    }
}

impl From<String> for Failure {
    fn from(reason: String) -> Self {
        Failure::new(reason)
    }
}

impl From<&str> for Failure {
    fn from(reason: &str) -> Self {
        Failure::new(reason)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

/// How one attempt of a step went. Failure is a value; `Err` is not used for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// It did what it should.
    Done {
        /// What it found, one line (redacted), e.g. "200 in 12ms".
        detail: Option<String>,
        /// Bounded, redacted excerpt of output.
        output: Option<String>,
    },
    /// It did not.
    Failed {
        /// What went wrong, naming the target (redacted).
        reason: String,
        /// What to do about it, when the step knows (redacted).
        hint: Option<String>,
        /// Bounded, redacted excerpt of output.
        output: Option<String>,
        /// What it asks of the engine beyond its `on_failure` (a monitor's rule held, or it
        /// had no data under `on_no_data: pause`).
        escalation: Option<Escalation>,
    },
}

impl StepOutcome {
    /// A failure without output or escalation.
    pub fn failed(failure: impl Into<Failure>) -> Self {
        Self::failed_with_output(failure, None)
    }

    /// A failure with an output excerpt.
    pub fn failed_with_output(failure: impl Into<Failure>, output: Option<String>) -> Self {
        let Failure { reason, hint } = failure.into();
        StepOutcome::Failed {
            reason,
            hint,
            output,
            escalation: None,
        }
    }
}
