//! Child processes a step runs (`shell`, `backup`, `rolling_restart`): each is spawned by
//! [`ProcessGroup::spawn`], leads its own process group and is killed as a whole.
//!
//! The engine cancels a step by dropping its future (timeout, Ctrl-C); a [`ProcessGroup`]
//! guard then SIGKILLs the whole group, so children such as `sleep 100 &` never outlive
//! their step. After a normal exit the group is killed too (orphans left behind) unless
//! [`ProcessGroup::spare_survivors`] says otherwise, and the pipes are drained for at most
//! [`DRAIN`] in case a grandchild that left the group still holds them open. stdin is
//! always `/dev/null`: a step never waits for a terminal.

use std::cell::RefCell;
use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

use super::{Excerpt, Progress, StepContext};
use crate::event::Event;

/// By absolute path: a `PATH` lookup costs several failed `execve`s per step, and a runbook
/// must not run a different `sh` because of the operator's `PATH`.
const SHELL: &str = "/bin/sh";
/// How long output is still read after the child exits.
const DRAIN: Duration = Duration::from_millis(500);

/// `/bin/sh -c <script>`, ready for more settings (cwd, env) and [`ProcessGroup::spawn`].
pub(super) fn sh(script: &str) -> Command {
    let mut command = Command::new(SHELL);
    command.arg("-c").arg(script);
    command
}

/// A child leading its own process group; the group is SIGKILLed on drop.
pub(super) struct ProcessGroup {
    pgid: Option<Pid>,
    child: Child,
    /// Whether children left behind after a normal exit are killed too.
    kill_survivors: bool,
    /// Where the group's start and end were announced (the engine journals them), with the
    /// step's id; `None` when nobody is listening (a dry-run probe, a kind's unit test).
    announced: Option<(tokio::sync::mpsc::UnboundedSender<Progress>, String)>,
}

impl ProcessGroup {
    /// Starts `command` as the leader of a new process group, stdin from `/dev/null`,
    /// stdout and stderr piped for [`ProcessGroup::run`].
    pub(super) fn spawn(command: &mut Command) -> io::Result<Self> {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()?;
        Ok(Self::new(child))
    }

    fn new(child: Child) -> Self {
        let pgid = child.id().and_then(|id| i32::try_from(id).ok()).map(Pid::from_raw);
        ProcessGroup {
            pgid,
            child,
            kill_survivors: true,
            announced: None,
        }
    }

    /// Tells the engine the group started, so it is on disk before the step goes on: if
    /// deployctl itself is killed (kill -9, the OOM killer, a lost terminal), the group
    /// outlives it, and a resume must not retry the step beside it.
    pub(super) fn announce(mut self, ctx: &StepContext<'_>) -> Self {
        if let (Some(live), Some(pgid)) = (ctx.live, self.pgid) {
            let step = ctx.step_id.to_string();
            let _ = live.progress.send(Progress::Event(Event::ProcessStarted {
                step: step.clone(),
                pgid: pgid.as_raw(),
                leader_start: leader_start(pgid.as_raw()),
            }));
            self.announced = Some((live.progress.clone(), step));
        }
        self
    }

    /// Leaves what the command started in the background alive after it exits normally: a
    /// service's `restart` command exists to leave the new service running. A timeout or a
    /// signal still kills the whole group.
    pub(super) fn spare_survivors(mut self) -> Self {
        self.kill_survivors = false;
        self
    }

