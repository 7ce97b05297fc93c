//! The disk fills up under a run: deployctl stops with a clear error naming the journal and
//! a non-zero exit, and the journal stays readable (every line written parses; a line cut
//! by the full disk only as the last one, which the reader drops with a warning).
//!
//! Two real ways to fill it: a file-size limit (`RLIMIT_FSIZE`, any user; the kernel
//! answers the write with `EFBIG` once deployctl ignores `SIGXFSZ`), and a 64 KiB tmpfs
//! (needs root and a kernel that lets us mount; skipped with a note otherwise).

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use nix::sys::resource::{Resource, setrlimit};

use crate::harness::Workspace;

/// Thirty steps printing 3 KiB each: about 100 KiB of journal.
fn chatty() -> String {
    let mut runbook = String::from("deployctl: 1\nname: chatty\nphases:\n  - id: p\n    steps:\n");
    for i in 0..30 {
        runbook.push_str(&format!(
            "      - {{ id: s{i}, shell: \"head -c 3000 /dev/zero | tr '\\\\0' x\", idempotent: true }}\n"
        ));
    }
    runbook
}

fn deployctl(ws: &Workspace, journal: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("deployctl"));
    cmd.args(["run", "r.yaml", "--journal"])
        .arg(journal)
        .current_dir(ws.path())
        .env("DEPLOYCTL_OPERATOR", "gage")
        .env("NO_COLOR", "1")
        .env_remove("DEPLOYCTL_JOURNAL");
    cmd
}

fn assert_stopped_cleanly(output: &std::process::Output, journal: &Path) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let code = output.status.code();
    assert!(
        code.is_some_and(|c| c != 0),
        "deployctl exits non-zero (not killed by a signal): {:?}\n{stderr}",
        output.status
    );
    assert!(
        stderr.contains(&journal.display().to_string()),
        "the error names the journal:\n{stderr}"
    );
    let bytes = std::fs::read(journal).expect("the journal is still there");
    let read = deployctl::journal::parse(journal, &bytes).expect("every line written parses");
    assert!(!read.entries.is_empty(), "entries before the disk filled up were kept");
    assert!(
        bytes.len() < 100 * 1024,
        "the disk really filled up before the run ended ({} bytes)",
        bytes.len()
    );
}

#[test]
fn a_file_size_limit_stops_the_run_with_an_error_naming_the_journal() {
    let ws = Workspace::new(&chatty());
    let journal = ws.file("j.jsonl");
    let limit = 24 * 1024;
    let mut cmd = deployctl(&ws, &journal);
    // SAFETY: only async-signal-safe work (one setrlimit) between fork and exec.
    unsafe {
        cmd.pre_exec(move || setrlimit(Resource::RLIMIT_FSIZE, limit, limit).map_err(std::io::Error::from));
    }
    let output = cmd.output().expect("deployctl runs");
    assert_stopped_cleanly(&output, &journal);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("too large") || stderr.contains("File too large"),
        "{stderr}"
    );
    let status = ws
        .deployctl()
        .args(["status", "r.yaml", "--journal", &journal.to_string_lossy()])
        .run();
    assert_eq!(status.code, 0, "status reads what was written:\n{}", status.stderr);
}

/// A tmpfs of 64 KiB, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Option<Tmpfs> {
        if !nix::unistd::geteuid().is_root() {
            return None;
        }
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                // A tmpfs's root is mode 1777 by default; deployctl refuses a journal
                // directory other users can write.
                "size=64k,mode=0700",
                "deployctl-test",
                &dir.path().to_string_lossy(),
            ])
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { dir })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_filesystem_stops_the_run_with_an_error_naming_the_journal() {
    let Some(fs) = Tmpfs::mount() else {
        println!(
            "skipped: mounting a tmpfs needs root and a kernel that allows it; the file-size limit test covers EFBIG"
        );
        return;
    };
    let ws = Workspace::new(&chatty());
    let journal = fs.dir.path().join("j.jsonl");
    let output = deployctl(&ws, &journal).output().expect("deployctl runs");
    assert_stopped_cleanly(&output, &journal);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("No space left on device"), "{stderr}");
}
