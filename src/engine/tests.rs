//! Table tests of the decision function: (journal so far, time, invocation) → action.
//!
//! Each case is a journal written as a few events of one run against one runbook, and the
//! action expected next, described in a word and the step it concerns.

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::action::{Action, Invocation, Moment};
use super::approval::{Approver, judge};
use super::decide::next_action;
use super::feasibility::History;
use super::plan::{Plan, ProbeMode};
use crate::event::*;
use crate::journal::{RunState, latest_run};
use crate::runbook::{LoadOptions, Loaded, load_bytes};

const RUNBOOK: &str = r#"
deployctl: 1
name: t
window:
  timezone: UTC
  allow: [{ days: [tue], start: "02:00", end: "06:00" }]
  overrun: OVERRUN
phases:
  - id: p
    steps:
      - { id: pm, approval: { role: "@pm", ttl: 1h } }
      - { id: check, http: { url: "http://127.0.0.1:9/health" }, verify: { http: { url: "http://127.0.0.1:9/health" } } }
      - { id: deploy, shell: "true", timeout: 10m, undo: { shell: "true" } }
      - { id: soft, shell: "true", on_failure: continue }
      - { id: hard, shell: "true", on_failure: rollback }
      - { id: watch, monitor: { duration: 2h, interval: 10s, probes: [{ http: "http://127.0.0.1:9/" }], rollback_when: [{ metric: error_rate, above: 0.05, consecutive: 2 }] } }
rollback:
  steps:
    - { id: restore, shell: "true" }
    - { id: tidy, shell: "true", on_failure: continue }
"#;

fn loaded(overrun: &str) -> Loaded {
    let text = RUNBOOK.replace("OVERRUN", overrun);
    load_bytes(Path::new("r.yaml"), text.as_bytes(), &LoadOptions::default()).expect("the test runbook loads")
}

/// Tuesday 2026-03-03 at `hh:mm` UTC (inside the window from 02:00 to 06:00).
fn tue(hh: u32, mm: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 3, hh, mm, 0)
        .single()
        .expect("a valid time")
}

/// A journal of one run: `run_started` at 02:00 by `gage`, then `events` a minute apart.
fn journal(plan: &Plan<'_>, events: Vec<Event>) -> RunState {
    let started = Event::RunStarted {
        format: JOURNAL_FORMAT,
        runbook: "t".into(),
        title: "t".into(),
        runbook_sha256: plan.sha256.clone(),
        vars_sha256: plan.inputs_digest(),
        operator: "gage".into(),
        host: "vm".into(),
        pid: 1,
        plan: plan.journaled(),
        window: None,
        inputs: Some(plan.inputs()),
        contacts: Vec::new(),
        runbook_file: None,
    };
    let entries = std::iter::once(started)
        .chain(events)
        .enumerate()
        .map(|(i, event)| Entry {
            at: tue(2, 0) + Duration::minutes(i as i64),
            run_id: "r".into(),
            event,
        })
        .collect();
    latest_run(entries).expect("a run")
}

fn started(step: &str) -> Event {
    Event::StepStarted {
        step: step.into(),
        attempt: 1,
    }
}

fn finished(step: &str, status: StepStatus, escalation: Option<Escalation>) -> Event {
    Event::StepFinished {
        step: step.into(),
        status,
        attempts: 1,
        duration_ms: 5,
        reason: Some(format!("{step} said so")),
        output: None,
        undo: None,
        escalation,
    }
}

fn done(step: &str) -> [Event; 2] {
    [started(step), finished(step, StepStatus::Done, None)]
}

fn approval(step: &str, kind: ApprovalKind, by: &str, sha: &str) -> Event {
    Event::Approval {
        step: step.into(),
        kind,
        by: by.into(),
        role: (kind == ApprovalKind::Gate).then(|| "@pm".to_string()),
        note: None,
        host: "vm".into(),
        runbook_sha256: sha.into(),
        signature: None,
    }
}

