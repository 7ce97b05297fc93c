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
