//! Crash consistency: a runbook of mixed steps (shell, http, sql, a rolling restart, an
//! `on_failure: rollback` with undo steps) is killed like a host crash at a random moment,
//! then resumed to the end, many times over with recorded seeds.
//!
//! A trial: start `deployctl run`, and at a random moment freeze it (SIGSTOP), SIGKILL the
//! process groups of everything it started, then SIGKILL it, so no orphan can write after
//! the resume. Then resume as an operator would: `deployctl run` again, `deployctl approve
//! STEP --by Dara` when the run pauses on an interrupted non-idempotent step, `deployctl
//! rollback` while the run is rolling back, until exit 0 (the plain variant) or 4 (the
//! variant whose last step fails and rolls back). A resumed invocation may itself be killed
//! (up to two more times), so rollbacks cut off by a crash are covered too.
//!
//! After each trial: the journal parses (a torn line only as the last line); every step
//! journaled `done` before a kill is never started again in that run; no non-idempotent
//! step ran more often than 1 + its retry approvals (side files and database rows count
//! the runs); the run finishes.
//!
//! 20 trials by default, `DEPLOYCTL_CRASH_TRIALS=100` for the long form,
//! `DEPLOYCTL_CRASH_SEED=S` re-runs one trial. Not covered: losing the page cache (a real
//! power cut); a killed process leaves what it wrote in the kernel's cache.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::db::TestDb;
use crate::harness::{Workspace, lines};
use crate::http_server::TestHttp;

/// xorshift64*: small, seedable, good enough to pick kill moments.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// splitmix64, to derive well-spread trial seeds from one base.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Variant {
    /// Every step passes: ends with exit 0.
    Forward,
    /// The last step fails with `on_failure: rollback`: ends with exit 4.
    RollsBack,
}

/// The shared targets: three services' health endpoints, one http check, one database.
struct Targets {
    services: Vec<TestHttp>,
    http: TestHttp,
    db: TestDb,
}

/// Side files counting runs of non-idempotent steps, keyed by the journaled step id.
const COUNTED: &[(&str, &str)] = &[
    ("prep", "prep.count"),
    ("migrate", "migrate.count"),
    ("migrate.undo", "migrate-undo.count"),
    ("restart.undo", "restart-undo.count"),
    ("restore", "restore.count"),
];

fn runbook(t: &Targets, table: &str, variant: Variant) -> String {
    let mut services = String::from("services:\n");
    for (i, s) in t.services.iter().enumerate() {
        services.push_str(&format!(
            "  svc{i}: {{ health: \"{}\", restart: \"echo svc{i} >> restarts.log; sleep 0.03\" }}\n",
            s.url("/health")
        ));
    }
    let last = match variant {
        Variant::Forward => "      - { id: smoke, shell: \"true\", idempotent: true }\n",
        Variant::RollsBack => {
            "      - { id: smoke, shell: \"test -f never-there\", idempotent: true, on_failure: rollback }\n"
        }
    };
    format!(
        r#"deployctl: 1
name: chaos
databases:
  app: {{ url: "{db}" }}
{services}phases:
  - id: pre
    steps:
      - {{ id: prep, shell: "echo x >> prep.count; sleep 0.05" }}
      - {{ id: health, http: {{ url: "{http}", expect: {{ status: 200 }} }} }}
      - id: db-write
        idempotent: false
        sql: {{ database: app, query: "insert into {table} (step) select 'db-write' from pg_sleep(0.05)" }}
      - {{ id: db-check, sql: {{ database: app, query: "select count(*) from {table}" }} }}
  - id: deploy
    steps:
      - id: migrate
        shell: "echo x >> migrate.count; sleep 0.1"
        undo: {{ shell: "echo x >> migrate-undo.count; sleep 0.05" }}
      - id: restart
        rolling_restart: {{ services: [svc0, svc1, svc2], batch: 1, health_timeout: 10s }}
        undo: {{ shell: "echo x >> restart-undo.count; sleep 0.05" }}
{last}rollback:
  steps:
    - {{ id: restore, shell: "echo x >> restore.count; sleep 0.05" }}
"#,
        db = t.db.url,
        http = t.http.url("/ready"),
    )
}

fn spawn(ws: &Workspace, args: &[&str], n: usize) -> Child {
    let out = std::fs::File::create(ws.file(&format!("inv{n}.out"))).expect("stdout file");
    let err = std::fs::File::create(ws.file(&format!("inv{n}.err"))).expect("stderr file");
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("deployctl"));
    for (key, _) in std::env::vars() {
        if key.starts_with("DEPLOYCTL_") || key.contains("DATABASE_URL") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args)
        .current_dir(ws.path())
        .env("DEPLOYCTL_OPERATOR", "gage")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // Its own process group, so killing it can never reach the test.
        .process_group(0);
    cmd.spawn().expect("spawn deployctl")
}