fn resumed() -> Event {
    Event::RunResumed {
        operator: "gage".into(),
        host: "vm".into(),
        pid: 2,
        runbook_sha256: String::new(),
        vars_sha256: None,
        inputs: None,
        plan: None,
    }
}

/// The action in a few words: what, and the step or the reason's telling part.
fn said(action: &Action<'_, '_>) -> String {
    match action {
        Action::Verify(s) => format!("verify {}", s.id),
        Action::Announce => "announce".into(),
        Action::OverrideWindow { .. } => "override window".into(),
        Action::EnterWindow => "enter window".into(),
        Action::WaitForWindow { reason, .. } => format!("wait for window: {reason}"),
        Action::Overrun { roll_back, .. } => format!("overrun, roll back: {roll_back}"),
        Action::PassGate { step, reason } => format!("pass {}: {reason}", step.id),
        Action::AwaitGate { step, reason, .. } => format!("await {}: {reason}", step.id),
        Action::Pause { step, reason, .. } => format!("pause {}: {reason}", step.id),
        Action::Attempt(s) => format!("attempt {}", s.id),
        Action::StartRollback { cause, reason } => format!("roll back ({cause:?}): {reason}"),
        Action::Stop(outcome) => format!("stop: {outcome:?}"),
        Action::Finish => "finish".into(),
        Action::FinishRollback { .. } => "finish rollback".into(),
    }
}

/// What the decision function answers at `now`, past the start-of-invocation checks
/// unless `invocation` says otherwise.
fn decide(plan: &Plan<'_>, run: &RunState, now: DateTime<Utc>, ignore_window: bool, invocation: Invocation) -> String {
    let history = History::default();
    let moment = Moment {
        now,
        operator: "gage",
        ignore_window,
        file: Path::new("r.yaml"),
        history: &history,
        invocation,
        watching: &[],
    };
    said(&next_action(plan, run, &moment))
}

const GOING: Invocation = Invocation {
    announced: true,
    window_checked: true,
    overrun_applied: false,
    settled: 0,
};

#[test]
fn gates_pass_on_a_valid_approval_and_wait_otherwise() {
    let loaded = loaded("finish");
    let plan = Plan::new(&loaded, ProbeMode::Offline);
    let sha = plan.sha256.clone();
    let cases: Vec<(&str, Vec<Event>, DateTime<Utc>, &str)> = vec![
        (
            "no approval yet",
            vec![],
            tue(2, 30),
            "await pm: step `pm` awaits approval by role @pm",
        ),
        (
            "approved for this runbook",
            vec![approval("pm", ApprovalKind::Gate, "Morgan", &sha)],
            tue(2, 30),
            "pass pm: approved by Morgan as @pm",
        ),
        (
            "approved for another runbook digest",
            vec![approval("pm", ApprovalKind::Gate, "Morgan", "other")],
            tue(2, 30),
            "await pm: step `pm` awaits approval by role @pm",
        ),
        (
            "approved longer ago than its ttl",
            vec![approval("pm", ApprovalKind::Gate, "Morgan", &sha)],
            tue(3, 2),
            "await pm: step `pm` awaits approval by role @pm (the approval by Morgan at 2026-03-03 02:01 UTC expired: ttl 1h)",
        ),
        (
            "a retry approval does not pass a gate",
            vec![approval("pm", ApprovalKind::Retry, "Morgan", &sha)],
            tue(2, 30),
            "await pm: step `pm` awaits approval by role @pm",
        ),
    ];
    for (name, events, now, expected) in cases {
        let run = journal(&plan, events);
        assert_eq!(decide(&plan, &run, now, false, GOING), expected, "{name}");
    }
}

