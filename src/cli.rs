//! The command line, as clap types. Their doc comments are the `--help` text.
//!
//! These types stop at `commands/`: nothing below sees clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Executes deployment runbooks: phases of checks, migrations, restarts, approvals and
/// monitoring, journaled so a run can be resumed, audited and rolled back.
#[derive(Debug, Parser)]
#[command(name = "deployctl", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Journal file (default: `.deployctl/<runbook name>.jsonl` next to the runbook), or a
    /// PostgreSQL URL (`postgres://user:pass@host/db`) shared by a team: the journal is then
    /// the runbook's name in that database, locked with an advisory lock.
    #[arg(long, env = "DEPLOYCTL_JOURNAL", global = true, value_name = "PATH|URL")]
    pub journal: Option<PathBuf>,
    /// The environment (e.g. `staging`, `prod`): the same runbook gets one journal and one
    /// lock per environment (`<name>@<environment>`), so runs in two environments never block
    /// each other.
    #[arg(long, env = "DEPLOYCTL_ENVIRONMENT", global = true, value_name = "NAME", value_parser = parse_environment)]
    pub environment: Option<String>,
    /// Sets a runbook variable (repeatable); the runbook must declare it under `vars`.
    #[arg(long = "var", value_name = "KEY=VALUE", global = true, value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Output style: `human` for people, `json` for one JSON object per line on stdout,
    /// `github` for annotations in GitHub Actions (`validate`, `run --dry-run`).
    #[arg(long, value_enum, default_value_t = OutputFormat::Human, global = true)]
    pub output: OutputFormat,
    /// Show more (step output with -v).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Show only problems.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// No colour. Colour is shown only on a terminal, never with NO_COLOR set or into a
    /// pipe; CLICOLOR_FORCE=1 forces it.
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Pretend it is TIME (RFC 3339, e.g. `2026-03-03T02:30:00Z`) for rehearsals and tests;
    /// time advances from it. Never silent: the command says so and a run journals it
    /// (with the real time) as a clock override.
    #[arg(long, global = true, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

impl GlobalArgs {
    /// The async runtime this invocation needs. A PostgreSQL journal appends from
    /// synchronous code through `block_in_place`, which needs the multi-threaded runtime;
    /// everything else runs on one thread, where a step's request, its child process and the
    /// journal never hand work across threads (in a run of a thousand quick steps, those
    /// hand-offs cost more than the steps).
    pub fn runtime(&self) -> tokio::runtime::Builder {
        if self
            .journal
            .as_deref()
            .and_then(crate::journal::PgTarget::url_of)
            .is_some()
        {
            tokio::runtime::Builder::new_multi_thread()
        } else {
            tokio::runtime::Builder::new_current_thread()
        }
    }
}

/// What deployctl prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
    /// For GitHub Actions: `validate` and `run --dry-run` print problems and failed probes
    /// as annotations (workflow commands) on stdout; everything else as `human`.
    Github,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Execute a runbook, or with --dry-run print what it would do.
    Run(RunArgs),
    /// Check runbooks (schema and meaning); every file is checked, exit 2 if any has a problem.
    Validate(ValidateArgs),
    /// Show the checklist of the latest run.
    Status(StatusArgs),
    /// Record an approval, a manual confirmation, or a retry of an interrupted step.
    Approve(ApproveArgs),
    /// Re-verify every approval of the latest run offline: who signed what, with which key
    /// (exit 1 if any fails).
    Verify(VerifyArgs),
    /// Roll back the latest run: undo completed steps in reverse, then the runbook's
    /// `rollback` steps (resumes a rollback that was cut off).
    Rollback(RollbackArgs),
    /// Clear a stale journal lock left by a crashed run (prints who held it).
    Unlock(UnlockArgs),
    /// Print the JSON Schema of the runbook format (for editors).
    Schema,
    /// Copy a runbook's journal between a file and the journal of --journal (PostgreSQL).
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Print the shell completion script for SHELL (see the README's "Install").
    Completions(CompletionsArgs),
    /// Print deployctl's man page (roff), e.g. into `~/.local/share/man/man1/deployctl.1`.
    Man,
}

/// `deployctl completions`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `deployctl journal`
#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// Copy the runbook's journal (--journal, e.g. a PostgreSQL URL) into a file.
    Export(ExportArgs),
    /// Copy a file's entries into the runbook's journal (--journal, e.g. a PostgreSQL URL).
    Import(ImportArgs),
}

