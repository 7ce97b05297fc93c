//! `rolling_restart`: restarts services batch by batch, each batch only after the last one
//! is healthy, and stops at the first batch that breaks the failure budget.
//!
//! Theory of operation: batches are cut from the full `services` list, so a resumed restart
//! keeps the same batches and merely skips the services the journal already shows healthy.
//! Within a batch every service is restarted and polled concurrently. A service counts as
//! up after `consecutive_ok` 2xx answers in a row from its health URL within
//! `health_timeout` of its restart command returning; the restart command itself gets the
//! same limit. Each service's verdict is journaled the moment it is known, and the next
//! batch starts only once the engine says the verdicts are on disk ([`Live::synced`]): a
//! crash between two batches cannot leave a restarted service that a resume restarts again.
//!
//! The restart command runs like a `shell` step (`/bin/sh -c`, in the runbook's workdir, in
//! its own process group) except that what it leaves running in the background survives
//! it: starting a service is its job. A command that starts the service in the background
//! must detach it and redirect its output (`setsid cmd >log 2>&1 &`).

use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::Instant;

use super::kind::Kind;
use super::process::{ProcessGroup, io_reason, sh};
use super::shell::{describe, one_line};
use super::{Excerpt, Live, StepContext, StepOutcome};
use crate::event::{Event, ServiceResult};
use crate::runbook::Runbook;
use crate::runbook::duration::format as dur;
use crate::runbook::model::{Batch, RollingRestart, Service};

/// Fastest and slowest health polling, whatever `health_timeout` says.
const POLL_MIN: Duration = Duration::from_millis(50);
const POLL_MAX: Duration = Duration::from_secs(1);
/// The most one health request may take.
const REQUEST_MAX: Duration = Duration::from_secs(5);

/// One service's verdict.
struct Verdict {
    service: String,
    result: ServiceResult,
    reason: Option<String>,
}

impl Kind for RollingRestart {
    fn describe(&self, _runbook: &Runbook) -> String {
        let batches = match &self.batch {
            Batch::Count(n) => format!("{n} at a time"),
            Batch::Percent(p) => format!("{p}% at a time"),
            Batch::Ramp(sizes) => format!("batches of {sizes:?}"),
        };
        format!(
            "restart {} ({batches}, healthy within {})",
            self.services.join(", "),
            dur(self.health_timeout)
        )
    }

    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        match ctx.live {
            Some(live) => run(self, ctx, live).await,
            None => ctx.fail("a rolling restart needs the run's services and progress channel"),
        }
    }
}

async fn run(step: &RollingRestart, ctx: &StepContext<'_>, live: &Live<'_>) -> StepOutcome {
    let sizes = step.batch.sizes(step.services.len());
    let mut rest = step.services.as_slice();
    let (mut healthy, mut failed) = (Vec::new(), Vec::<Verdict>::new());
    let already = step.services.iter().filter(|s| live.services_done.contains(*s)).count();
    for (number, size) in (1u32..).zip(sizes) {
        let (batch, next) = rest.split_at(size.min(rest.len()));
        rest = next;
        let todo: Vec<&String> = batch.iter().filter(|s| !live.services_done.contains(*s)).collect();
        if todo.is_empty() {
            continue;
        }
        let verdicts = join_all(todo.iter().map(|name| restart_one(step, name, number, ctx, live))).await;
        // The batch's verdicts are on disk before the next batch is touched: a crash in
        // between must not leave a restarted service the journal does not know.
        live.synced().await;
        for verdict in verdicts {
            match verdict.result {
                ServiceResult::Healthy => healthy.push(verdict.service),
                _ => failed.push(verdict),
            }
        }
        if failed.len() > step.max_failed as usize {
            let untouched: Vec<&str> = rest.iter().map(String::as_str).collect();
            return StepOutcome::failed(over_budget(step, number, &failed, &untouched));
        }
    }
    let mut detail = format!("{} restarted and healthy", count(healthy.len(), "service"));
    if already > 0 {
        detail.push_str(&format!(" ({already} already done before)"));
    }
    if !failed.is_empty() {
        let names: Vec<&str> = failed.iter().map(|v| v.service.as_str()).collect();
        detail.push_str(&format!(
            "; {} failed within max_failed {}: {}",
            failed.len(),
            step.max_failed,
            names.join(", ")
        ));
    }
    StepOutcome::Done {
        detail: Some(detail),
        output: None,
    }
}