#[test]
fn resume_reruns_idempotent_steps_and_asks_before_others() {
    let loaded = loaded("finish");
    let plan = Plan::new(&loaded, ProbeMode::Offline);
    let sha = plan.sha256.clone();
    let mut gate = vec![approval("pm", ApprovalKind::Gate, "Morgan", &sha)];
    gate.extend(done("pm"));
    let with = |more: Vec<Event>| gate.iter().cloned().chain(more).collect::<Vec<_>>();
    let checked = done("check").to_vec();
    let verified = || Event::Verified {
        step: "check".into(),
        ok: true,
        reason: None,
    };
    let cases: Vec<(&str, Vec<Event>, &str)> = vec![
        (
            "an idempotent check cut off runs again",
            with(vec![started("check"), resumed()]),
            "verify-or-attempt check",
        ),
        (
            "a shell step cut off waits for an approved retry",
            with([checked.clone(), vec![started("deploy"), resumed(), verified()]].concat()),
            "pause deploy: step `deploy` was interrupted while running (attempt 1, started 2026-03-03 02:06:00 UTC) and is not idempotent: it may have done part of its work",
        ),
        (
            "an approved retry lets it run once",
            with(
                [
                    checked.clone(),
                    vec![
                        started("deploy"),
                        resumed(),
                        verified(),
                        approval("deploy", ApprovalKind::Retry, "Dara", &sha),
                    ],
                ]
                .concat(),
            ),
            "attempt deploy",
        ),
        (
            "the approval covered one try: cut off again, it asks again",
            with(
                [
                    checked.clone(),
                    vec![
                        started("deploy"),
                        approval("deploy", ApprovalKind::Retry, "Dara", &sha),
                        started("deploy"),
                        resumed(),
                        verified(),
                    ],
                ]
                .concat(),
            ),
            "pause deploy",
        ),
        (
            "a step that failed in an earlier invocation is tried again",
            with(
                [
                    checked.clone(),
                    vec![
                        started("deploy"),
                        finished("deploy", StepStatus::Failed, None),
                        resumed(),
                        verified(),
                    ],
                ]
                .concat(),
            ),
            "attempt deploy",
        ),
    ];
    for (name, events, expected) in cases {
        let run = journal(&plan, events);
        let got = decide(&plan, &run, tue(2, 30), false, GOING);
        let expected = expected.replace("verify-or-attempt", "attempt");
        assert!(got.starts_with(&expected), "{name}: got {got:?}, expected {expected:?}");
    }
}

#[test]
fn resume_reverifies_completed_steps_once_and_stops_when_one_no_longer_holds() {
    let loaded = loaded("finish");
    let plan = Plan::new(&loaded, ProbeMode::Offline);
    let sha = plan.sha256.clone();
    let mut events = vec![approval("pm", ApprovalKind::Gate, "Morgan", &sha)];
    events.extend(done("pm"));
    events.extend(done("check"));
    // The first invocation verifies nothing: nothing was completed before it.
    let run = journal(&plan, events.clone());
    assert_eq!(decide(&plan, &run, tue(2, 30), false, GOING), "attempt deploy");
    events.push(resumed());
    let run = journal(&plan, events.clone());
    let fresh = Invocation::default();
    assert_eq!(decide(&plan, &run, tue(2, 30), false, fresh), "verify check");
    let verified = |ok: bool| Event::Verified {
        step: "check".into(),
        ok,
        reason: (!ok).then(|| "answered 503".to_string()),
    };
    let run = journal(&plan, [events.clone(), vec![verified(true)]].concat());
    assert_eq!(decide(&plan, &run, tue(2, 30), false, fresh), "announce");
    let run = journal(&plan, [events.clone(), vec![verified(false)]].concat());
    let got = decide(&plan, &run, tue(2, 30), false, fresh);
    assert!(got.contains("verify check no longer holds: answered 503"), "{got}");
    // A later invocation verifies again.
    let run = journal(&plan, [events, vec![verified(true), resumed()]].concat());
    assert_eq!(decide(&plan, &run, tue(2, 30), false, fresh), "verify check");
}

