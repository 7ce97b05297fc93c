//! `shell`: runs `sh -c <run>` and judges its exit status.
//!
//! Theory of operation: the child leads its own process group, and a [`ProcessGroup`] guard
//! owns it. The guard SIGKILLs the whole group when dropped, which covers every way a step
//! ends: the engine dropping the future on timeout or Ctrl-C (the child is not reaped yet, so
//! its pid still names the group), and a normal exit (background children such as
//! `sleep 100 &` must not outlive their step). stdout and stderr are read concurrently into
//! one [`Excerpt`] in arrival order. Reading stops at the child's exit plus a short drain, not
//! at EOF: an escaped grandchild holding the pipe open must not hang the step.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use super::kind::{Kind, Verdict, rel_path};
use super::process::{ProcessGroup, io_reason, sh};
use super::{Excerpt, StepContext, StepOutcome};
use crate::runbook::Runbook;
use crate::runbook::model::Shell;

/// How much of the command a message shows.
const SHOWN_CHARS: usize = 80;

impl Kind for Shell {
    fn describe(&self, runbook: &Runbook) -> String {
        let cwd = rel_path(&self.cwd, &runbook.workdir);
        let exit = if self.expect_exit != 0 {
            format!(" (expect exit {})", self.expect_exit)
        } else {
            String::new()
        };
        if cwd == "." {
            format!("$ {}{exit}", self.run.display())
        } else {
            format!("$ {} (in {cwd}){exit}", self.run.display())
        }
    }

    fn verdict(&self) -> Verdict {
        Verdict::Opaque
    }

    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        let run = self.run.render(ctx.run_id);
        let shown = ctx.redactor.mask(&one_line(&run)).into_owned();
        let mut command = sh(&run);
        command
            .current_dir(&self.cwd)
            .envs(self.env.iter().map(|(k, v)| (k, v.render(ctx.run_id))));
        let mut group = match ProcessGroup::spawn(&mut command) {
            Ok(group) => group.announce(ctx),
            Err(e) => {
                let reason = format!("cannot start `sh` in `{}`: {}", self.cwd.display(), io_reason(&e));
                return StepOutcome::failed(ctx.redactor.mask(&reason).into_owned());
            }
        };
        let mut excerpt = Excerpt::new();
        let status = group.run_into(&mut excerpt).await;
        let output = excerpt.render(ctx.redactor);
        match status {
            Ok(status) if status.code() == Some(self.expect_exit) => StepOutcome::Done {
                detail: Some(format!("exited with status {}", self.expect_exit)),
                output,
            },
            Ok(status) => {
                StepOutcome::failed_with_output(format!("`{shown}` {}", describe(status, self.expect_exit)), output)
            }
            Err(e) => {
                StepOutcome::failed_with_output(format!("`{shown}`: cannot wait for it: {}", io_reason(&e)), output)
            }
        }
    }
}

/// "exited with status 3 (expected 0)" or "killed by signal 9".
pub(super) fn describe(status: ExitStatus, expected: i32) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code} (expected {expected})"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => format!("ended with {status} (expected {expected})"),
    }
}