fn over_budget(step: &RollingRestart, batch: u32, failed: &[Verdict], untouched: &[&str]) -> String {
    let each: Vec<String> = failed
        .iter()
        .map(|v| format!("`{}` {}", v.service, v.reason.as_deref().unwrap_or("failed")))
        .collect();
    let mut reason = format!(
        "batch {batch}: {} failed, over max_failed {}: {}",
        count(failed.len(), "service"),
        step.max_failed,
        each.join("; ")
    );
    if !untouched.is_empty() {
        reason.push_str(&format!("; not restarted: {}", untouched.join(", ")));
    }
    reason
}

/// Restarts one service, waits for it to be healthy, and journals the verdict.
async fn restart_one(step: &RollingRestart, name: &str, batch: u32, ctx: &StepContext<'_>, live: &Live<'_>) -> Verdict {
    let started = Instant::now();
    let (result, reason) = match live.services.get(name) {
        // The validator guarantees the name; a journal from an edited runbook might not.
        None => (
            ServiceResult::RestartFailed,
            Some(format!("`{name}` is not in the runbook's services")),
        ),
        Some(service) => match restart(service, step.health_timeout, ctx, live).await {
            Err(reason) => (ServiceResult::RestartFailed, Some(reason)),
            Ok(()) => {
                polling(name, batch, service, ctx, live);
                match healthy(service, step, ctx).await {
                    Ok(detail) => (ServiceResult::Healthy, Some(detail)),
                    Err(reason) => (ServiceResult::Unhealthy, Some(reason)),
                }
            }
        },
    };
    let reason = reason.map(|r| ctx.redactor.mask(&r).into_owned());
    live.report(Event::ServiceRestarted {
        step: ctx.step_id.to_string(),
        service: name.to_string(),
        batch,
        result,
        reason: reason.clone(),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    });
    Verdict {
        service: name.to_string(),
        result,
        reason,
    }
}

/// Says which service is being waited on, and where, before its health is polled.
fn polling(name: &str, batch: u32, service: &Service, ctx: &StepContext<'_>, live: &Live<'_>) {
    let url = service.health.render(ctx.run_id);
    live.report(Event::ServicePolling {
        step: ctx.step_id.to_string(),
        service: name.to_string(),
        batch,
        health: ctx.redactor.mask(&url).into_owned(),
    });
}

/// Runs the restart command; `Err` says why it failed, with the end of its output.
async fn restart(service: &Service, limit: Duration, ctx: &StepContext<'_>, live: &Live<'_>) -> Result<(), String> {
    let run = service.restart.render(ctx.run_id);
    let shown = one_line(&run);
    let mut group = match ProcessGroup::spawn(sh(&run).current_dir(live.workdir)) {
        Ok(group) => group.announce(ctx).spare_survivors(),
        Err(e) => return Err(format!("cannot start `{shown}`: {}", io_reason(&e))),
    };
    let mut excerpt = Excerpt::new();
    let waited = tokio::time::timeout(limit, group.run_into(&mut excerpt)).await;
    let tail = || {
        excerpt
            .render(ctx.redactor)
            .and_then(|o| {
                o.lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .map(|l| format!(": {}", l.trim()))
            })
            .unwrap_or_default()
    };
    match waited {
        Err(_) => Err(format!(
            "restart `{shown}` did not return within {} (health_timeout)",
            dur(limit)
        )),
        Ok(Err(e)) => Err(format!("restart `{shown}`: cannot wait for it: {}", io_reason(&e))),
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("restart `{shown}` {}{}", describe(status, 0), tail())),
    }
}