#[test]
fn failures_follow_on_failure_and_what_the_step_asked() {
    let loaded = loaded("finish");
    let plan = Plan::new(&loaded, ProbeMode::Offline);
    let sha = plan.sha256.clone();
    let mut before = vec![approval("pm", ApprovalKind::Gate, "Morgan", &sha)];
    for id in ["pm", "check"] {
        before.extend(done(id));
    }
    let cases: Vec<(&str, Vec<Event>, &str)> = vec![
        (
            "on_failure: stop (the default) stops with exit 1",
            vec![started("deploy"), finished("deploy", StepStatus::Failed, None)],
            "stop: Failed { step: \"deploy\", reason: \"deploy said so\" }",
        ),
        (
            "on_failure: continue goes on",
            [
                done("deploy").to_vec(),
                vec![started("soft"), finished("soft", StepStatus::Failed, None)],
            ]
            .concat(),
            "attempt hard",
        ),
        (
            "on_failure: rollback rolls back",
            [
                done("deploy").to_vec(),
                done("soft").to_vec(),
                vec![started("hard"), finished("hard", StepStatus::Failed, None)],
            ]
            .concat(),
            "roll back (StepFailed): step `hard` failed (on_failure: rollback): hard said so",
        ),
        (
            "a monitor whose rule held rolls back",
            [
                done("deploy").to_vec(),
                done("soft").to_vec(),
                done("hard").to_vec(),
                vec![
                    started("watch"),
                    finished("watch", StepStatus::Failed, Some(Escalation::Rollback)),
                ],
            ]
            .concat(),
            "roll back (Trigger): monitor `watch`: watch said so",
        ),
        (
            "a monitor without data under on_no_data: pause waits for the operator",
            [
                done("deploy").to_vec(),
                done("soft").to_vec(),
                done("hard").to_vec(),
                vec![
                    started("watch"),
                    finished("watch", StepStatus::Failed, Some(Escalation::Pause)),
                ],
            ]
            .concat(),
            "pause watch: watch said so",
        ),
        (
            "every step done finishes",
            [
                done("deploy").to_vec(),
                done("soft").to_vec(),
                done("hard").to_vec(),
                done("watch").to_vec(),
            ]
            .concat(),
            "finish",
        ),
    ];
    for (name, events, expected) in cases {
        let run = journal(&plan, [before.clone(), events].concat());
        assert_eq!(decide(&plan, &run, tue(2, 30), false, GOING), expected, "{name}");
    }
}

