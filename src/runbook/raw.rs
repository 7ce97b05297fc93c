//! The runbook as written: serde shapes with spans, before any meaning is checked.
//!
//! Every struct denies unknown fields (a typo such as `retires:` is an error, not a silent
//! default). Strings that carry references, durations or names are `Spanned` so the validator
//! can point at them. These same types generate `deployctl schema`, so the schema editors see
//! is exactly what the loader accepts.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::forms::Short;
pub use super::raw_prometheus::{RawBaseline, RawCompare, RawMetricQuery, RawPrometheus, RawQuery, RawQueryExpect};
use super::spanned::Spanned;

mod kinds;
mod window;

pub use kinds::*;
pub use window::*;

/// A string with its position.
pub type Text = Spanned<String>;

/// A deployctl runbook, format version 1.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "deployctl runbook (format 1)")]
pub struct RawRunbook {
    /// Format version; must be 1.
    pub deployctl: Spanned<i64>,
    /// Names the journal: lowercase letters, digits, `.`, `_`, `-`.
    pub name: Text,
    /// Human title, shown in plans and reports.
    pub title: Option<Text>,
    /// Free text for reviewers.
    pub description: Option<Text>,
    /// Directory that relative step paths are resolved against, relative to the runbook file.
    pub workdir: Option<Text>,
    /// Lets the operator of a run approve its own gates and one person fill two roles.
    pub allow_self_approval: Option<bool>,
    /// Values referenced as `${vars.NAME}`; `--var NAME=VALUE` overrides them.
    #[serde(default)]
    pub vars: BTreeMap<String, Text>,
    /// Databases referenced by name from sql, migrate, backup and rls steps.
    #[serde(default)]
    pub databases: BTreeMap<String, Spanned<RawDatabase>>,
    /// Services referenced by rolling_restart and `${services.NAME.health}`.
    #[serde(default)]
    pub services: BTreeMap<String, Spanned<RawService>>,
    /// Prometheus servers referenced by name from query steps and monitor queries.
    #[serde(default)]
    pub prometheus: BTreeMap<String, Spanned<RawPrometheus>>,
    /// When the run may make changes.
    pub window: Option<Spanned<RawWindow>>,
    /// Who to call, printed on failure and in reports.
    pub contacts: Option<RawContacts>,
    /// Channels (webhooks, e-mail) told when a run starts, pauses, asks for an approval,
    /// fails, rolls back or finishes.
    #[serde(default)]
    pub notify: Vec<Spanned<RawWebhook>>,
    /// How approvals are proven: the allowed signers and whether a signature is required.
    pub approvals: Option<Spanned<RawApprovals>>,
    /// Step settings that apply unless a step says otherwise.
    pub defaults: Option<RawDefaults>,
    /// The phases, run in order.
    pub phases: Spanned<Vec<Spanned<RawPhase>>>,
    /// The runbook's own rollback procedure, run after the undo ledger.
    pub rollback: Option<RawRollback>,
}

/// A database target.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    /// A `postgres://` URL; its password is a secret.
    pub url: Text,
}

/// A service target.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    /// Health endpoint URL, polled after a restart.
    pub health: Text,
    /// Shell command that restarts the service.
    pub restart: Text,
}

/// Escalation contacts per kind of problem.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawContacts {
    pub technical: Option<RawContact>,
    pub database: Option<RawContact>,
    pub security: Option<RawContact>,
    pub business: Option<RawContact>,
}

/// Who to call first and second.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawContact {
    pub primary: Text,
    pub backup: Option<Text>,
}

/// A run-level channel: a webhook or an e-mail, and the run events it hears.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    /// URL that receives a JSON POST.
    pub webhook: Option<Text>,
    /// Body of the POST: `generic` (deployctl's JSON) or `slack` (a `text` field, for Slack
    /// and Mattermost incoming webhooks).
    #[schemars(with = "Option<NotifyFormat>")]
    pub format: Option<Text>,
    /// Send an e-mail instead of (or besides) a POST.
    pub email: Option<Spanned<RawEmail>>,
    /// The run events this channel hears (default: all of them).
    #[serde(default)]
    #[schemars(with = "Vec<NotifyEvent>")]
    pub events: Vec<Text>,
}