/// Parent pid and process group of a live process, from /proc.
fn stat(pid: i32) -> Option<(i32, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut rest = text.rsplit_once(") ")?.1.split_whitespace();
    let (_state, ppid, pgrp) = (rest.next()?, rest.next()?, rest.next()?);
    Some((ppid.parse().ok()?, pgrp.parse().ok()?))
}

/// Every descendant of `root` with its process group.
fn descendants(root: i32) -> Vec<(i32, i32)> {
    let all: Vec<(i32, i32, i32)> = std::fs::read_dir("/proc")
        .expect("/proc readable")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| stat(pid).map(|(ppid, pgrp)| (pid, ppid, pgrp)))
        .collect();
    let mut found = vec![];
    let mut parents = BTreeSet::from([root]);
    loop {
        let next: Vec<(i32, i32)> = all
            .iter()
            .filter(|(pid, ppid, _)| parents.contains(ppid) && !parents.contains(pid))
            .map(|&(pid, _, pgrp)| (pid, pgrp))
            .collect();
        if next.is_empty() {
            return found;
        }
        parents.extend(next.iter().map(|(pid, _)| *pid));
        found.extend(next);
    }
}

/// A host crash as far as one machine can fake it: deployctl stops at once, then everything
/// it started dies before it could notice, then deployctl dies.
fn crash(child: &mut Child) {
    let pid = child.id() as i32;
    let _ = kill(Pid::from_raw(pid), Signal::SIGSTOP);
    let own_group = nix::unistd::getpgrp().as_raw();
    let killed = descendants(pid);
    for &(descendant, group) in &killed {
        if group != own_group {
            let _ = kill(Pid::from_raw(-group), Signal::SIGKILL);
        }
        let _ = kill(Pid::from_raw(descendant), Signal::SIGKILL);
    }
    let _ = kill(Pid::from_raw(-pid), Signal::SIGKILL);
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    let _ = child.wait();
    // After a host crash nothing runs on: the resume must not find the steps' groups alive
    // (it would wait for them, issue 14 item 18).
    assert!(
        crate::harness::eventually(10, || killed.iter().all(|&(p, _)| !crate::harness::alive(p))),
        "the crashed run's processes ended"
    );
}

