//! Process groups a killed deployctl left behind.
//!
//! A step's child leads its own process group, and deployctl kills the group when the step
//! ends, times out or is interrupted. Only when deployctl itself dies without a chance to
//! (kill -9, the OOM killer, a lost machine) does the group outlive it. Each group is
//! journaled when it starts ([`Event::ProcessStarted`](crate::event::Event)); on resume the
//! groups whose end is not journaled are looked up, and while one still runs, its step is
//! neither retried nor re-run: the run waits (exit 3), naming the group, until it ends or
//! `deployctl unlock --kill-orphans` kills it.
//!
//! A group is "ours" when a process of it still runs (zombies aside) and, if its leader still lives, the leader's
//! start time matches the journal: Linux never hands out a pid that is still in use as a
//! group id, so a group whose leader has exited cannot be a stranger's. Groups on another
//! host cannot be checked from here: they are named as a warning. Group ids 0 and 1 and
//! deployctl's own group are never signalled, whatever a journal says.

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Pid, getpgrp};

use crate::journal::{ProcessRecord, RunState};
use crate::steps::{group_runs, leader_start};

/// How long [`kill`] waits for a killed group to be gone.
const KILL_DEADLINE: Duration = Duration::from_secs(5);

/// The run's journaled groups: those alive on this host, and those on other hosts that
/// nobody here can check.
pub(crate) fn find<'r>(run: &'r RunState, host: &str) -> (Vec<&'r ProcessRecord>, Vec<&'r ProcessRecord>) {
    let (here, elsewhere): (Vec<_>, Vec<_>) = run.processes.iter().partition(|p| p.host == host);
    (here.into_iter().filter(|p| alive(p)).collect(), elsewhere)
}

/// Whether the journaled group still runs (and is the one journaled).
pub(crate) fn alive(record: &ProcessRecord) -> bool {
    if !signallable(record.pgid) {
        return false;
    }
    if !group_runs(record.pgid) {
        return false;
    }
    match (record.leader_start, leader_start(record.pgid)) {
        (Some(journaled), Some(now)) => journaled == now,
        _ => true,
    }
}

/// SIGKILLs the group and waits until it is gone; `Err` says why it could not.
pub(crate) async fn kill(record: &ProcessRecord) -> Result<(), String> {
    if !signallable(record.pgid) {
        return Err(format!("refusing to signal process group {}", record.pgid));
    }
    match killpg(Pid::from_raw(record.pgid), Signal::SIGKILL) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => return Err(format!("cannot kill process group {}: {}", record.pgid, e.desc())),
    }
    let deadline = Instant::now() + KILL_DEADLINE;
    while alive(record) {
        if Instant::now() >= deadline {
            return Err(format!(
                "process group {} still runs {}s after SIGKILL (a process in uninterruptible sleep?)",
                record.pgid,
                KILL_DEADLINE.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Group ids a journal may never make deployctl signal: 0 and 1 mean "my group" and
/// "init's" (or every process, for negative ids), and deployctl's own group holds itself.
fn signallable(pgid: i32) -> bool {
    pgid > 1 && pgid != getpgrp().as_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pgid: i32, leader_start: Option<u64>) -> ProcessRecord {
        ProcessRecord {
            step: "s".into(),
            pgid,
            leader_start,
            host: "h".into(),
            at: chrono::Utc::now(),
        }
    }

    #[test]
    fn group_ids_that_would_hit_other_processes_are_never_alive() {
        for pgid in [-1, 0, 1, getpgrp().as_raw()] {
            assert!(!alive(&record(pgid, None)), "pgid {pgid}");
        }
    }

    #[tokio::test]
    async fn group_ids_that_would_hit_other_processes_are_never_killed() {
        for pgid in [-1, 0, 1, getpgrp().as_raw()] {
            assert!(kill(&record(pgid, None)).await.is_err(), "pgid {pgid}");
        }
    }

    #[tokio::test]
    async fn a_living_group_is_alive_until_killed_and_a_reused_id_is_not_ours() {
        let mut child = tokio::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn sleep");
        let pgid = i32::try_from(child.id().expect("pid")).expect("pid fits");
        let start = leader_start(pgid);
        assert!(start.is_some());
        assert!(alive(&record(pgid, start)));
        assert!(alive(&record(pgid, None)));
        assert!(
            !alive(&record(pgid, start.map(|s| s + 1))),
            "another leader's start time"
        );
        let waiting = tokio::spawn(async move { child.wait().await });
        kill(&record(pgid, start)).await.expect("killed");
        assert!(!waiting.await.expect("join").expect("wait").success());
        assert!(!alive(&record(pgid, start)));
    }
}
