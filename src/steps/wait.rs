//! `wait`: sleeps a fixed time, or polls a check until it passes.
//!
//! Theory of operation: the engine enforces the step's timeout by dropping the future, which
//! would lose the reason the check kept failing. So `until` stops itself a little before the
//! timeout (by `min(every, 10% of the timeout)`) and reports the last failure, and each poll
//! gets only the time left before that deadline, so one slow request cannot overrun it.

use std::time::Duration;

use tokio::time::Instant;

use super::http::{check, describe_check};
use super::kind::Kind;
use super::{StepContext, StepOutcome};
use crate::runbook::Runbook;
use crate::runbook::duration;
use crate::runbook::model::{Check, Wait};

/// The shortest interval between polls, whatever the runbook says.
const MIN_EVERY: Duration = Duration::from_millis(10);

impl Kind for Wait {
    fn describe(&self, _runbook: &Runbook) -> String {
        match self {
            Wait::For(d) => format!("sleep {}", duration::format(*d)),
            Wait::Until { check, every } => {
                format!("until {} (every {})", describe_check(check), duration::format(*every))
            }
        }
    }

    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        match self {
            Wait::For(d) => {
                tokio::time::sleep(*d).await;
                StepOutcome::Done {
                    detail: Some(format!("waited {}", duration::format(*d))),
                    output: None,
                }
            }
            Wait::Until { check, every } => poll(check, *every, ctx).await,
        }
    }
}

async fn poll(condition: &Check, every: Duration, ctx: &StepContext<'_>) -> StepOutcome {
    let every = every.max(MIN_EVERY);
    let started = Instant::now();
    let margin = every.min(ctx.timeout / 10);
    let deadline = started + ctx.timeout.saturating_sub(margin);
    // A check that overruns its own timeout (it should not) is cut between our deadline
    // and the engine's.
    let cutoff = deadline + margin / 2;
    let mut polls = 0u32;
    loop {
        polls += 1;
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let poll_ctx = StepContext {
            timeout: left.min(ctx.timeout),
            ..*ctx
        };
        let (reason, output) = match tokio::time::timeout_at(cutoff, check(condition, &poll_ctx)).await {
            Ok(StepOutcome::Done { output, .. }) => {
                let secs = started.elapsed().as_secs_f64();
                return StepOutcome::Done {
                    detail: Some(format!("passed after {} in {secs:.1}s", plural(polls))),
                    output,
                };
            }
            Ok(StepOutcome::Failed { reason, output, .. }) => (reason, output),
            Err(_) => (format!("no answer within {}", duration::format(left)), None),
        };
        if Instant::now() + every >= deadline {
            return StepOutcome::failed_with_output(format!("still failing after {}: {reason}", plural(polls)), output);
        }
        tokio::time::sleep(every).await;
    }
}

fn plural(polls: u32) -> String {
    match polls {
        1 => "1 poll".into(),
        n => format!("{n} polls"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::runbook::model::{HttpCheck, HttpMethod, Template};
    use crate::steps::test_server::{Fixture, TestServer};

    fn until(url: &str, every: Duration) -> Wait {
        Wait::Until {
            check: Check::Http(HttpCheck {
                url: Template::literal(url),
                method: HttpMethod::Get,
                headers: BTreeMap::new(),
                body: None,
                expect_status: Some(200),
                body_contains: None,
                json: BTreeMap::new(),
                max_ms: None,
            }),
            every,
        }
    }

    #[tokio::test]
    async fn for_sleeps() {
        let started = std::time::Instant::now();
        let outcome = Fixture::new().run(&Wait::For(Duration::from_millis(50))).await;
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(
            outcome,
            StepOutcome::Done {
                detail: Some("waited 50ms".into()),
                output: None
            }
        );
    }

    #[tokio::test]
    async fn until_passes_after_the_server_flips() {
        let server = TestServer::start().await;
        server.reply(503, "starting");
        let step = until(&server.url("/health"), Duration::from_millis(20));
        let fixture = Fixture::new();
        let ctx = fixture.ctx(Duration::from_secs(10));
        // Polled with a deadline: a step that stopped polling early must fail the test, not hang it.
        let flip = async {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while server.requests().len() < 3 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            server.reply(200, "ok");
        };
        let (outcome, ()) = tokio::join!(step.execute(&ctx), flip);
        let StepOutcome::Done {
            detail: Some(detail), ..
        } = &outcome
        else {
            panic!("{outcome:?}")
        };
        assert!(
            detail.starts_with("passed after ") && detail.contains(" polls in "),
            "{detail}"
        );
        assert!(server.requests().len() >= 4);
    }

    #[tokio::test]
    async fn until_gives_up_before_the_timeout_with_the_last_reason() {
        let server = TestServer::start().await;
        server.reply(503, "nope");
        let step = until(&server.url("/health"), Duration::from_millis(50));
        let fixture = Fixture::new();
        let timeout = Duration::from_millis(500);
        // The step must stop itself at its deadline with its own reason; the outer timeout is
        // only a safety net, with slack so a loaded machine cannot make the test flaky.
        let result = tokio::time::timeout(timeout + Duration::from_secs(5), step.execute(&fixture.ctx(timeout))).await;
        let Ok(StepOutcome::Failed { reason, .. }) = result else {
            panic!("{result:?}")
        };
        assert!(reason.starts_with("still failing after "), "{reason}");
        assert!(
            reason.ends_with(&format!("GET {}: answered 503, expected 200", server.url("/health"))),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn a_hanging_poll_is_cut_at_the_deadline() {
        let server = TestServer::start().await;
        server.reply(200, "late");
        server.delay(Duration::from_secs(5));
        let step = until(&server.url("/health"), Duration::from_secs(1));
        let fixture = Fixture::new();
        let timeout = Duration::from_millis(400);
        // The step must stop itself at its deadline with its own reason; the outer timeout is
        // only a safety net, with slack so a loaded machine cannot make the test flaky.
        let result = tokio::time::timeout(timeout + Duration::from_secs(5), step.execute(&fixture.ctx(timeout))).await;
        let Ok(StepOutcome::Failed { reason, .. }) = result else {
            panic!("{result:?}")
        };
        assert!(reason.starts_with("still failing after 1 poll: GET "), "{reason}");
        assert!(reason.contains("timed out after"), "{reason}");
    }
}