/// Lets the child run for `delay` (the experiment's random moment), then crashes it unless
/// it exited first. Returns its exit code, or None when it was killed.
fn run_until(mut child: Child, delay: Duration) -> Option<i32> {
    let deadline = Instant::now() + delay;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status.code().unwrap_or(-1));
        }
        if Instant::now() >= deadline {
            crash(&mut child);
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn wait(child: Child) -> i32 {
    child.wait_with_output().expect("wait").status.code().unwrap_or(-1)
}

/// The journal as JSON values; asserts it parses with the crate's reader, a torn line
/// allowed only last. Returns the entries and whether a torn line was dropped.
fn journal(ws: &Workspace) -> (Vec<serde_json::Value>, bool) {
    let path = ws.journal_path("chaos");
    let bytes = std::fs::read(&path).unwrap_or_default();
    let read = deployctl::journal::parse(&path, &bytes).unwrap_or_else(|e| panic!("the journal parses: {e}"));
    let values: Vec<serde_json::Value> = bytes
        .split_inclusive(|&b| b == b'\n')
        .take(read.entries.len())
        .map(|l| serde_json::from_slice(l).expect("a kept line is JSON"))
        .collect();
    (values, !read.warnings.is_empty())
}

fn event(e: &serde_json::Value) -> (&str, &str) {
    (
        e["event"]["type"].as_str().unwrap_or(""),
        e["event"]["step"].as_str().unwrap_or(""),
    )
}

/// Step ids journaled `done` in each run so far.
fn done_steps(entries: &[serde_json::Value]) -> BTreeSet<(String, String)> {
    entries
        .iter()
        .filter(|e| event(e).0 == "step_finished" && e["event"]["status"] == "done")
        .map(|e| (e["run_id"].as_str().unwrap_or("").to_string(), event(e).1.to_string()))
        .collect()
}

/// What the next invocation should be, from the journal.
fn rolling_back(entries: &[serde_json::Value]) -> bool {
    let Some(run) = entries
        .iter()
        .rev()
        .find(|e| event(e).0 == "run_started")
        .and_then(|e| e["run_id"].as_str())
    else {
        return false;
    };
    let mine = || entries.iter().filter(|e| e["run_id"] == run);
    mine().any(|e| event(e).0 == "rollback_started") && !mine().any(|e| event(e).0 == "run_finished")
}

/// The exit code journaled by `run_finished`, once the latest run has one.
fn finished(entries: &[serde_json::Value]) -> Option<i32> {
    entries
        .iter()
        .rev()
        .take_while(|e| event(e).0 != "run_started")
        .find(|e| event(e).0 == "run_finished")
        .and_then(|e| e["event"]["exit_code"].as_i64())
        .map(|c| c as i32)
}

/// One trial; returns a line describing it, or panics naming the seed.
fn trial(t: &Targets, seed: u64, index: usize, budget: Duration) -> String {
    let mut rng = Rng::new(seed);
    let variant = if rng.below(2) == 0 {
        Variant::Forward
    } else {
        Variant::RollsBack
    };
    let table = format!("ledger_{index}_{}", seed % 100_000);
    t.db.execute(&format!("create table {table} (step text)"));
    let ws = Workspace::new(&runbook(t, &table, variant));
    let fail = |what: String, ws: &Workspace| -> ! {
        let mut logs = String::new();
        for n in 0..20 {
            for ext in ["out", "err"] {
                if let Ok(text) = std::fs::read_to_string(ws.file(&format!("inv{n}.{ext}"))) {
                    logs.push_str(&format!("--- invocation {n} {ext}\n{text}"));
                }
            }
        }
        let journal = std::fs::read_to_string(ws.journal_path("chaos")).unwrap_or_default();
        panic!(
            "crash trial {index} (seed {seed}, {variant:?}) failed: {what}\n\
             re-run it alone: DEPLOYCTL_CRASH_SEED={seed} cargo test --test integration crash_random -- --nocapture\n\
             {logs}--- journal\n{journal}"
        )
    };

    let mut kills = 0;
    // Per kill: how many entries the journal held, and the steps done by then.
    let mut at_kills: Vec<(usize, BTreeSet<(String, String)>)> = vec![];
    let mut log = vec![];
    let mut last_code = None;
    for n in 0..20 {
        let (entries, _) = journal(&ws);
        // Killed after `run_finished` was on disk: the run is over (a new `run` would start
        // a new run, which is what an operator reading `status` would not do).
        if let Some(code) = finished(&entries) {
            log.push(format!("already finished with exit {code}"));
            last_code = Some(code);
            break;
        }
        let args: Vec<&str> = if n > 0 && rolling_back(&entries) {
            vec!["rollback", "r.yaml"]
        } else {
            vec!["run", "r.yaml"]
        };
        let child = spawn(&ws, &args, n);
        // The first invocation is always cut; a later one with odd 1/3, at most two more.
        let cut = n == 0 || (kills < 3 && rng.below(3) == 0);
        let code = if cut {
            let delay = Duration::from_micros(rng.below(budget.as_micros() as u64));
            run_until(child, delay)
        } else {
            Some(wait(child))
        };
        let Some(code) = code else {
            kills += 1;
            let (entries, torn) = journal(&ws);
            let phase = if rolling_back(&entries) { " mid-rollback" } else { "" };
            let torn = if torn { " (torn line)" } else { "" };
            log.push(format!("{} killed{phase} at entry {}{torn}", args[0], entries.len()));
            at_kills.push((entries.len(), done_steps(&entries)));
            continue;
        };
        log.push(format!("{} exit {code}", args[0]));
        match code {
            0 | 4 => {
                last_code = Some(code);
                break;
            }
            3 => {
                let (entries, _) = journal(&ws);
                let paused = entries
                    .iter()
                    .rev()
                    .find(|e| event(e).0 == "run_paused")
                    .map(|e| event(e).1.to_string())
                    .unwrap_or_else(|| fail("exit 3 without a run_paused entry".into(), &ws));
                let approve = spawn(&ws, &["approve", "r.yaml", &paused, "--by", "Dara"], n + 100);
                let code = wait(approve);
                if code != 0 {
                    fail(format!("approve {paused} exited {code}"), &ws);
                }
                log.push(format!("approved a retry of {paused}"));
            }
            other => fail(format!("`{}` exited {other}", args.join(" ")), &ws),
        }
    }
    let expected = match variant {
        Variant::Forward => 0,
        Variant::RollsBack => 4,
    };
    if last_code != Some(expected) {
        fail(format!("the run did not finish with exit {expected}: {log:?}"), &ws);
    }

    let (entries, torn) = journal(&ws);
    if torn {
        fail("a torn line is left after the run finished".into(), &ws);
    }
    // Done before a kill: never started again in that run.
    for (seen, done) in &at_kills {
        for (run, step) in done {
            let restarted = entries[(*seen).min(entries.len())..]
                .iter()
                .any(|e| e["run_id"] == run.as_str() && event(e) == ("step_started", step.as_str()));
            if restarted {
                fail(format!("step `{step}` was done before a kill and ran again"), &ws);
            }
        }
    }
    if entries.iter().filter(|e| event(e).0 == "run_started").count() != 1 {
        fail("resuming started a new run instead of resuming".into(), &ws);
    }
    // Runs of non-idempotent steps: at most one per start, and 1 + retry approvals.
    let mut retries: BTreeMap<&str, usize> = BTreeMap::new();
    let mut starts: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &entries {
        match event(e) {
            ("approval", step) if e["event"]["kind"] == "retry" => *retries.entry(step).or_default() += 1,
            ("step_started", step) => *starts.entry(step).or_default() += 1,
            _ => {}
        }
    }
    let mut counts: Vec<(String, usize)> = COUNTED
        .iter()
        .map(|(step, file)| (step.to_string(), lines(&ws, file).len()))
        .collect();
    let rows: usize =
        t.db.scalar(&format!("select count(*)::text from {table}"))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
    counts.push(("db-write".into(), rows));
    for (step, ran) in &counts {
        let allowed = 1 + retries.get(step.as_str()).copied().unwrap_or(0);
        if *ran > allowed || *ran > starts.get(step.as_str()).copied().unwrap_or(0) {
            fail(
                format!("`{step}` ran {ran} times with {} retry approvals", allowed - 1),
                &ws,
            );
        }
    }
    let restarts = lines(&ws, "restarts.log");
    for svc in ["svc0", "svc1", "svc2"] {
        let ran = restarts.iter().filter(|l| l.as_str() == svc).count();
        let allowed = 1 + retries.get("restart").copied().unwrap_or(0);
        if ran == 0 || ran > allowed {
            fail(
                format!("service {svc} restarted {ran} times, allowed 1..={allowed}"),
                &ws,
            );
        }
    }
    let must_run: &[&str] = match variant {
        Variant::Forward => &["prep", "migrate", "db-write"],
        Variant::RollsBack => &["prep", "migrate", "db-write", "migrate.undo", "restart.undo", "restore"],
    };
    for step in must_run {
        if counts.iter().any(|(s, ran)| s == step && *ran == 0) {
            fail(format!("`{step}` never ran"), &ws);
        }
    }
    format!(
        "trial {index} seed {seed} {variant:?}: {} kill(s), {}",
        kills,
        log.join(", ")
    )
}

fn trials() -> Vec<u64> {
    if let Some(seed) = std::env::var("DEPLOYCTL_CRASH_SEED").ok().and_then(|s| s.parse().ok()) {
        return vec![seed];
    }
    let n: u64 = std::env::var("DEPLOYCTL_CRASH_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    (0..n).map(|i| mix(base.wrapping_add(i))).collect()
}

/// How long an uncut run of each variant takes here: kill moments are drawn below it.
fn calibrate(t: &Targets) -> Duration {
    let mut longest = Duration::ZERO;
    for (i, variant) in [Variant::Forward, Variant::RollsBack].into_iter().enumerate() {
        let table = format!("ledger_calibrate_{i}");
        t.db.execute(&format!("create table {table} (step text)"));
        let ws = Workspace::new(&runbook(t, &table, variant));
        let start = Instant::now();
        let out = ws.deployctl().args(["run", "r.yaml"]).run();
        let expected = if variant == Variant::Forward { 0 } else { 4 };
        assert_eq!(
            out.code, expected,
            "an uncut {variant:?} run:\n{}\n{}",
            out.stdout, out.stderr
        );
        longest = longest.max(start.elapsed());
    }
    longest
}

#[test]
fn crash_random_kill_9_and_resume_keeps_the_journal_and_runs_each_step_once() {
    let targets = Targets {
        services: (0..3).map(|_| TestHttp::start()).collect(),
        http: TestHttp::start(),
        db: TestDb::create(),
    };
    let budget = calibrate(&targets);
    let seeds = trials();
    println!(
        "crash trials: {} (uncut run: {} ms); re-run one with DEPLOYCTL_CRASH_SEED=<seed>",
        seeds.len(),
        budget.as_millis()
    );
    let started = Instant::now();
    let mut lines = vec![];
    for (i, seed) in seeds.iter().enumerate() {
        println!("trial {i} seed {seed}");
        let line = trial(&targets, *seed, i, budget);
        println!("{line}");
        lines.push(line);
    }
    let count = |what: &str| lines.iter().map(|l| l.matches(what).count()).sum::<usize>();
    println!(
        "crash trials passed: {} in {:.1} s: {} kills ({} mid-rollback, {} leaving a torn line), {} retry approvals, {} rolled back",
        seeds.len(),
        started.elapsed().as_secs_f64(),
        count(" killed"),
        count("mid-rollback"),
        count("(torn line)"),
        count("approved a retry"),
        count("RollsBack"),
    );
}