/// `deployctl journal export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The runbook whose journal to copy.
    pub runbook: PathBuf,
    /// The JSON Lines file to write.
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Replace the file's entries if it has any (refused otherwise).
    #[arg(long)]
    pub replace: bool,
}

/// `deployctl journal import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The runbook whose journal to fill.
    pub runbook: PathBuf,
    /// The JSON Lines file to read.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Replace the journal's entries if it has any (refused otherwise).
    #[arg(long)]
    pub replace: bool,
}

/// `deployctl status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The runbook (its journal is found next to it); default: the journal written last in
    /// `./.deployctl/` (or `runbooks/.deployctl/`) here or above, or in --journal.
    pub runbook: Option<PathBuf>,
    /// How to render the checklist.
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,
}

/// Renderings of `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// For a terminal.
    Human,
    /// One JSON document.
    Json,
    /// Markdown, for the change ticket.
    Markdown,
    /// One self-contained HTML page with a timeline and monitor charts (no scripts).
    Html,
}

/// `deployctl approve`
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The runbook.
    pub runbook: PathBuf,
    /// The step to approve (a gate, a checkbox, or an interrupted step to retry).
    pub step: String,
    /// Who approves.
    #[arg(long)]
    pub by: String,
    /// Why, or on what condition.
    #[arg(long)]
    pub note: Option<String>,
    /// Sign the approval with this SSH key (a private key file, or a public key whose
    /// private key is in ssh-agent), by running `ssh-keygen -Y sign`.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// Withdraw the approval of a gate the run has not passed yet (by its approver or an
    /// operator of the run).
    #[arg(long, conflicts_with = "sign")]
    pub revoke: bool,
}

/// `deployctl verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The runbook whose journal to check (its `approvals.allowed_signers` holds the keys).
    pub runbook: PathBuf,
}

/// `deployctl unlock`
#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The runbook whose journal lock to clear.
    pub runbook: PathBuf,
    /// Who clears it (default: the operator).
    #[arg(long)]
    pub operator: Option<String>,
    /// Also kill the process groups of steps that a killed run left running on this host
    /// (journaled); until they end, the run cannot be resumed.
    #[arg(long)]
    pub kill_orphans: bool,
}

/// `deployctl rollback`
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The runbook of the run to roll back (default: the latest run of the journal written
    /// last in `./.deployctl/` or above, or in `--journal postgres://...`; asks first).
    pub runbook: Option<PathBuf>,
    /// Without a runbook: roll back the run found without asking (needed off a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the rollback steps in order (done ones ticked); run nothing, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Roll back even though the runbook or its inputs changed since the run started.
    #[arg(long)]
    pub allow_changed: bool,
    /// Who rolls back (default: DEPLOYCTL_OPERATOR, else the OS user).
    #[arg(long)]
    pub operator: Option<String>,
}

/// `deployctl run`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The runbook file.
    pub runbook: PathBuf,
    /// Validate everything and print the plan; touch nothing, write no journal.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: run no read-only probes either (for CI without targets).
    #[arg(long, requires = "dry_run")]
    pub offline: bool,
    /// Resume an unfinished run even though the runbook or its inputs changed.
    #[arg(long)]
    pub allow_changed: bool,
    /// Run outside the deployment window (journaled with the operator's name).
    #[arg(long)]
    pub ignore_window: bool,
    /// Start a new run although the latest one finished (asked on a terminal otherwise).
    #[arg(long)]
    pub new: bool,
    /// Who runs it (default: DEPLOYCTL_OPERATOR, else the OS user).
    #[arg(long)]
    pub operator: Option<String>,
}

/// `deployctl validate`
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Runbook files.
    #[arg(required = true)]
    pub runbooks: Vec<PathBuf>,
    /// Treat warnings (rollback readiness) as errors, for CI.
    #[arg(long)]
    pub strict: bool,
}

fn parse_environment(s: &str) -> Result<String, String> {
    let ok = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "`{s}` is not an environment name (letters, digits, `-`, `_`, `.`)"
        ))
    }
}

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("`{s}` is not an RFC 3339 time like 2026-03-03T02:30:00Z ({e})"))
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}