/// The command's first line, shortened for one-line messages.
pub(super) fn one_line(run: &str) -> String {
    let first = run.trim().lines().next().unwrap_or_default();
    let more = first.len() < run.trim().len();
    match first.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}…", &first[..cut]),
        None if more => format!("{first} …"),
        None => first.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};
    use std::time::Duration;
    use std::time::Instant;

    use super::*;
    use crate::redact::Redactor;
    use crate::runbook::model::Template;
    use crate::steps::test_server::Fixture;

    fn shell(run: &str) -> Shell {
        Shell {
            run: Template::literal(run),
            cwd: std::env::temp_dir(),
            env: BTreeMap::new(),
            expect_exit: 0,
        }
    }

    async fn run(step: &Shell) -> StepOutcome {
        Fixture::new().run(step).await
    }

    #[tokio::test]
    async fn success_captures_stdout_and_stderr() {
        let outcome = run(&shell("echo out; echo err >&2")).await;
        let StepOutcome::Done { detail, output } = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(detail.as_deref(), Some("exited with status 0"));
        let output = output.unwrap_or_default();
        assert!(output.contains("out\n") && output.contains("err\n"), "{output}");
    }

    #[tokio::test]
    async fn failure_names_command_and_status() {
        let outcome = run(&shell("echo partial; exit 3")).await;
        assert_eq!(
            outcome,
            StepOutcome::failed_with_output(
                "`echo partial; exit 3` exited with status 3 (expected 0)",
                Some("partial\n".into())
            )
        );
    }

    #[tokio::test]
    async fn expect_exit_is_success() {
        let mut step = shell("exit 3");
        step.expect_exit = 3;
        assert!(matches!(run(&step).await, StepOutcome::Done { .. }));
        step.expect_exit = 0;
        step.run = Template::literal("true");
        step.expect_exit = 1;
        let outcome = run(&step).await;
        assert!(
            matches!(&outcome, StepOutcome::Failed { reason, .. } if reason == "`true` exited with status 0 (expected 1)"),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn signal_is_reported() {
        let outcome = run(&shell("kill -9 $$")).await;
        assert!(
            matches!(&outcome, StepOutcome::Failed { reason, .. } if reason.ends_with("killed by signal 9")),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn runs_in_cwd_with_env() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut step = shell("pwd; printf '%s\\n' \"$GREETING\"");
        step.cwd = dir.path().to_path_buf();
        step.env.insert("GREETING".into(), Template::literal("hello there"));
        let outcome = run(&step).await;
        let StepOutcome::Done {
            output: Some(output), ..
        } = outcome
        else {
            panic!("{outcome:?}")
        };
        let mut lines = output.lines();
        let pwd = PathBuf::from(lines.next().unwrap_or_default());
        assert_eq!(pwd.canonicalize().ok(), dir.path().canonicalize().ok());
        assert_eq!(lines.next(), Some("hello there"));
    }

    #[tokio::test]
    async fn missing_cwd_is_named() {
        let mut step = shell("true");
        step.cwd = PathBuf::from("/nonexistent/deployctl-test");
        assert_eq!(
            run(&step).await,
            StepOutcome::failed("cannot start `sh` in `/nonexistent/deployctl-test`: No such file or directory")
        );
    }

    #[tokio::test]
    async fn long_output_is_excerpted() {
        let outcome = run(&shell(
            "echo first; head -c 100000 /dev/zero | tr '\\0' x; echo; echo last",
        ))
        .await;
        let StepOutcome::Done {
            output: Some(output), ..
        } = outcome
        else {
            panic!("{outcome:?}")
        };
        assert!(output.starts_with("first\n"), "{output}");
        assert!(output.ends_with("\nlast\n"), "{output}");
        assert!(output.contains("bytes omitted]…"));
        assert!(output.len() < 4200);
    }

    #[tokio::test]
    async fn secrets_are_masked_in_output_and_reason() {
        let mut redactor = Redactor::default();
        redactor.register("canary-s3cret");
        let fixture = Fixture::with_redactor(redactor);
        let outcome = fixture.run(&shell("echo token=canary-s3cret; exit 1")).await;
        assert_eq!(
            outcome,
            StepOutcome::failed_with_output(
                "`echo token=***; exit 1` exited with status 1 (expected 0)",
                Some("token=***\n".into())
            )
        );
    }

    /// Whether `pid` is gone (or a zombie nobody reaped yet: it runs nothing).
    fn is_gone(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the parenthesized command name.
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
            Err(_) => true,
        }
    }

    async fn assert_all_gone(pids: &[i32]) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !pids.iter().all(|pid| is_gone(*pid)) {
            assert!(Instant::now() < deadline, "still running: {pids:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn read_pids(path: &Path) -> Vec<i32> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    #[tokio::test]
    async fn dropping_the_step_kills_the_whole_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pids = dir.path().join("pids");
        let step = shell(&format!(
            "echo $$ > {p}; sleep 100 & echo $! >> {p}; sleep 100",
            p = pids.display()
        ));
        let fixture = Fixture::new();
        let ctx = fixture.ctx(Duration::from_secs(60));
        let started = Instant::now();
        let result = tokio::time::timeout(Duration::from_millis(300), step.execute(&ctx)).await;
        assert!(result.is_err(), "the step should have been cut off: {result:?}");
        let pids = read_pids(&pids);
        assert_eq!(pids.len(), 2, "sh and the background sleep wrote their pids");
        assert_all_gone(&pids).await;
        assert!(started.elapsed() < Duration::from_secs(6));
    }

    #[tokio::test]
    async fn background_children_die_after_a_clean_exit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pids = dir.path().join("pids");
        let step = shell(&format!("sleep 100 & echo $! > {}; echo started", pids.display()));
        let started = Instant::now();
        let outcome = run(&step).await;
        assert!(
            matches!(&outcome, StepOutcome::Done { output: Some(o), .. } if o == "started\n"),
            "{outcome:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "did not hang on the inherited pipe"
        );
        let pids = read_pids(&pids);
        assert_eq!(pids.len(), 1);
        assert_all_gone(&pids).await;
    }

    #[test]
    fn one_line_shortens() {
        assert_eq!(one_line("echo hi"), "echo hi");
        assert_eq!(one_line("set -e\nmake"), "set -e …");
        assert_eq!(one_line(&"x".repeat(100)), format!("{}…", "x".repeat(80)));
    }
}