/// An e-mail sent over SMTP.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEmail {
    /// `smtps://user:password@host:465` (TLS), `smtp://host:587?tls=required` (STARTTLS),
    /// or plain `smtp://localhost:25` (a relay on this machine only). The password is a secret.
    pub smtp: Text,
    /// Sender address.
    pub from: Text,
    /// Recipients.
    pub to: Vec<Text>,
    /// Subject line (default: the runbook title and the event).
    pub subject: Option<Text>,
    /// PEM file of a certificate authority to trust besides the public ones (a mail relay
    /// with a private CA), relative to the workdir.
    pub ca: Option<Text>,
}

/// Body format of a webhook POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyFormat {
    /// deployctl's JSON payload.
    Generic,
    /// `{"text": ...}` as Slack and Mattermost incoming webhooks take it.
    Slack,
}

/// A run event a channel can hear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum NotifyEvent {
    RunStarted,
    RunPaused,
    ApprovalRequested,
    RunFailed,
    RunInterrupted,
    RunFinished,
    TriggerFired,
    RollbackStarted,
    RolledBack,
    RollbackFailed,
}

/// How approvals are proven.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawApprovals {
    /// OpenSSH allowed-signers file (`ssh-keygen -Y verify -f`), relative to the workdir.
    pub allowed_signers: Option<Text>,
    /// Refuse approvals without a valid signature by the named person's key.
    pub require_signature: Option<bool>,
}

/// Defaults for every step.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawDefaults {
    pub timeout: Option<Text>,
    pub retries: Option<Spanned<i64>>,
    pub retry_delay: Option<Text>,
    pub backoff: Option<Spanned<RawBackoff>>,
    #[schemars(with = "Option<OnFailure>")]
    pub on_failure: Option<Text>,
}

/// Exponential backoff between retries.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBackoff {
    /// Multiplier applied to the delay after each attempt (>= 1, default 2).
    pub factor: Option<Spanned<f64>>,
    /// Upper bound of the delay.
    pub max: Option<Text>,
}

/// What a failed step does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Exit 1 and wait for the operator.
    Stop,
    /// Run the rollback now.
    Rollback,
    /// Record and go on.
    Continue,
}

/// A phase of the runbook.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawPhase {
    pub id: Text,
    pub title: Option<Text>,
    /// `false`: the phase's steps run outside the deployment window (approvals and
    /// day-before preparation happen days earlier). Default `true`.
    pub window: Option<bool>,
    pub steps: Spanned<Vec<Spanned<RawStep>>>,
}

/// The runbook's rollback procedure.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawRollback {
    pub steps: Vec<Spanned<RawStep>>,
}

/// A step: common fields plus exactly one kind key. Also the shape of `undo` (without `id`).
/// Kinds are boxed: eleven of the twelve are absent, and inline they made every step ~2 KiB.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawStep {
    pub id: Option<Text>,
    pub title: Option<Text>,
    pub timeout: Option<Text>,
    pub retries: Option<Spanned<i64>>,
    pub retry_delay: Option<Text>,
    pub backoff: Option<Spanned<RawBackoff>>,
    #[schemars(with = "Option<OnFailure>")]
    pub on_failure: Option<Text>,
    pub idempotent: Option<bool>,
    pub verify: Option<Box<Spanned<RawCheck>>>,
    pub undo: Option<Box<Spanned<RawStep>>>,

    pub shell: Option<Box<Spanned<Short<RawShell>>>>,
    pub http: Option<Box<Spanned<Short<RawHttp>>>>,
    pub sql: Option<Box<Spanned<RawSql>>>,
    pub migrate: Option<Box<Spanned<RawMigrate>>>,
    pub backup: Option<Box<Spanned<RawBackup>>>,
    pub restore: Option<Box<Spanned<RawRestore>>>,
    pub rls: Option<Box<Spanned<RawRls>>>,
    pub approval: Option<Box<Spanned<RawApproval>>>,
    pub manual: Option<Box<Spanned<Short<RawManual>>>>,
    pub wait: Option<Box<Spanned<RawWait>>>,
    pub notify: Option<Box<Spanned<Short<RawNotify>>>>,
    pub rolling_restart: Option<Box<Spanned<RawRollingRestart>>>,
    pub monitor: Option<Box<Spanned<RawMonitor>>>,
    pub query: Option<Box<Spanned<RawQuery>>>,
}

/// A read-only check: exactly one of `http` or `sql`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawCheck {
    pub http: Option<Spanned<Short<RawHttp>>>,
    pub sql: Option<Spanned<RawSql>>,
}
