//! Issue 14's runbook-side hardening, as an operator meets it: a value cannot become shell
//! code, secrets in a step's own `env:` stay masked, a monitor that cannot fail is refused,
//! and the loader's limits and type rules speak in words instead of panicking or guessing.

use crate::harness::Workspace;

/// `deploy ${vars.x}` pasted into shell text, and the same value passed through `env`.
const PASTED: &str = r#"deployctl: 1
name: inject
vars:
  x: "v1.2.3"
phases:
  - id: p
    steps:
      - id: deploy
        shell: "echo deploying ${vars.x}"
        undo: { shell: "true" }
"#;

const THROUGH_ENV: &str = r#"deployctl: 1
name: inject
vars:
  x: "v1.2.3"
phases:
  - id: p
    steps:
      - id: deploy
        shell: { run: 'echo "deploying $RELEASE" > deployed.txt', env: { RELEASE: "${vars.x}" } }
        undo: { shell: "true" }
"#;

const PAYLOAD: &str = "x=';touch PWNED;'";

#[test]
fn a_var_cannot_inject_a_command_into_a_shell_step() {
    let ws = Workspace::new(PASTED);
    let run = ws.deployctl().args(["run", "r.yaml", "--var", PAYLOAD]).run();
    assert!(!ws.file("PWNED").exists(), "the injected command ran:\n{}", run.stderr);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("r.yaml:9:16: `${vars.x}` puts `'` into the shell command of step `deploy`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("env: { RELEASE:"),
        "the hint shows the safe form:\n{}",
        run.stderr
    );
    assert!(!ws.journal_path("inject").exists(), "nothing was journaled");
}

#[test]
fn a_pasted_reference_warns_and_strict_refuses_it() {
    let ws = Workspace::new(PASTED);
    let lenient = ws.deployctl().args(["validate", "r.yaml"]).run();
    assert_eq!(lenient.code, 0, "{}", lenient.stderr);
    assert!(
        lenient
            .stderr
            .contains("r.yaml:9:16: warning: `${vars.x}` is pasted into the shell command of step `deploy`"),
        "{}",
        lenient.stderr
    );
    let strict = ws.deployctl().args(["validate", "--strict", "r.yaml"]).run();
    assert_eq!(strict.code, 2, "{}", strict.stderr);
}

#[test]
fn the_environment_is_the_safe_way_and_carries_any_value() {
    let ws = Workspace::new(THROUGH_ENV);
    let strict = ws.deployctl().args(["validate", "--strict", "r.yaml"]).run();
    assert_eq!(strict.code, 0, "{}", strict.stderr);
    let run = ws.deployctl().args(["run", "r.yaml", "--var", PAYLOAD]).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!ws.file("PWNED").exists(), "the value ran as code");
    let deployed = std::fs::read_to_string(ws.file("deployed.txt")).expect("the step wrote its file");
    assert_eq!(deployed, "deploying ';touch PWNED;'\n");
}

#[test]
fn service_restart_and_rollback_commands_are_checked_too() {
    let ws = Workspace::new(
        r#"deployctl: 1
name: inject
vars:
  svc: "web"
services:
  web: { health: "http://127.0.0.1:9/health", restart: "systemctl restart ${vars.svc}" }
phases:
  - id: p
    steps:
      - { id: restart, rolling_restart: { services: [web] } }
rollback:
  steps:
    - { id: back, shell: "scripts/deploy ${vars.svc}" }
"#,
    );
    let out = ws.deployctl().args(["validate", "r.yaml", "--var", "svc=a b"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("`${vars.svc}` puts ` ` into the `restart` command of service `web`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("`${vars.svc}` puts ` ` into the shell command of step `back`"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_secret_named_env_entry_of_a_step_is_masked_in_output_and_journal() {
    const TOKEN: &str = "tok-literal-8c1f2";
    let ws = Workspace::new(&format!(
        r#"deployctl: 1
name: envsecret
phases:
  - id: p
    steps:
      - id: call
        shell: {{ run: 'echo "calling with $API_TOKEN"', env: {{ API_TOKEN: "{TOKEN}" }} }}
        undo: {{ shell: {{ run: 'echo "undo with $DB_PASSWORD"', env: {{ DB_PASSWORD: "pw-undo-77a1" }} }} }}
"#
    ));
    for args in [vec!["run", "r.yaml", "--dry-run", "--offline"], vec!["run", "r.yaml"]] {
        let out = ws.deployctl().args(&args).run();
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(
            !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
            "{args:?} leaks:\n{}{}",
            out.stdout,
            out.stderr
        );
    }
    let journal = std::fs::read_to_string(ws.journal_path("envsecret")).expect("journal");
    assert!(!journal.contains(TOKEN), "the journal leaks the token:\n{journal}");
    assert!(journal.contains("calling with ***"), "{journal}");
    let rollback = ws.deployctl().args(["rollback", "r.yaml"]).run();
    let journal = std::fs::read_to_string(ws.journal_path("envsecret")).expect("journal");
    assert!(!journal.contains("pw-undo-77a1"), "the undo's secret leaks:\n{journal}");
    assert!(journal.contains("undo with ***"), "{}\n{journal}", rollback.stderr);
}

#[test]
fn a_monitor_that_can_never_fail_or_never_trip_is_refused() {
    let ws = Workspace::new(
        r#"deployctl: 1
name: watch
phases:
  - id: p
    steps:
      - id: blind
        monitor: { duration: 1s, interval: 200ms, probes: [ { http: "http://127.0.0.1:9/" } ] }
      - id: long
        monitor:
          duration: 1m
          interval: 10s
          probes: [ { http: "http://127.0.0.1:9/" } ]
          rollback_when:
            - { metric: error_rate, above: 0.05, for: 2m }
            - { metric: p99_ms, above: 100, consecutive: 7 }
"#,
    );
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(
        out.code, 2,
        "a monitor with no rule passed with every probe failing:\n{}",
        out.stderr
    );
    for expected in [
        "r.yaml:7:18: monitor has no `rollback_when` rules",
        "r.yaml:14:55: rule span `2m` is longer than the monitor's duration (1m)",
        "r.yaml:15:58: `consecutive: 7` needs 7 windows, but the monitor has 6 (1m every 10s)",
    ] {
        assert!(out.stderr.contains(expected), "missing `{expected}`:\n{}", out.stderr);
    }
}

#[test]
fn sixty_thousand_steps_name_the_limit_in_words() {
    let mut text = String::from("deployctl: 1\nname: big\nphases:\n  - id: p\n    steps:\n");
    for i in 0..60_000 {
        text.push_str(&format!("      - {{ id: s{i}, shell: \"true\" }}\n"));
    }
    let ws = Workspace::new(&text);
    let out = ws.deployctl().args(["validate", "r.yaml"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("the runbook has more than 250,000 YAML values"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("budget breached"), "{}", out.stderr);
}

#[test]
fn a_huge_poll_interval_is_refused_instead_of_panicking() {
    let ws = Workspace::new(
        r#"deployctl: 1
name: forever
phases:
  - id: p
    steps:
      - { id: a, timeout: 1s, wait: { until: { http: "http://127.0.0.1:9/" }, every: 5124095576030431h } }
"#,
    );
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("duration `5124095576030431h` is longer than the limit of 366 days"),
        "{}",
        out.stderr
    );
}