/// Polls the health URL until `consecutive_ok` 2xx answers in a row, within `health_timeout`.
async fn healthy(service: &Service, step: &RollingRestart, ctx: &StepContext<'_>) -> Result<String, String> {
    let url = service.health.render(ctx.run_id);
    let started = Instant::now();
    let deadline = started + step.health_timeout;
    let every = (step.health_timeout / 30).clamp(POLL_MIN, POLL_MAX);
    let (mut in_a_row, mut polls) = (0u32, 0u32);
    let mut last = String::from("no answer yet");
    loop {
        polls += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        let request = ctx
            .http
            .get(&url)
            .timeout(left.clamp(Duration::from_millis(1), REQUEST_MAX));
        match request.send().await {
            Ok(answer) if answer.status().is_success() => {
                in_a_row += 1;
                if in_a_row >= step.consecutive_ok {
                    return Ok(format!(
                        "healthy ({} in a row) {:.1}s after restart",
                        step.consecutive_ok,
                        started.elapsed().as_secs_f64()
                    ));
                }
            }
            Ok(answer) => {
                in_a_row = 0;
                last = format!("answered {}", answer.status().as_u16());
            }
            Err(e) => {
                in_a_row = 0;
                last = super::http::describe_error(&e, left.min(REQUEST_MAX));
            }
        }
        if Instant::now() + every >= deadline {
            return Err(format!(
                "not healthy within {} (health_timeout) after {polls} polls: GET {url}: {last}",
                dur(step.health_timeout)
            ));
        }
        tokio::time::sleep(every).await;
    }
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Mutex;
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::super::test_server::{Fixture, TestServer};
    use super::super::{Live, Progress, StepContext, StepOutcome};
    use crate::event::Event;
    use crate::runbook::interpolate::Template;
    use crate::runbook::model::{Batch, RollingRestart, Service};
    use crate::steps::kind::Kind;

    /// Acts as the engine: journals nothing, but notes in order what it heard, and whether
    /// `b` had been restarted (its restart command leaves a file) when a wait for the disk came.
    #[tokio::test]
    async fn a_batch_waits_for_its_verdicts_to_be_on_disk_before_the_next_batch() {
        let server = TestServer::start().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let service = |name: &str| Service {
            health: Template::literal(server.url("/health")),
            restart: Template::literal(format!("touch {name}")),
        };
        let services = BTreeMap::from([("a".to_string(), service("a")), ("b".to_string(), service("b"))]);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (done, outputs, starts) = (BTreeSet::new(), BTreeMap::new(), Mutex::new(BTreeMap::new()));
        let live = Live {
            services: &services,
            workdir: dir.path(),
            progress: &tx,
            services_done: &done,
            outputs: &outputs,
            baseline: None,
            starts: &starts,
        };
        let fixture = Fixture::new();
        let ctx = StepContext {
            live: Some(&live),
            ..fixture.ctx(Duration::from_secs(20))
        };
        let step = RollingRestart {
            services: vec!["a".into(), "b".into()],
            batch: Batch::Count(1),
            max_failed: 0,
            health_timeout: Duration::from_secs(10),
            consecutive_ok: 1,
        };
        let run = step.execute(&ctx);
        tokio::pin!(run);
        let mut heard = Vec::new();
        let outcome = loop {
            tokio::select! {
                biased;
                Some(progress) = rx.recv() => match progress {
                    Progress::Event(Event::ServiceRestarted { service, .. }) => heard.push(format!("{service} restarted")),
                    Progress::Event(_) => {}
                    Progress::Synced(answer) => {
                        heard.push(format!("synced; b touched: {}", dir.path().join("b").exists()));
                        let _ = answer.send(());
                    }
                },
                outcome = &mut run => break outcome,
            }
        };
        assert!(matches!(outcome, StepOutcome::Done { .. }), "{outcome:?}");
        assert_eq!(
            heard,
            [
                "a restarted",
                "synced; b touched: false",
                "b restarted",
                "synced; b touched: true"
            ]
        );
    }
}
