//! Reading a runbook file: bounded, UTF-8, YAML with alias and nesting budgets, then validation.
//!
//! Hostile input is expected (a runbook is code review's output, not always its input): the
//! file is read up to [`MAX_RUNBOOK_BYTES`], the parser refuses alias bombs and deep nesting
//! before they cost memory, and every problem comes back as a [`Diagnostic`] with a position.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::diagnostic::{Diagnostic, Pos, Severity};
use super::model::Runbook;
use super::raw::RawRunbook;
use super::source::Source;
use super::validate::{Inputs, validate};
use crate::redact::Redactor;

/// Largest runbook accepted. Real runbooks are a few KiB; 10,000 steps fit in about 1 MiB.
pub const MAX_RUNBOOK_BYTES: u64 = 4 * 1024 * 1024;

/// Deepest YAML nesting accepted.
const MAX_DEPTH: usize = 64;

/// Most YAML nodes (each mapping, list and scalar counts one) accepted. A one-line step such
/// as `- { id: a, shell: "true" }` is 5 nodes, so this is some 50,000 steps: far past any
/// deployment a person reviews, and it bounds memory before validation starts.
const MAX_NODES: usize = 250_000;

/// Most YAML events accepted (a node is one or two events).
const MAX_EVENTS: usize = 2_000_000;

/// What loading needs besides the file.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The environment snapshot references resolve against.
    pub env: BTreeMap<String, String>,
    /// `--var NAME=VALUE` overrides.
    pub vars: BTreeMap<String, String>,
}

/// A runbook that loaded: the model, its digest, its warnings and its secrets.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Path as given.
    pub path: PathBuf,
    /// The valid model.
    pub runbook: Runbook,
    /// Lowercase hex sha256 of the file's bytes.
    pub sha256: String,
    /// Warnings (no errors: those make loading fail).
    pub warnings: Vec<Diagnostic>,
    /// Secrets met while resolving, for masking output.
    pub redactor: Redactor,
    /// Every `${env.X}` the runbook resolved, and how: with the vars, what binds a run to
    /// its inputs.
    pub env_used: std::collections::BTreeMap<String, crate::runbook::interpolate::EnvUse>,
}

/// Why a runbook did not load.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{path}: cannot read runbook: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The runbook has problems (at least one error).
    #[error("{path}: runbook is invalid ({} problems)", diagnostics.len())]
    Invalid {
        /// The path.
        path: PathBuf,
        /// All problems, errors and warnings, in file order.
        diagnostics: Vec<Diagnostic>,
    },
}

/// Reads, parses and validates the runbook at `path`.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Loaded, LoadError> {
    let bytes = read_bounded(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load_bytes(path, &bytes, options)
}