    /// Feeds output to the sinks until the child exits, kills the group, drains the pipes.
    pub(super) async fn run(
        &mut self,
        on_out: &mut dyn FnMut(&[u8]),
        on_err: &mut dyn FnMut(&[u8]),
    ) -> io::Result<ExitStatus> {
        let mut stdout = self.child.stdout.take();
        let mut stderr = self.child.stderr.take();
        let (mut out_buf, mut err_buf) = ([0u8; 8192], [0u8; 8192]);
        let status = loop {
            tokio::select! {
                Some(n) = read_some(&mut stdout, &mut out_buf) => on_out(&out_buf[..n]),
                Some(n) = read_some(&mut stderr, &mut err_buf) => on_err(&err_buf[..n]),
                status = self.child.wait() => break status?,
            }
        };
        if self.kill_survivors {
            self.kill();
            // The child is reaped: once what it left behind is gone the id may be reused, so
            // the guard must not signal it again when it is dropped.
            self.pgid = None;
        } else {
            // The child is reaped: its pid no longer pins the group, so never signal it again.
            // What it left running is meant to outlive the step: no orphan of a killed run.
            if let (Some((progress, step)), Some(pgid)) = (&self.announced, self.pgid) {
                let _ = progress.send(Progress::Event(Event::ProcessEnded {
                    step: step.clone(),
                    pgid: pgid.as_raw(),
                }));
            }
            self.pgid = None;
        }
        let drain = async {
            while stdout.is_some() || stderr.is_some() {
                tokio::select! {
                    n = read_some(&mut stdout, &mut out_buf) => if let Some(n) = n { on_out(&out_buf[..n]) },
                    n = read_some(&mut stderr, &mut err_buf) => if let Some(n) = n { on_err(&err_buf[..n]) },
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN, drain).await;
        Ok(status)
    }

    /// [`ProcessGroup::run`] with both streams fed to one excerpt, in arrival order. Dropping
    /// the future (a timeout) leaves in `excerpt` what arrived so far.
    pub(super) async fn run_into(&mut self, excerpt: &mut Excerpt) -> io::Result<ExitStatus> {
        let shared = RefCell::new(excerpt);
        self.run(&mut |bytes| shared.borrow_mut().push(bytes), &mut |bytes| {
            shared.borrow_mut().push(bytes)
        })
        .await
    }

    fn kill(&self) {
        if let Some(pgid) = self.pgid {
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // Runs before `child` is dropped, so an unreaped child still pins the pgid.
        self.kill();
    }
}

/// When process `pid` started, in clock ticks since boot (`/proc/PID/stat`, field 22):
/// with the pid, it names one process for the life of the machine, so a group id reused
/// by a later process is not taken for the one journaled. `None` if it is gone.
pub(crate) fn leader_start(pid: i32) -> Option<u64> {
    stat_fields(&format!("/proc/{pid}/stat"))?
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

/// Whether any process of group `pgid` still runs (zombies, which run nothing, aside).
/// Read from `/proc` rather than asked with `kill(-pgid, 0)`, which counts zombies that no
/// one reaps (a container's init may not) as alive.
pub(crate) fn group_runs(pgid: i32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    let wanted = pgid.to_string();
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|e| stat_fields(&e.path().join("stat").to_string_lossy()))
        .any(|fields| {
            let mut fields = fields.split_whitespace();
            fields.next().is_some_and(|state| state != "Z") && fields.nth(1) == Some(wanted.as_str())
        })
}

/// The text of a `/proc/PID/stat` after the command name (the state first), or `None` if
/// the process is gone. One `read` into a buffer on the stack: it is read once per step.
fn stat_fields(path: &str) -> Option<String> {
    use std::io::Read;
    let mut buf = [0u8; 1024];
    let n = std::fs::File::open(path).ok()?.read(&mut buf).ok()?;
    let stat = std::str::from_utf8(buf.get(..n)?).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces or `)`.
    Some(stat[stat.rfind(')')? + 1..].to_owned())
}

/// An I/O error without the `(os error N)` suffix.
pub(super) fn io_reason(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Reads from a pipe: `Some(n > 0)`, or `None` once at EOF/error, closing it.
async fn read_some<R: AsyncRead + Unpin>(pipe: &mut Option<R>, buf: &mut [u8]) -> Option<usize> {
    let Some(reader) = pipe else {
        return std::future::pending().await;
    };
    match reader.read(buf).await {
        Ok(n) if n > 0 => Some(n),
        _ => {
            *pipe = None;
            None
        }
    }
}
