//! The run `status` and `rollback` mean when no runbook is given: the most recently written
//! journal in `./.deployctl/` (or `./runbooks/.deployctl/`), then in the parent
//! directories, as git finds `.git`; with `--journal postgres://...`, the journal of that
//! database written last. With `--environment ENV`, only that environment's journals
//! (`NAME@ENV`) are candidates, in files and in the database alike. The command names what
//! it chose, so nobody acts on a guess.

use std::path::{Path, PathBuf};

use crate::commands::Ui;
use crate::journal::{JournalTarget, PgTarget, RunState};

/// A journal found without a runbook, and the name it is kept under.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// Where it is.
    pub journal: JournalTarget,
    /// Its name: the runbook's name, `@ENV` appended for an environment.
    pub key: String,
    /// Where it was looked for, in words ("./.deployctl/", "postgres://...").
    pub searched: String,
}

impl Chosen {
    /// A `Ui` that addresses this journal whatever runbook the command loads.
    pub fn ui(&self, ui: &Ui) -> Ui {
        let mut ui = ui.clone();
        match &self.journal {
            JournalTarget::File(path) => ui.journal = Some(path.clone()),
            JournalTarget::Postgres(_) => {
                ui.environment = self.key.split_once('@').map(|(_, env)| env.to_string());
            }
        }
        ui
    }
}

/// The journal to use when no runbook was given, or why there is none (with a hint).
pub async fn latest_journal(ui: &Ui) -> Result<Chosen, String> {
    match ui.journal.as_deref() {
        Some(given) => match PgTarget::url_of(given) {
            Some(url) => in_database(url, ui.environment.as_deref()).await,
            None => Ok(Chosen {
                key: stem(given),
                journal: JournalTarget::File(given.to_path_buf()),
                searched: "--journal".into(),
            }),
        },
        None => in_directories(ui.environment.as_deref()),
    }
}

async fn in_database(url: &str, environment: Option<&str>) -> Result<Chosen, String> {
    let shown = PgTarget::new(url, "").shown().trim_end_matches('#').to_string();
    match crate::journal::latest_journal(url, environment).await {
        Ok(Some(key)) => Ok(Chosen {
            journal: JournalTarget::Postgres(PgTarget::new(url, &key)),
            key,
            searched: shown,
        }),
        Ok(None) => {
            let of = environment
                .map(|env| format!(" of environment `{env}`"))
                .unwrap_or_default();
            Err(format!(
                "no journal{of} in `{shown}` yet\n  hint: `deployctl run RUNBOOK` starts a run there; or give the runbook"
            ))
        }
        Err(e) => Err(format!("deployctl: {e}\n  hint: {}", e.hint())),
    }
}

fn in_directories(environment: Option<&str>) -> Result<Chosen, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("deployctl: cannot read the current directory: {e}"))?;
    for dir in cwd.ancestors() {
        let candidates = [dir.join(".deployctl"), dir.join("runbooks").join(".deployctl")];
        let newest = candidates
            .iter()
            .flat_map(|d| journals_in(d, environment))
            .max_by_key(|(modified, _)| *modified);
        if let Some((_, path)) = newest {
            return Ok(Chosen {
                key: stem(&path),
                searched: dir.display().to_string(),
                journal: JournalTarget::File(path),
            });
        }
    }
    Err(format!(
        "no journal found in `.deployctl/` or `runbooks/.deployctl/` here ({}) or above\n  hint: give the runbook (`deployctl status runbooks/x.yaml`) or --journal PATH|URL",
        cwd.display()
    ))
}

/// The journals of one directory with their modification times (an unreadable directory
/// has none), only those of `environment` when one is given.
fn journals_in(dir: &Path, environment: Option<&str>) -> Vec<(std::time::SystemTime, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .filter(|p| environment.is_none_or(|env| stem(p).ends_with(&format!("@{env}"))))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect()
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The runbook file of `run`: the one it journaled if it still exists, else (for a file
/// journal `DIR/.deployctl/NAME.jsonl`) the YAML file in `DIR` whose `name` is the run's.
pub fn runbook_of(run: &RunState, journal: &JournalTarget) -> Option<PathBuf> {
    if let Some(file) = run.runbook_file.as_deref().map(PathBuf::from)
        && file.is_file()
    {
        return Some(file);
    }
    let JournalTarget::File(path) = journal else {
        return None;
    };
    let dir = path.parent()?.parent()?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .find(|p| crate::runbook::load::peek_name(p).is_ok_and(|name| name == run.runbook))
}