#[test]
fn the_window_is_checked_at_the_start_and_overrun_applies_once() {
    let loaded_finish = loaded("finish");
    let plan = Plan::new(&loaded_finish, ProbeMode::Offline);
    let sha = plan.sha256.clone();
    let mut gate = vec![approval("pm", ApprovalKind::Gate, "Morgan", &sha)];
    gate.extend(done("pm"));
    gate.extend(done("check"));
    let run = journal(&plan, gate.clone());
    let start = Invocation {
        announced: true,
        ..Invocation::default()
    };
    // Monday noon: closed.
    let monday = tue(12, 0) - Duration::days(1);
    let got = decide(&plan, &run, monday, false, start);
    assert!(
        got.starts_with("wait for window: outside the deployment window"),
        "{got}"
    );
    assert!(got.ends_with("it opens next at 2026-03-03 02:00 UTC"), "{got}");
    // Inside, with time enough for deploy (10m), soft and hard (5m each): enter.
    assert_eq!(decide(&plan, &run, tue(3, 0), false, start), "enter window");
    // Inside, but 21 minutes of changes do not fit in the 15 left.
    let got = decide(&plan, &run, tue(5, 45), false, start);
    assert!(
        got.starts_with("wait for window: not enough window left: the 3 changing step(s)"),
        "{got}"
    );
    // --ignore-window: journaled once per operator.
    assert_eq!(decide(&plan, &run, monday, true, start), "override window");
    let overridden = Event::WindowOverride {
        by: "gage".into(),
        reason: "closed".into(),
    };
    let run_overridden = journal(&plan, [gate.clone(), vec![overridden]].concat());
    assert_eq!(decide(&plan, &run_overridden, monday, true, start), "enter window");
    // Closed mid-run before a changing step: overrun, once per invocation.
    assert_eq!(
        decide(&plan, &run, tue(7, 0), false, GOING),
        "overrun, roll back: false"
    );
    let applied = Invocation {
        overrun_applied: true,
        ..GOING
    };
    assert_eq!(decide(&plan, &run, tue(7, 0), false, applied), "attempt deploy");
    let loaded_rollback = loaded("rollback");
    let plan_rb = Plan::new(&loaded_rollback, ProbeMode::Offline);
    let run_rb = journal(&plan_rb, gate.clone());
    assert_eq!(
        decide(&plan_rb, &run_rb, tue(7, 0), false, GOING),
        "overrun, roll back: true"
    );
    let loaded_pause = loaded("pause");
    let plan_p = Plan::new(&loaded_pause, ProbeMode::Offline);
    let run_p = journal(&plan_p, gate);
    let got = decide(&plan_p, &run_p, tue(7, 0), false, GOING);
    assert!(
        got.starts_with("wait for window: the deployment window closed before `deploy`"),
        "{got}"
    );
    assert!(got.ends_with("overrun: pause"), "{got}");
    // The trailing monitor is observation: it may run past the window.
    let all_changes: Vec<Event> = ["deploy", "soft", "hard"].iter().flat_map(|id| done(id)).collect();
    let run_late = journal(&plan_p, [run_p_events(&plan_p), all_changes].concat());
    assert_eq!(decide(&plan_p, &run_late, tue(7, 0), false, GOING), "attempt watch");
}

fn run_p_events(plan: &Plan<'_>) -> Vec<Event> {
    let mut events = vec![approval("pm", ApprovalKind::Gate, "Morgan", &plan.sha256)];
    events.extend(done("pm"));
    events.extend(done("check"));
    events
}

#[test]
fn a_rollback_goes_on_where_it_stopped() {
    let loaded = loaded("finish");
    let plan = Plan::new(&loaded, ProbeMode::Offline);
    let mut events = run_p_events(&plan);
    events.extend(done("deploy"));
    let rollback_started = |steps: &[&str]| Event::RollbackStarted {
        cause: RollbackCause::Command,
        reason: "asked".into(),
        by: "gage".into(),
        steps: steps
            .iter()
            .map(|id| PlannedStep {
                id: id.to_string(),
                title: id.to_string(),
                kind: "shell".into(),
            })
            .collect(),
    };
    let steps = ["deploy.undo", "restore", "tidy"];
    let cases: Vec<(&str, Vec<Event>, &str)> = vec![
        ("the first undo", vec![rollback_started(&steps)], "attempt deploy.undo"),
        (
            "done steps are skipped",
            [vec![rollback_started(&steps)], done("deploy.undo").to_vec()].concat(),
            "attempt restore",
        ),
        (
            "a failed rollback step stops the rollback",
            [
                vec![rollback_started(&steps)],
                done("deploy.undo").to_vec(),
                vec![started("restore"), finished("restore", StepStatus::Failed, None)],
            ]
            .concat(),
            "stop: RollbackFailed { step: \"restore\", reason: \"restore said so\" }",
        ),
        (
            "`deployctl rollback` retries it in the next invocation",
            [
                vec![rollback_started(&steps)],
                done("deploy.undo").to_vec(),
                vec![
                    started("restore"),
                    finished("restore", StepStatus::Failed, None),
                    resumed(),
                ],
            ]
            .concat(),
            "attempt restore",
        ),
        (
            "on_failure: continue goes on to the end",
            [
                vec![rollback_started(&steps)],
                done("deploy.undo").to_vec(),
                done("restore").to_vec(),
                vec![started("tidy"), finished("tidy", StepStatus::Failed, None)],
            ]
            .concat(),
            "finish rollback",
        ),
        (
            "a step cut off during the rollback waits for an approved retry",
            [vec![rollback_started(&steps)], vec![started("deploy.undo"), resumed()]].concat(),
            "pause deploy.undo",
        ),
        (
            "a journaled step the runbook no longer has",
            vec![rollback_started(&["gone"])],
            "stop: RollbackFailed { step: \"gone\", reason: \"rollback step `gone` is journaled but no longer in the runbook; restore the runbook the run started with\" }",
        ),
    ];
    for (name, more, expected) in cases {
        let run = journal(&plan, [events.clone(), more].concat());
        let got = decide(&plan, &run, tue(2, 30), false, GOING);
        assert!(got.starts_with(expected), "{name}: got {got:?}, expected {expected:?}");
    }
}