/// Parses and validates runbook bytes as if read from `path` (relative paths in the runbook
/// resolve next to it). Separate from the file read so fuzzers and tests feed bytes directly.
pub fn load_bytes(path: &Path, bytes: &[u8], options: &LoadOptions) -> Result<Loaded, LoadError> {
    let invalid = |diagnostics| LoadError::Invalid {
        path: path.to_path_buf(),
        diagnostics,
    };
    let sha256 = hex::encode(Sha256::digest(bytes));
    if bytes.len() as u64 > MAX_RUNBOOK_BYTES {
        return Err(invalid(vec![
            Diagnostic::error(
                Pos::FILE,
                format!("runbook is larger than {} MiB", MAX_RUNBOOK_BYTES >> 20),
            )
            .with_hint("split it, or check that this is the file you meant"),
        ]));
    }
    let text = decode(bytes).map_err(|d| invalid(vec![d]))?;
    let source = Source::new(text);
    let raw = parse(text).map_err(|d| invalid(vec![d]))?;
    let runbook_dir = std::path::absolute(path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let inputs = Inputs {
        env: &options.env,
        var_overrides: &options.vars,
        runbook_dir: &runbook_dir,
    };
    let validated = validate(&raw, &source, &inputs);
    match validated.runbook {
        Some(runbook) => Ok(Loaded {
            path: path.to_path_buf(),
            runbook,
            sha256,
            warnings: validated.diagnostics,
            redactor: validated.redactor,
            env_used: validated.env_used,
        }),
        None => Err(invalid(validated.diagnostics)),
    }
}

/// Reads only the runbook's `name` (for finding its journal when the runbook need not be
/// valid today, e.g. `status` after an env variable was unset).
pub fn peek_name(path: &Path) -> Result<String, LoadError> {
    let bytes = read_bounded(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |d| LoadError::Invalid {
        path: path.to_path_buf(),
        diagnostics: vec![d],
    };
    let text = decode(&bytes).map_err(invalid)?;
    parse(text).map(|raw| raw.name.value).map_err(invalid)
}

/// Parses text into the raw shapes (the first shape error only: serde stops there).
pub fn parse(text: &str) -> Result<RawRunbook, Diagnostic> {
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(Diagnostic::error(Pos::FILE, "runbook is empty")
            .with_hint("a runbook starts with `deployctl: 1`, a `name` and `phases`"));
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_nodes: MAX_NODES,
            max_events: MAX_EVENTS,
            max_aliases: 10_000,
            max_anchors: 10_000,
            max_documents: 1,
        },
        alias_limits: alias_limits(),
        // The docs refuse `<<:`: a merged key's position is the anchor's, not the step's,
        // and a merge silently loses to a key written beside it.
        merge_keys: serde_saphyr::MergeKeyPolicy::Error,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options::<RawRunbook>(text, options).map_err(to_diagnostic)
}

/// Far below the defaults: a runbook has no reason to replay more than a few defaults blocks.
fn alias_limits() -> serde_saphyr::options::AliasLimits {
    let mut limits = serde_saphyr::options::AliasLimits::default();
    limits.max_total_replayed_events = 100_000;
    limits.max_replay_stack_depth = 16;
    limits.max_alias_expansions_per_anchor = 1_000;
    limits
}

fn to_diagnostic(error: serde_saphyr::Error) -> Diagnostic {
    let pos = error
        .location()
        .map(|l| Pos {
            line: u32::try_from(l.line()).unwrap_or(u32::MAX),
            col: u32::try_from(l.column()).unwrap_or(u32::MAX),
        })
        .filter(|p| p.line > 0)
        .unwrap_or(Pos::FILE);
    let message = limit_message(&error).unwrap_or_else(|| clean_message(&error.to_string()));
    let hint = hint_for(&message);
    let d = Diagnostic::error(pos, message);
    match hint {
        Some(h) => d.with_hint(h),
        None => d,
    }
}

/// The limits a runbook can hit, named in words (serde-saphyr's own text is a debug dump
/// such as `budget breached: Nodes { nodes: 250001 }`).
fn limit_message(error: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::budget::BudgetBreach;
    match error.without_snippet() {
        serde_saphyr::Error::MergeKeyNotAllowed { .. } => Some("YAML merge keys (`<<:`) are not supported".into()),
        serde_saphyr::Error::Budget { breach, .. } => match breach {
            BudgetBreach::Nodes { .. } => Some(format!(
                "the runbook has more than {} YAML values (each mapping, list and scalar counts; a one-line step is about 5)",
                thousands(MAX_NODES)
            )),
            BudgetBreach::Events { .. } => Some(format!(
                "the runbook has more than {} YAML parser events",
                thousands(MAX_EVENTS)
            )),
            BudgetBreach::Depth { .. } => Some(format!("the runbook nests deeper than {MAX_DEPTH} levels")),
            BudgetBreach::Documents { .. } => Some("the file holds more than one YAML document (`---`)".into()),
            _ => None,
        },
        _ => None,
    }
}

/// `250000` as `250,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// serde-saphyr appends " at line X column Y" and some advice meant for programmers; we
/// print the position in front and speak about the runbook instead.
fn clean_message(raw: &str) -> String {
    let first = raw.lines().next().unwrap_or(raw).trim();
    let cut = first.find(" at line ").map_or(first, |i| &first[..i]);
    let cut = cut.split(", set DuplicateKeyPolicy").next().unwrap_or(cut);
    if let Some(key) = cut.strip_prefix("duplicate mapping key: ") {
        return format!("duplicate key `{key}`");
    }
    if cut.contains("Documents {") {
        return "the file holds more than one YAML document (`---`)".into();
    }
    if cut.contains("budget breached") && cut.contains("Depth") {
        return format!("the runbook nests deeper than {MAX_DEPTH} levels");
    }
    if cut.starts_with("invalid i64") || cut.starts_with("invalid u64") {
        return "expected a whole number".into();
    }
    if cut.starts_with("invalid f64") {
        return "expected a number".into();
    }
    if cut == "expected mapping start" {
        return "expected a mapping".into();
    }
    let mut message = cut.trim_end_matches('.').to_string();
    if let Some(first_char) = message.get(..1) {
        let lower = first_char.to_lowercase();
        message.replace_range(..1, &lower);
    }
    message
}

fn hint_for(message: &str) -> Option<&'static str> {
    let m = message.to_lowercase();
    if m.contains("unknown field") {
        Some("check the spelling; docs/runbook-format.md lists every field")
    } else if m.contains("duplicate key") {
        Some("each key may appear once per mapping")
    } else if m.contains("more than one yaml document") {
        Some("a runbook file holds one document: remove the `---` separator and what follows")
    } else if m == "expected a mapping" {
        Some("a runbook is a mapping with `deployctl: 1`, `name` and `phases`")
    } else if m.contains("merge keys") {
        Some("write the keys out in each mapping; an alias (`*name`) may still stand for a whole value")
    } else if m.contains("yaml values") || m.contains("parser events") {
        Some("split the deployment into several runbooks, one per stage")
    } else if m.contains("alias") || m.contains("budget") || m.contains("depth") {
        Some("the runbook expands to too much data (an alias bomb or deep nesting); write it out plainly")
    } else if m.contains("missing field") {
        Some("docs/runbook-format.md lists the required fields")
    } else if m.contains("tab") {
        Some("indent YAML with spaces, not tabs")
    } else {
        None
    }
}

/// Reads at most one byte past the limit, so a huge file costs nothing.
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_RUNBOOK_BYTES + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// UTF-8 with an optional BOM; the error points at the first bad byte.
fn decode(bytes: &[u8]) -> Result<&str, Diagnostic> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let pos = std::str::from_utf8(valid)
            .map(|v| Source::new(v).pos_at(v.len()))
            .unwrap_or(Pos::FILE);
        Diagnostic::error(pos, "runbook is not valid UTF-8").with_hint("save the file as UTF-8")
    })
}

impl Loaded {
    /// Warnings only (loading succeeded, so there are no errors).
    pub fn has_warnings(&self) -> bool {
        self.warnings.iter().any(|d| d.severity == Severity::Warning)
    }
}
