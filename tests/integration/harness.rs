//! A fluent way to run the real `deployctl` binary and read what it did.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture path under tests/fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    repo().join("tests/fixtures").join(rel)
}

/// One invocation of deployctl being prepared.
pub struct Deployctl {
    cmd: Command,
}

/// What an invocation did.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// stdout of `--output json`: one JSON value a line.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect()
    }

    /// Asserts a `run` refused with exit 6 because the process `pid` of operator `gage`
    /// holds the journal's lock.
    pub fn assert_locked_by(&self, pid: u32) {
        assert_eq!(self.code, 6, "{}", self.stderr);
        assert!(self.stderr.contains(&format!("locked by pid {pid}")), "{}", self.stderr);
        assert!(self.stderr.contains("gage"), "names the operator: {}", self.stderr);
    }
}

impl Deployctl {
    /// deployctl with a clean environment for references (no DEPLOYCTL_* leaking in).
    pub fn new() -> Self {
        let mut cmd = Command::cargo_bin("deployctl").expect("binary built by cargo");
        for (key, _) in std::env::vars() {
            if key.starts_with("DEPLOYCTL_") || key.contains("TOKEN") || key.contains("DATABASE_URL") {
                cmd.env_remove(key);
            }
        }
        cmd.env("NO_COLOR", "1");
        Deployctl { cmd }
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(mut self, args: I) -> Self {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    pub fn run(mut self) -> Outcome {
        let output = self.cmd.output().expect("deployctl runs");
        let outcome = Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert!(
            !outcome.stderr.contains("panicked"),
            "deployctl panicked:\n{}",
            outcome.stderr
        );
        outcome
    }
}

/// All files with `ext` under `dir`, recursively, sorted.
pub fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("fixture dir readable") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Polls `cond` every 20 ms until it holds or `secs` pass; returns whether it held.
pub fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    cond()
}

/// The lines of a side file steps append to (none when it does not exist yet).
pub fn lines(ws: &Workspace, file: &str) -> Vec<String> {
    std::fs::read_to_string(ws.file(file))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A scratch directory holding one runbook; the journal goes next to it.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new(runbook: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("r.yaml"), runbook).expect("write runbook");
        Workspace { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn rewrite(&self, runbook: &str) {
        std::fs::write(self.file("r.yaml"), runbook).expect("write runbook");
    }

    /// `deployctl ARGS... r.yaml` style invocations run in the workspace.
    pub fn deployctl(&self) -> Deployctl {
        Deployctl::new()
            .current_dir(self.path())
            .env("DEPLOYCTL_OPERATOR", "gage")
    }

    /// The journal's entries as JSON values.
    pub fn journal(&self, name: &str) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.journal_path(name)).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
            .collect()
    }

    pub fn journal_path(&self, name: &str) -> PathBuf {
        self.path().join(".deployctl").join(format!("{name}.jsonl"))
    }

    /// Events of one type.
    pub fn events(&self, name: &str, kind: &str) -> Vec<serde_json::Value> {
        self.journal(name)
            .into_iter()
            .filter(|e| e["event"]["type"] == kind)
            .map(|e| e["event"].clone())
            .collect()
    }

    /// Starts `deployctl run r.yaml` in the background.
    pub fn spawn_run(&self) -> std::process::Child {
        self.spawn_run_with_env(&[])
    }

    /// Starts `deployctl run r.yaml` in the background with extra environment variables.
    pub fn spawn_run_with_env(&self, env: &[(&str, &str)]) -> std::process::Child {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("deployctl"))
            .args(["run", "r.yaml"])
            .current_dir(self.path())
            .env("DEPLOYCTL_OPERATOR", "gage")
            .env_remove("DEPLOYCTL_JOURNAL")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn deployctl")
    }
}

/// Whether a process id is still alive (not a zombie we own).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.split(") ").nth(1).is_some_and(|rest| rest.starts_with('Z')),
        Err(_) => false,
    }
}