#[test]
fn approve_applies_the_same_ttl_and_separation_of_duties() {
    let loaded = loaded("finish");
    let plan = Plan::new(&loaded, ProbeMode::Offline);
    let sha = plan.sha256.clone();
    let gate = plan.step("pm").expect("the gate").step();
    let who = |by: &'static str, now: DateTime<Utc>| Approver {
        by,
        sha256: &sha,
        allow_self_approval: false,
        approvals: &loaded.runbook.approvals,
        now,
    };
    let run = journal(&plan, vec![]);
    assert!(judge(gate, &run, &who("Morgan", tue(2, 30))).is_ok());
    let refused = judge(gate, &run, &who("gage", tue(2, 30))).expect_err("the operator");
    assert!(refused.contains("cannot approve its own gate"), "{refused}");
    let approved = journal(&plan, vec![approval("pm", ApprovalKind::Gate, "Morgan", &sha)]);
    let refused = judge(gate, &approved, &who("Dana", tue(2, 30))).expect_err("approved already");
    assert!(refused.contains("already approved by Morgan"), "{refused}");
    // Once the approval expired, a new one is accepted, as the run asks for one.
    assert!(judge(gate, &approved, &who("Dana", tue(3, 30))).is_ok());
    let deploy = plan.step("deploy").expect("a shell step").step();
    let refused = judge(deploy, &run, &who("Dana", tue(2, 30))).expect_err("nothing to retry");
    assert!(refused.contains("not waiting for anyone"), "{refused}");
}

/// The driver's `settled` hint only saves lookups: for every journal of the cases above,
/// deciding from the settled prefix gives the same action as deciding from the start.
#[test]
fn the_settled_hint_changes_no_decision() {
    let loaded = loaded("finish");
    let plan = Plan::new(&loaded, ProbeMode::Offline);
    let sha = plan.sha256.clone();
    let journals: Vec<Vec<Event>> = vec![
        vec![],
        vec![approval("pm", ApprovalKind::Gate, "Morgan", &sha)],
        [done("pm"), done("check")].concat(),
        [done("pm"), done("check"), done("deploy")].concat(),
        [done("pm"), done("check"), done("deploy"), [started("soft"), resumed()]].concat(),
        [
            done("pm"),
            done("check"),
            done("deploy"),
            [started("soft"), finished("soft", StepStatus::Failed, None)],
        ]
        .concat(),
    ];
    for events in journals {
        let run = journal(&plan, events);
        let settled = super::action::settled(&plan, &run, 0);
        let hinted = Invocation { settled, ..GOING };
        assert_eq!(
            decide(&plan, &run, tue(2, 30), false, hinted),
            decide(&plan, &run, tue(2, 30), false, GOING),
            "settled {settled}"
        );
        assert_eq!(super::action::settled(&plan, &run, settled), settled, "idempotent");
    }
}
